import type { Notifier } from '../../adapters/notify/port';
import {
  type Alert,
  attemptAlert,
  digestDeletedAlert,
  driftAlert,
  type EffectKind,
  errorMessage,
  type Incident,
} from '../../core';
import type { Outbox, OutboxEffect, TagHistory } from '../../history';
import type { Logger } from '../../log';
import { harmlessRuns, judgeMove, type MoveDeps, verdictText } from './classify';
import { done, type Executed, quickRetriesOf } from './executor';
import { decodeOutcome, type EffectOutcome, renderOutcome } from './outcome';

export interface AlertDeps extends MoveDeps {
  store: Pick<Outbox, 'effectsOf'> & Pick<TagHistory, 'approveDigest'>;
  notifier: Notifier;
  now: () => Date;
  /** How long after the event an alert waits for the effects it reports before it goes out anyway. */
  alertWaitMs: number;
  /** A revert's quick first retries: an alert waits for them whatever the time. */
  quickRetriesMs: number[];
}

/**
 * Tells the owners; an alert that reports other effects of its event waits for them to settle, but no
 * longer than `alertWaitMs` after the event time (persisted, so a restarted runner keeps the deadline)
 * and at least until each has had its first attempt and quick retries (so an event that arrives late
 * still gets a moment). Going out before they settle, it says what is still being retried and
 * records which effects it did not wait for: one of those that fails for good is alerted again.
 */
export async function alert(deps: AlertDeps, incident: Incident, after: 'revert' | null): Promise<Executed> {
  if (incident.drift) {
    await deps.notifier.send(driftAlert(incident, incident.drift));
    return done({ kind: 'alerted', via: deps.notifier.kind });
  }
  const siblings = after ? await deps.store.effectsOf(incident.eventId) : [];
  const unsettled = siblings.filter((e) => e.kind !== 'alert' && e.status === 'pending');
  const now = deps.now().getTime();
  const deadline = Date.parse(incident.eventTime) + deps.alertWaitMs;
  const inQuickRetries = unsettled.some(
    (e) => e.attempts <= quickRetriesOf(e.kind, deps.quickRetriesMs).length,
  );
  if (unsettled.length > 0 && (now < deadline || inQuickRetries)) {
    const next = unsettled.map((e) => Date.parse(e.nextAttemptAt)).sort((a, b) => a - b)[0]!;
    const until = next > now ? next : now + 50; // due with the effect it waits for, which runs first
    return {
      status: 'waiting',
      until: new Date(now < deadline ? Math.min(until, deadline) : until).toISOString(),
    };
  }
  const revert = siblings.find((e) => e.kind === 'revert') ?? null;
  const lock = siblings.find((e) => e.kind === 'lock') ?? null;
  const move = await moveForAlert(deps, incident, revert);
  if ('skip' in move) return done(move.skip);
  await deps.notifier.send(buildAlert(incident, revert, lock, move.note));
  const before = [...new Set(unsettled.map((e) => e.kind))];
  return done({ kind: 'alerted', via: deps.notifier.kind, ...(before.length > 0 ? { before } : {}) });
}

/**
 * What the alert says about the move, or that it is not sent: it follows its revert, which classified
 * the move first (a revert that ran is always told, whatever a later look at the registry says); an
 * alert without a revert classifies the move itself.
 */
async function moveForAlert(
  deps: AlertDeps,
  incident: Incident,
  revert: OutboxEffect | null,
): Promise<{ skip: EffectOutcome } | { note: MoveNote | null }> {
  const reverted = decodeOutcome(revert?.outcome ?? null);
  if (reverted?.kind === 'harmless')
    return harmlessRuns(reverted.action, 'alert')
      ? { note: { text: reverted.move, harmless: true, approved: reverted.approved === true } }
      : { skip: reverted };
  if (reverted?.kind === 'reverted' && reverted.move)
    return { note: { text: reverted.move, harmless: false } };
  const judged = await judgeMove(deps, incident, 'alert');
  if (!judged.run)
    return revert ? { note: { text: judged.outcome.move, harmless: false } } : { skip: judged.outcome };
  const verdict = judged.verdict;
  if (!verdict) return { note: null };
  return {
    note: {
      text: verdictText(verdict),
      harmless: !revert && !['overwrite', 'unclassified'].includes(verdict.class),
      approved: judged.approved === true,
    },
  };
}

/** What an alert says of the move; `harmless` when the tag was left where it moved because of it. */
export interface MoveNote {
  text: string;
  harmless: boolean;
  /** The harmless move's digest became the tag's approved digest (what a later revert restores). */
  approved?: boolean;
}

/** What the alert on a harmless move says the tag serves, and that it is now its approved digest. */
function servesNow(incident: Incident, move: MoveNote | null): string {
  return move?.approved
    ? `${incident.to}, now its approved digest (what a revert restores)`
    : `${incident.to}`;
}

const HARMLESS_TITLE = 'Tag moved (harmless)';

export function buildAlert(
  incident: Incident,
  revert: OutboxEffect | null,
  lock: OutboxEffect | null,
  move: MoveNote | null = null,
): Alert {
  if (incident.attempt) return attemptAlert(incident, incident.attempt);
  if (incident.digestDeleted) return digestDeletedAlert(incident, incident.digestDeleted);
  const notes: string[] = move ? [`Move: ${move.text}.`] : [];
  const locked = decodeOutcome(lock?.outcome ?? null);
  if (locked?.kind === 'notLocked') notes.push(`Lock: the tag could not be locked: ${locked.reason}.`);
  if (lock?.status === 'failed') notes.push(`Lock FAILED: ${lock.lastError}.`);
  if (!revert) {
    return {
      incident,
      ...(move?.harmless ? { title: HARMLESS_TITLE } : {}),
      actionTaken: `alerted only (rule ${incident.ruleAction}); the tag now serves ${servesNow(incident, move)}`,
      severity: lock?.status === 'failed' ? 'critical' : 'warning',
      notes,
    };
  }
  if (revert.status === 'pending') {
    // The wait ran out: say so now. Silence after this means the revert went through.
    return {
      incident,
      actionTaken: `revert not done yet${revert.lastError ? ` (attempt ${revert.attempts}: ${revert.lastError})` : ''}; it is still being retried, and the tag serves ${incident.to} until it succeeds`,
      severity: lock?.status === 'failed' ? 'critical' : 'warning',
      notes: [...notes, 'You will be alerted again only if the revert fails for good.'],
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
  if (reverted?.kind === 'harmless')
    return {
      incident,
      title: HARMLESS_TITLE,
      actionTaken: `not reverted: a harmless move (${reverted.class}); the tag serves ${servesNow(incident, move)}`,
      severity: 'warning',
      notes,
    };
  const settled = reverted?.kind === 'reverted' || reverted?.kind === 'skipped';
  return {
    incident,
    actionTaken: reverted ? renderOutcome(withoutMove(reverted)) : 'revert outcome unknown',
    severity: settled && lock?.status !== 'failed' ? 'warning' : 'critical',
    notes,
  };
}

/** The outcome without the move it names: the alert's note says that once. */
function withoutMove(outcome: EffectOutcome): EffectOutcome {
  if (outcome.kind !== 'reverted' || outcome.move === undefined) return outcome;
  const { move: _said, ...rest } = outcome;
  return rest;
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
  if (siblings.some((e) => e.kind === 'alert' && reportsFailureOf(e, row.kind))) return;
  await sendFailure(deps, row, message);
}

/** Whether an alert reports how `kind` ended: it will, unless it failed or went out before `kind` settled. */
function reportsFailureOf(alert: OutboxEffect, kind: EffectKind): boolean {
  if (alert.status === 'failed') return false;
  const outcome = decodeOutcome(alert.outcome);
  return !(outcome?.kind === 'alerted' && outcome.before?.includes(kind));
}

/**
 * After an alert that went out before some effects settled is recorded done: any of them that failed
 * for good meanwhile (a worker settling it read this alert as still to come) is alerted now.
 */
export async function reportFailuresSettledMeanwhile(
  deps: FailureReportDeps,
  eventId: string,
  before: EffectKind[],
): Promise<void> {
  const failed = (await deps.store.effectsOf(eventId)).filter(
    (e) => e.status === 'failed' && before.includes(e.kind),
  );
  for (const row of failed) await sendFailure(deps, row, row.lastError ?? 'no reason recorded', row.attempts);
}

async function sendFailure(
  deps: FailureReportDeps,
  row: OutboxEffect,
  message: string,
  attempts = row.attempts + 1,
): Promise<void> {
  try {
    await deps.notifier.send({
      incident: row.effect.incident,
      actionTaken: `${row.kind} FAILED after ${attempts} attempt(s): ${message}`,
      severity: 'critical',
      title: FAILURE_TITLES[row.kind],
      notes: [deps.retryHint(row.key)],
      retryKey: row.key,
    });
  } catch (error) {
    deps.log.error('could not alert about a failed effect', { key: row.key, error: errorMessage(error) });
  }
}

/** The hint of the local runtime, where `tagwarden failed` and `tagwarden retry` work on the history file. */
export function localRetryHint(key: string): string {
  return `Effect ${key} is listed by \`tagwarden failed\`; \`tagwarden retry --key ${key}\` runs it again.`;
}
