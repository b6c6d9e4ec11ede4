import type { QueueClient } from '@azure/storage-queue';
import * as z from 'zod';

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

/** The poison queue as the application sees it: what `shared/guard/poison.ts` lists and replays. */
export interface PoisonQueue {
  readonly name: string;
  list(limit?: number): Promise<PoisonEntry[]>;
  receive(limit: number, visibilitySeconds: number): Promise<ReceivedPoison[]>;
  remove(messageId: string, popReceipt: string): Promise<void>;
}

/** A received message: its entry, or null when the text is not a Tagwarden poison message. */
export interface ReceivedPoison {
  entry: PoisonEntry | null;
  text: string;
  messageId: string;
  popReceipt: string;
}

export class StorageQueuePoison implements PoisonQueue {
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
  async receive(limit: number, visibilitySeconds: number): Promise<ReceivedPoison[]> {
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
