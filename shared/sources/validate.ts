import { eventProblems, type RegistryEvent } from '../core';
import type { ItemOutcome } from './types';

/** Every parser ends here: a normalized event passes the OCI grammars or is rejected naming the field. */
export function validatedEvent(event: RegistryEvent): ItemOutcome {
  const problems = eventProblems(event);
  return problems.length > 0 ? { kind: 'rejected', reason: problems.join('; ') } : { kind: 'event', event };
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
