import type { QueueClient } from '@azure/storage-queue';
import * as z from 'zod';
import { errorMessage } from '../../shared/core';
import type { IngestDeps, IngestOutcome } from '../../shared/guard/ingest';
import { ingestWebhook } from '../../shared/guard/ingest';

/**
 * The poison queue (a Storage Queue): a body Tagwarden understood but could not record (the history
 * table was unavailable) waits here until an operator replays it. Nothing is lost on the way: the
 * sender got a 2xx, so it will not send again, and the message never expires.
 */

/** Queue messages hold at most 64 KiB of text; base64 grows a body by 4/3 and the envelope needs a little. */
export const MAX_POISON_BODY_BYTES = 46 * 1024;

export const PoisonMessage = z.object({
  v: z.literal(1),
  source: z.string().min(1),
  reason: z.string(),
  receivedAt: z.string(),
  /** The raw body, base64: replayed byte for byte, never re-serialized. */
  body: z.string(),
});
export type PoisonMessage = z.infer<typeof PoisonMessage>;

export interface PoisonEntry {
  messageId: string;
  insertedOn: string | null;
  dequeueCount: number;
  source: string;
  reason: string;
  receivedAt: string;
  body: Buffer;
}

export class PoisonBodyTooLarge extends Error {}

export class StorageQueuePoison {
  constructor(private readonly queue: QueueClient) {}

  get name(): string {
    return this.queue.name;
  }

  async ensureQueue(): Promise<void> {
    await this.queue.createIfNotExists();
  }

  /** Keeps a body for replay; throws when the queue cannot take it, so the caller asks the sender to retry. */
  async add(entry: { source: string; reason: string; receivedAt: string; body: Buffer }): Promise<void> {
    if (entry.body.length > MAX_POISON_BODY_BYTES)
      throw new PoisonBodyTooLarge(
        `the body is ${entry.body.length} bytes; the poison queue takes at most ${MAX_POISON_BODY_BYTES}`,
      );
    const message: PoisonMessage = {
      v: 1,
      source: entry.source,
      reason: entry.reason.slice(0, 500),
      receivedAt: entry.receivedAt,
      body: entry.body.toString('base64'),
    };
    // -1: never expires (the default is 7 days, after which an unreplayed event would be lost).
    await this.queue.sendMessage(JSON.stringify(message), { messageTimeToLive: -1 });
  }

  /** Up to 32 waiting entries (a Storage Queue peek returns at most 32), without hiding them. */
  async list(limit = 32): Promise<PoisonEntry[]> {
    const peeked = await this.queue.peekMessages({ numberOfMessages: Math.max(1, Math.min(limit, 32)) });
    return peeked.peekedMessageItems.map((item) =>
      toEntry(item.messageId, item.insertedOn, item.dequeueCount, item.messageText),
    );
  }

  /** Takes up to `limit` entries out of sight for `visibilitySeconds`; each must be deleted or it comes back. */
  async receive(
    limit: number,
    visibilitySeconds: number,
  ): Promise<Array<{ entry: PoisonEntry | null; text: string; messageId: string; popReceipt: string }>> {
    const received = await this.queue.receiveMessages({
      numberOfMessages: Math.max(1, Math.min(limit, 32)),
      visibilityTimeout: visibilitySeconds,
    });
    return received.receivedMessageItems.map((item) => {
      let entry: PoisonEntry | null;
      try {
        entry = toEntry(item.messageId, item.insertedOn, item.dequeueCount, item.messageText);
      } catch {
        entry = null;
      }
      return { entry, text: item.messageText, messageId: item.messageId, popReceipt: item.popReceipt };
    });
  }

  async remove(messageId: string, popReceipt: string): Promise<void> {
    await this.queue.deleteMessage(messageId, popReceipt);
  }
}

function toEntry(messageId: string, insertedOn: Date, dequeueCount: number, text: string): PoisonEntry {
  const parsed = PoisonMessage.safeParse(safeJson(text));
  if (!parsed.success) throw new Error(`poison message ${messageId} is not a Tagwarden poison message`);
  return {
    messageId,
    insertedOn:
      insertedOn instanceof Date && !Number.isNaN(insertedOn.getTime()) ? insertedOn.toISOString() : null,
    dequeueCount,
    source: parsed.data.source,
    reason: parsed.data.reason,
    receivedAt: parsed.data.receivedAt,
    body: Buffer.from(parsed.data.body, 'base64'),
  };
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

export interface PoisonDeps extends Omit<IngestDeps, 'auth'> {
  poison: StorageQueuePoison;
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
      // Authenticated on arrival (or by the Functions host, for the Event Grid trigger).
      { ...deps, auth: () => ({ open: true }) },
      { source, headers: {}, query: new URLSearchParams(), body },
    );
  } catch (error) {
    return { kind: 'unavailable', reason: errorMessage(error) };
  }
}
