import { type Effect, effectKey } from '../core';
import type { OutboxEffect } from './port';

/** Builds the outbox rows for an event's effects; shared by every store. */
export function outboxRows(eventId: string, effects: Effect[], now: string): OutboxEffect[] {
  return effects.map((effect, position) => ({
    key: effectKey(eventId, effect.kind),
    eventId,
    kind: effect.kind,
    position,
    effect,
    status: 'pending',
    attempts: 0,
    nextAttemptAt: now,
    lastError: null,
    outcome: null,
  }));
}
