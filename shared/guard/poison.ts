import type { PoisonQueue } from '../adapters/azure/poison-queue';
import { errorMessage } from '../core';
import type { Logger } from '../log';
import { type IngestDeps, type IngestOutcome, ingestWebhook } from './ingest';

/**
 * The poison queue's use cases: list what waits, and replay it into history. A body lands there
 * when it was understood but could not be recorded (the history table was unavailable); the sender
 * got a 2xx, so the queue is the only copy until a replay records it.
 */

export interface PoisonDeps extends Omit<IngestDeps, 'auth'> {
  poison: PoisonQueue;
}

/** What `listPoison` shows an operator: no body bytes, only what identifies and explains each entry. */
export async function listPoison(deps: Pick<PoisonDeps, 'poison'>, limit = 32) {
  const entries = await deps.poison.list(limit);
  return entries.map(({ body, ...rest }) => ({ ...rest, bytes: body.length }));
}

export interface ReplayReport {
  /** Recorded now (or found already recorded: replay is idempotent by event id). */
  replayed: number;
  /** Still not recordable (the store is still down): left in the queue for the next replay. */
  stillFailing: number;
  /** Not understood any more (or not ours): kept as failed records in the history store, then removed. */
  rejected: number;
}

/**
 * Replays the poison queue into history: each body goes through the same parser and store as a live
 * delivery, minus authentication (it was authenticated when it arrived). A body that records is
 * removed; one that still cannot be recorded stays for the next run.
 */
export async function replayPoison(
  deps: PoisonDeps,
  options: { limit?: number; visibilitySeconds?: number } = {},
): Promise<ReplayReport> {
  const report: ReplayReport = { replayed: 0, stillFailing: 0, rejected: 0 };
  let remaining = options.limit ?? 1000;
  const seen = new Set<string>();
  while (remaining > 0) {
    const batch = await deps.poison.receive(Math.min(remaining, 32), options.visibilitySeconds ?? 300);
    const fresh = batch.filter((item) => !seen.has(item.messageId));
    if (fresh.length === 0) break;
    for (const item of fresh) {
      seen.add(item.messageId);
      remaining -= 1;
      const receivedAt = (deps.now?.() ?? new Date()).toISOString();
      if (!item.entry) {
        await deps.store.recordFailure({
          source: 'poison-queue',
          reason: 'not a Tagwarden poison message',
          payload: item.text,
          receivedAt,
        });
        await deps.poison.remove(item.messageId, item.popReceipt);
        report.rejected += 1;
        continue;
      }
      const outcome = await recordBody(deps, item.entry.source, item.entry.body);
      if (outcome.kind === 'unavailable') {
        report.stillFailing += 1;
        deps.log.warn('poison entry still cannot be recorded; it stays in the queue', {
          messageId: item.messageId,
          source: item.entry.source,
        });
        continue;
      }
      if (outcome.kind !== 'recorded' && outcome.kind !== 'handshake') {
        await deps.store.recordFailure({
          source: item.entry.source,
          reason: `replay from the poison queue: ${outcome.reason}`,
          payload: item.entry.body.toString('utf8'),
          receivedAt,
        });
        report.rejected += 1;
      } else report.replayed += 1;
      await deps.poison.remove(item.messageId, item.popReceipt);
    }
  }
  return report;
}

/** A body that was authenticated on arrival, recorded like a live delivery. Never throws. */
export async function recordBody(
  deps: Omit<IngestDeps, 'auth'>,
  source: string,
  body: Buffer,
): Promise<IngestOutcome> {
  try {
    return await ingestWebhook(
      { ...deps, auth: () => ({ open: true }) },
      { source, headers: {}, query: new URLSearchParams(), body },
    );
  } catch (error) {
    return { kind: 'unavailable', reason: errorMessage(error) };
  }
}

/**
 * A store whose table may be unreachable at start, checked once. The deployment creates the table,
 * so a failure here only means the service is down right now: start anyway, and let deliveries go to
 * the poison queue until it answers, rather than refuse every request.
 */
export async function openHistoryTable<S extends { ensureTable(): Promise<void> }>(
  store: S,
  table: string,
  log: Logger,
): Promise<S> {
  try {
    await store.ensureTable();
  } catch (error) {
    log.warn('could not check the history table; deliveries go to the poison queue until it answers', {
      table,
      error: errorMessage(error),
    });
  }
  return store;
}
