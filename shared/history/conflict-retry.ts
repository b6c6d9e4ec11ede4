import { TransientError } from '../core';

/**
 * After a write lost to another writer (the `conflicts`-th time for this operation): gives up with a
 * TransientError (the caller's runtime retries later) once `maxConflicts` is reached, or else waits a
 * jittered, growing backoff, so two writers that collided do not collide again in lockstep.
 */
export async function backOffAfterConflict(
  conflicts: number,
  maxConflicts: number,
  giveUp: () => string,
): Promise<void> {
  if (conflicts >= maxConflicts) throw new TransientError(giveUp());
  await new Promise((resolve) => setTimeout(resolve, Math.random() * 10 * Math.min(conflicts, 10)));
}
