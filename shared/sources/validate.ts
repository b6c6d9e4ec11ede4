import { digestProblem, eventProblems, hostProblem, type RegistryEvent, repositoryProblem } from '../core';
import type { DigestDelete, ItemOutcome } from './types';

/** Every parser ends here: a normalized event passes the OCI grammars or is rejected naming the field. */
export function validatedEvent(event: RegistryEvent): ItemOutcome {
  const problems = eventProblems(event);
  return problems.length > 0 ? { kind: 'rejected', reason: problems.join('; ') } : { kind: 'event', event };
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * A manifest delete by digest, validated like an event: ignored as a tag event, with a reason saying
 * what it means and the parsed delete attached (ingest records it against the tags history says
 * serve the digest), or rejected naming the bad field.
 */
export function digestDeleteOutcome(deleted: DigestDelete): ItemOutcome {
  const problems = [
    hostProblem(deleted.registryHost),
    repositoryProblem(deleted.repository),
    digestProblem(deleted.digest),
  ].filter((p): p is string => p !== null);
  if (problems.length > 0) return { kind: 'rejected', reason: problems.join('; ') };
  const where = `${deleted.registryHost}/${deleted.repository}`;
  return {
    kind: 'ignored',
    reason: `manifest delete by digest ${deleted.digest} in ${where}: every tag serving it is gone; not a tag event, so it is recorded against the tags history says serve it`,
    digestDelete: deleted,
  };
}
