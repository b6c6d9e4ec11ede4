import type { Alert } from '../../shared/core';

export const FROM = `sha256:${'a'.repeat(64)}`;
export const TO = `sha256:${'b'.repeat(64)}`;

export type AlertOverrides = { incident?: Partial<Alert['incident']> } & Partial<Omit<Alert, 'incident'>>;

/** An alert about payments/api:v1 moving FROM → TO under a revert rule; override what a test is about. */
export function alertOf(overrides: AlertOverrides = {}): Alert {
  const { incident, ...rest } = overrides;
  return {
    incident: {
      eventId: 'evt-1',
      ref: { registryHost: '127.0.0.1:5000', repository: 'payments/api', tag: 'v1' },
      from: FROM,
      to: TO,
      restoreTo: FROM,
      actor: 'alice',
      eventTime: '2026-11-22T10:00:00.000Z',
      ruleAction: 'revert',
      ruleSource: 'rules[0]',
      owners: [],
      ...incident,
    },
    actionTaken: `reverted to ${FROM}`,
    severity: 'critical',
    notes: [],
    ...rest,
  };
}
