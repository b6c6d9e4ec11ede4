import type { Notifier } from '../../adapters/notify/port';
import { type Alert, type EffectKind, errorMessage, type Incident } from '../../core';
import type { Outbox, OutboxEffect } from '../../history';
import type { Logger } from '../../log';
import { done, type Executed } from './executor';
import { decodeOutcome, renderOutcome } from './outcome';

export interface AlertDeps {
  store: Pick<Outbox, 'effectsOf'>;
  notifier: Notifier;
  now: () => Date;
}

/** Tells the owners; an alert that reports other effects of its event waits for them to settle. */
export async function alert(deps: AlertDeps, incident: Incident, after: 'revert' | null): Promise<Executed> {
  const siblings = after ? await deps.store.effectsOf(incident.eventId) : [];
  const unsettled = siblings
    .filter((e) => e.kind !== 'alert' && e.status === 'pending')
    .map((e) => e.nextAttemptAt)
    .sort();
  if (unsettled.length > 0) {
    const until = Math.max(Date.parse(unsettled[0]!), deps.now().getTime() + 50);
    return { status: 'waiting', until: new Date(until).toISOString() };
  }
  const revert = siblings.find((e) => e.kind === 'revert');
  const lock = siblings.find((e) => e.kind === 'lock');
  await deps.notifier.send(buildAlert(incident, revert ?? null, lock ?? null));
  return done({ kind: 'alerted', via: deps.notifier.kind });
}

export function buildAlert(
  incident: Incident,
  revert: OutboxEffect | null,
  lock: OutboxEffect | null,
): Alert {
  const notes: string[] = [];
  const locked = decodeOutcome(lock?.outcome ?? null);
  if (locked?.kind === 'notLocked') notes.push(`Lock: the tag could not be locked: ${locked.reason}.`);
  if (lock?.status === 'failed') notes.push(`Lock FAILED: ${lock.lastError}.`);
  if (!revert) {
    return {
      incident,
      actionTaken: `alerted only (rule ${incident.ruleAction}); the tag now serves ${incident.to}`,
      severity: lock?.status === 'failed' ? 'critical' : 'warning',
      notes,
    };
  }
  if (revert.status === 'failed') {
    return {
      incident,
      actionTaken: `revert FAILED: ${revert.lastError}; the tag still serves ${incident.to}`,
      severity: 'critical',
      notes,
    };
  }
  // A skip means a later event (or a person) already decided the tag: worth telling, not paging.
  const reverted = decodeOutcome(revert.outcome);
  const settled = reverted?.kind === 'reverted' || reverted?.kind === 'skipped';
  return {
    incident,
    actionTaken: reverted ? renderOutcome(reverted) : 'revert outcome unknown',
    severity: settled && lock?.status !== 'failed' ? 'warning' : 'critical',
    notes,
  };
}

/** The headline of the alert for an effect that failed for good, by kind. */
const FAILURE_TITLES: Record<EffectKind, string> = {
  revert: 'Revert failed',
  lock: 'Tag not locked',
  alert: 'Alert failed',
  bump: 'Cluster not told',
  resolve: 'Push not recorded',
};

export interface FailureReportDeps {
  store: Pick<Outbox, 'effectsOf'>;
  notifier: Notifier;
  log: Logger;
  /** How to run a failed effect again where this runtime runs, for the alert's note. */
  retryHint: (key: string) => string;
}

/** Effects an alert does not already report get an alert of their own; an alert that fails is logged. */
export async function reportFinalFailure(
  deps: FailureReportDeps,
  row: OutboxEffect,
  message: string,
): Promise<void> {
  if (row.kind === 'alert') return;
  const siblings = await deps.store.effectsOf(row.eventId);
  if (siblings.some((e) => e.kind === 'alert' && e.status !== 'failed')) return; // that alert reports it
  try {
    await deps.notifier.send({
      incident: row.effect.incident,
      actionTaken: `${row.kind} FAILED after ${row.attempts + 1} attempt(s): ${message}`,
      severity: 'critical',
      title: FAILURE_TITLES[row.kind],
      notes: [deps.retryHint(row.key)],
    });
  } catch (error) {
    deps.log.error('could not alert about a failed effect', { key: row.key, error: errorMessage(error) });
  }
}

/** The hint of the local runtime, where `tagwarden failed` and `tagwarden retry` work on the history file. */
export function localRetryHint(key: string): string {
  return `Effect ${key} is listed by \`tagwarden failed\`; \`tagwarden retry --key ${key}\` runs it again.`;
}
