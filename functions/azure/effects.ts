import type { InvocationContext, Timer } from '@azure/functions';
import { errorMessage } from '../../shared/core';
import type { AzureDependencies, DependenciesProvider } from './dependencies';

/**
 * Runs the outbox's due effects. Called after every ingest (so a lock or revert follows the push at
 * once) and by the timer (retries, alerts that wait for a revert). A failure here never fails the
 * delivery: the effects stay in the outbox and the next run retries them.
 */
export async function runDueEffects(deps: AzureDependencies, context: InvocationContext): Promise<number> {
  try {
    return await deps.runner.runDue();
  } catch (error) {
    context.warn(`outbox run failed; the timer retries: ${errorMessage(error)}`);
    deps.log.error('outbox run failed', { error: errorMessage(error) });
    return 0;
  }
}

/** The timer trigger: due effects every minute. A settings error throws, so the run shows as failed. */
export const effectsTimerHandler =
  (getDeps: DependenciesProvider) =>
  async (_timer: Timer, context: InvocationContext): Promise<void> => {
    const deps = await getDeps();
    const attempted = await runDueEffects(deps, context);
    if (attempted > 0) context.log(`ran ${attempted} due effect(s)`);
  };
