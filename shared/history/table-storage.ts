import { createHash } from 'node:crypto';
import { odata, RestError, type TableClient, type TransactionAction } from '@azure/data-tables';
import {
  type ApplyResult,
  type Digest,
  type Effect,
  errorMessage,
  formatTagRef,
  type HistoryEntry,
  type OutboxEffect,
  outboxRows,
  type PendingRestore,
  PermanentError,
  type Policy,
  type RegistryEvent,
  recordStep,
  ruleFor,
  type TagRef,
  type TagState,
  TransientError,
} from '../core';
import type { EffectUpdate, FailedRecord, HistoryStore } from './port';

/** Table names are alphanumeric (3–63 characters, starting with a letter). */
export const DEFAULT_HISTORY_TABLE = 'tagwardenhistory';

/**
 * A conditional write that lost to another writer (412 on If-Match, 409 on create): retried after a
 * re-read, except a claim, which leaves the effect to the worker that won it.
 */
export interface WriteConflict {
  operation: 'apply' | 'markPendingRestore' | 'clearPendingRestore' | 'updateEffect' | 'claimDueEffects';
  partitionKey: string;
  status: number;
  attempt: number;
}

export interface TableStorageHistoryStoreOptions {
  /** Gives failed records their id (and their order among records received at the same time). */
  clock?: () => Date;
  /** Tries of one conditional write before giving up with a TransientError (default 25). */
  maxAttempts?: number;
  /** Called on every lost conditional write before it is retried: tests count the races they caused. */
  onConflict?: (conflict: WriteConflict) => void;
}

/*
 * Layout. Table Storage commits atomically only inside one partition (an entity-group transaction:
 * one PartitionKey, at most 100 operations), so everything `apply` must commit together lives in
 * the partition of its tag:
 *
 *   PartitionKey                    RowKey                         what
 *   t|<host>|<repository>|<tag>     state                          TagState + `rows` (next history seq); its ETag is the compare-and-set token
 *                                   h|<seq, 12 digits>             one HistoryEntry per recorded event, in order
 *                                   seen|<eventId>                 the event id was recorded here: a second create fails (duplicate)
 *                                   fx|<eventId>|<kind>            an outbox effect (key `eventId#kind`)
 *   ev|<eventId>                    <tag partition key>            locator: which tag partitions hold this event's effects
 *   failures                        r|<inverted time>|<inverted id> a failed record (newest first); c|…|<n> rows hold a large payload
 *
 * `<…>` parts are user data, encoded by `encodeKeyPart` (keys reject `/ \ # ?` and control
 * characters); a part too long for a key (512 characters) is replaced by `~~<sha256>`, which no
 * encoded part can equal. The locator is written before the transaction that creates the effects
 * (an upsert, so retries are harmless): every effect row has one, and a locator whose transaction
 * lost points at a partition without rows for that event, which reads as nothing.
 *
 * Duplicates are detected per tag: the seen row shares the tag's partition so that it commits with
 * the transition. Source event ids name one tag's event, so that is the same as global detection.
 */
const STATE = 'state';
const FAILURES = 'failures';
const MAX_KEY_CHARS = 512;
/** A string property holds at most 32K UTF-16 code units (64 KB); keep clear of the edge. */
const PART_CHARS = 30_000;
/** A binary property holds at most 64 KiB. */
const PART_BYTES = 60_000;
/** Parts of a payload chunk row: 12 × 60 KB stays well under the 1 MB entity limit. */
const CHUNK_PARTS = 12;
/** Payloads up to this size stay readable text in the record row; larger ones go to chunk rows. */
const INLINE_PAYLOAD_BYTES = 16 * 1024;
/** Error texts and outcomes are messages, not payloads: past this many parts they are cut, visibly. */
const MESSAGE_PARTS = 4;
const HISTORY_DIGITS = 12;
/** Failed-record ids are clock milliseconds × 1000 + a random tie-breaker: below 2^53 until the year 2255. */
const MAX_FAILURE_ID = 9_000_000_000_000_000;

/**
 * Table Storage history (Azure Functions runtime). `apply` reads the tag's state row (with its ETag)
 * and the event's seen row, decides with core's `recordStep`, and commits one entity-group
 * transaction: create seen row, replace the state row If-Match its ETag (or create it), create the
 * history row and the effect rows. A concurrent writer makes that fail with 412/409; we re-read and
 * re-decide, with jittered backoff, so correctness lives in the ETag, never in a read-then-write.
 */
export class TableStorageHistoryStore implements HistoryStore {
  private readonly clock: () => Date;
  private readonly maxAttempts: number;
  private readonly onConflict: (conflict: WriteConflict) => void;

  constructor(
    private readonly client: TableClient,
    options: TableStorageHistoryStoreOptions = {},
  ) {
    this.clock = options.clock ?? (() => new Date());
    this.maxAttempts = options.maxAttempts ?? 25;
    this.onConflict = options.onConflict ?? (() => {});
  }

  /** Creates the table if it is missing; the SDK treats "already exists" as success. */
  async ensureTable(): Promise<void> {
    await this.call(`create table ${this.client.tableName}`, () => this.client.createTable());
  }

  async apply(event: RegistryEvent, policy: Policy, receivedAt: string): Promise<ApplyResult> {
    const rule = ruleFor(policy, event);
    const pk = tagPartition(event);
    const seenKey = `seen|${idPart(event.id)}`;
    /** Effects whose key is in the outbox already (enqueued before): kept as they are, like SQLite's INSERT OR IGNORE. */
    const queued = new Set<string>();
    for (let attempt = 1; ; attempt++) {
      const rows = await this.query<Row>(
        `read ${formatTagRef(event)}`,
        odata`PartitionKey eq ${pk} and (RowKey eq ${STATE} or RowKey eq ${seenKey})`,
      );
      const stateRow = rows.find((r) => r.rowKey === STATE) as StateRow | undefined;
      const prev = stateRow ? toTagState(stateRow) : null;
      const seen = rows.some((r) => r.rowKey === seenKey);
      const step = recordStep({ prev, seen, event, rule, receivedAt });
      if (step.kind === 'duplicate') return step.result;

      const { effects } = step.result;
      const seq = (stateRow?.rows ?? 0) + 1;
      // A stale event leaves the state as it was, but still takes a history seq (and the ETag).
      const nextState = step.next ?? prev;
      if (!nextState) throw new Error(`no state to keep for ${formatTagRef(event)}`); // stale needs a prev
      const state = stateEntity(pk, event, nextState, seq);
      const actions: TransactionAction[] = [
        ['create', { partitionKey: pk, rowKey: seenKey, eventId: event.id, receivedAt }],
        stateRow ? ['update', state, 'Replace', { etag: stateRow.etag }] : ['create', state],
        ['create', historyEntity(pk, { seq, ...step.history })],
      ];
      const created = effects.filter((effect) => !queued.has(effect.key));
      for (const effect of created) actions.push(['create', effectEntity(pk, effect, receivedAt)]);
      if (effects.length > 0) await this.locate(event.id, pk);

      const failed = await this.transact(`record ${event.id} on ${formatTagRef(event)}`, actions);
      if (!failed) return step.result;
      if (failed.index === 0) continue; // recorded meanwhile: the re-read answers duplicate
      const existing = failed.index === undefined ? undefined : created[failed.index - 3];
      if (existing) {
        queued.add(existing.key);
        continue;
      }
      await this.conflicted({ operation: 'apply', partitionKey: pk, status: failed.status, attempt });
    }
  }

  /** One event after another, each its own transaction: a batch may span tags, and so partitions. */
  async applyAll(events: RegistryEvent[], policy: Policy, receivedAt: string): Promise<ApplyResult[]> {
    const results: ApplyResult[] = [];
    for (const event of events) results.push(await this.apply(event, policy, receivedAt));
    return results;
  }

  async enqueueEffects(eventId: string, effects: Effect[], now: string): Promise<void> {
    for (const row of outboxRows(eventId, effects, now)) {
      const pk = tagPartition(row.effect.incident.ref);
      await this.locate(eventId, pk);
      try {
        await this.client.createEntity(effectEntity(pk, row, now));
      } catch (error) {
        if (statusOf(error) !== 409) throw classify(error, `enqueue effect ${row.key}`); // 409: queued already
      }
    }
  }

  async tagState(ref: TagRef): Promise<TagState | null> {
    const row = await this.get<StateRow>(tagPartition(ref), STATE, `read ${formatTagRef(ref)}`);
    return row ? toTagState(row) : null;
  }

  async history(ref: TagRef): Promise<HistoryEntry[]> {
    const pk = tagPartition(ref);
    const rows = await this.query<HistoryEntity>(
      `read the history of ${formatTagRef(ref)}`,
      odata`PartitionKey eq ${pk} and RowKey ge ${'h|'} and RowKey lt ${'h}'}`,
    );
    return rows.map(toHistoryEntry); // a partition comes back in RowKey order: seq order
  }

  async markPendingRestore(ref: TagRef, restore: PendingRestore): Promise<boolean> {
    return this.replaceState('markPendingRestore', ref, (state) =>
      state.digest === restore.from ? { ...state, pendingRestore: restore } : null,
    );
  }

  async clearPendingRestore(ref: TagRef, digest: Digest): Promise<void> {
    await this.replaceState('clearPendingRestore', ref, (state) =>
      state.pendingRestore?.digest === digest ? { ...state, pendingRestore: null } : null,
    );
  }

  /**
   * The due effects are found by one filtered query across all partitions (a table scan on the
   * service side), which is fine at the scale of a tag guard: thousands of rows, not millions. Each
   * is then claimed by a Replace If-Match its ETag, so two workers never claim the same effect.
   */
  async claimDueEffects(now: string, leaseUntil: string, limit: number): Promise<OutboxEffect[]> {
    const due = (
      await this.query<EffectEntity>(
        'find due effects',
        odata`RowKey ge ${'fx|'} and RowKey lt ${'fx}'} and status eq ${'pending'} and nextAttemptAt le ${now}`,
      )
    ).sort(
      (a, b) =>
        a.nextAttemptAt.localeCompare(b.nextAttemptAt) ||
        a.eventId.localeCompare(b.eventId) ||
        a.position - b.position,
    );
    const claimed: OutboxEffect[] = [];
    for (const row of due) {
      if (claimed.length >= limit) break;
      const effect = toOutboxEffect(row);
      const leased = effectEntity(row.partitionKey, { ...effect, nextAttemptAt: leaseUntil }, row.updatedAt);
      try {
        await this.client.updateEntity(leased, 'Replace', { etag: row.etag });
        claimed.push(effect);
      } catch (error) {
        const status = statusOf(error);
        if (status !== 412 && status !== 404) throw classify(error, `claim effect ${effect.key}`);
        this.onConflict({ operation: 'claimDueEffects', partitionKey: row.partitionKey, status, attempt: 1 });
      }
    }
    return claimed;
  }

  async effectsOf(eventId: string): Promise<OutboxEffect[]> {
    const prefix = `fx|${idPart(eventId)}|`;
    const effects: OutboxEffect[] = [];
    for (const pk of await this.partitionsOf(eventId)) {
      const rows = await this.query<EffectEntity>(
        `read the effects of ${eventId}`,
        odata`PartitionKey eq ${pk} and RowKey ge ${prefix} and RowKey lt ${`fx|${idPart(eventId)}}`}`,
      );
      effects.push(...rows.filter((r) => r.eventId === eventId).map(toOutboxEffect));
    }
    return effects.sort((a, b) => a.position - b.position);
  }

  async updateEffect(key: string, update: EffectUpdate, now: string): Promise<void> {
    const hash = key.lastIndexOf('#');
    const [eventId, kind] = [key.slice(0, hash), key.slice(hash + 1)];
    const rowKey = `fx|${idPart(eventId)}|${kind}`;
    for (let attempt = 1; ; attempt++) {
      let row: EffectEntity | null = null;
      for (const pk of await this.partitionsOf(eventId)) {
        row = await this.get<EffectEntity>(pk, rowKey, `read effect ${key}`);
        if (row) break;
      }
      if (!row) throw new PermanentError(`no effect ${key} in the outbox`);
      const next = applyUpdate(toOutboxEffect(row), update);
      try {
        await this.client.updateEntity(effectEntity(row.partitionKey, next, now), 'Replace', {
          etag: row.etag,
        });
        return;
      } catch (error) {
        const status = statusOf(error);
        if (status !== 412) throw classify(error, `update effect ${key}`);
        await this.conflicted({ operation: 'updateEffect', partitionKey: row.partitionKey, status, attempt });
      }
    }
  }

  /** Effects that failed for good, newest first: a filtered query across partitions, like claims. */
  async failedEffects(limit: number): Promise<OutboxEffect[]> {
    const rows = await this.query<EffectEntity>(
      'find failed effects',
      odata`RowKey ge ${'fx|'} and RowKey lt ${'fx}'} and status eq ${'failed'}`,
    );
    return rows
      .sort((a, b) => b.updatedAt.localeCompare(a.updatedAt) || b.rowKey.localeCompare(a.rowKey))
      .slice(0, limit)
      .map(toOutboxEffect);
  }

  /**
   * A record of its own in the `failures` partition. A small payload is a text property; a larger
   * one (bodies go up to 1 MiB) is stored as bytes in chunk rows, written before the record row that
   * names them, so a reader sees a record only once all of it is stored. Bytes, not text: base64 on
   * the wire is ASCII, so no layer can split a multi-byte character (Azurite does, in bodies over 64 KB).
   */
  async recordFailure(record: Omit<FailedRecord, 'id'>): Promise<void> {
    const inline = Buffer.byteLength(record.payload) <= INLINE_PAYLOAD_BYTES;
    const { bytes, encoding } = payloadBytes(record.payload);
    const chunks: Buffer[][] = [];
    if (!inline) {
      const pieces = splitBytes(bytes, PART_BYTES);
      for (let i = 0; i < pieces.length; i += CHUNK_PARTS) chunks.push(pieces.slice(i, i + CHUNK_PARTS));
    }
    const received = Date.parse(record.receivedAt);
    for (let attempt = 1; ; attempt++) {
      const id = this.clock().getTime() * 1000 + Math.floor(Math.random() * 1000);
      const suffix = failureSuffix(Number.isNaN(received) ? id / 1000 : received, id);
      try {
        // Create, never upsert: a colliding id fails here before it can touch another record's rows.
        for (const [n, chunk] of chunks.entries()) {
          await this.client.createEntity({
            partitionKey: FAILURES,
            rowKey: `c|${suffix}|${String(n).padStart(4, '0')}`,
            ...spread('bytes', chunk),
          });
        }
        await this.client.createEntity({
          partitionKey: FAILURES,
          rowKey: `r|${suffix}`,
          id,
          source: record.source,
          ...messageParts('reason', record.reason),
          receivedAt: record.receivedAt,
          ...(inline
            ? { payload: record.payload }
            : { payloadChunks: chunks.length, payloadBytes: bytes.length, payloadEncoding: encoding }),
        });
        return;
      } catch (error) {
        if (statusOf(error) !== 409 || attempt >= this.maxAttempts)
          throw classify(error, `record a failed ${record.source} body`);
      }
    }
  }

  async failures(limit: number): Promise<FailedRecord[]> {
    const heads: FailureEntity[] = [];
    const pages = this.client
      .listEntities<FailureEntity>({
        queryOptions: {
          filter: odata`PartitionKey eq ${FAILURES} and RowKey ge ${'r|'} and RowKey lt ${'r}'}`,
        },
      })
      .byPage({ maxPageSize: Math.min(Math.max(limit, 1), 1000) });
    try {
      for await (const page of pages) {
        heads.push(...page);
        if (heads.length >= limit) break;
      }
    } catch (error) {
      throw classify(error, 'list failed records');
    }
    const records: FailedRecord[] = [];
    for (const head of heads.slice(0, limit)) {
      records.push({
        id: head.id,
        source: head.source,
        reason: readText(head, 'reason') ?? '',
        payload: head.payloadChunks ? await this.chunkedPayload(head) : (head.payload ?? ''),
        receivedAt: head.receivedAt,
      });
    }
    return records;
  }

  private async chunkedPayload(head: FailureEntity): Promise<string> {
    const suffix = head.rowKey.slice('r|'.length);
    const chunks = await this.query<Row>(
      `read the payload of failed record ${head.id}`,
      odata`PartitionKey eq ${FAILURES} and RowKey ge ${`c|${suffix}|`} and RowKey lt ${`c|${suffix}}`}`,
    );
    const bytes = Buffer.concat(chunks.flatMap((c) => readParts<Uint8Array>(c, 'bytes')));
    if (chunks.length !== head.payloadChunks || bytes.length !== head.payloadBytes)
      throw new TransientError(
        `failed record ${head.id}: found ${chunks.length} of ${head.payloadChunks} payload chunks, ${bytes.length} of ${head.payloadBytes} bytes`,
      );
    return bytes.toString(head.payloadEncoding ?? 'utf8');
  }

  /** The client belongs to the caller (one per Function App instance), so nothing is closed here. */
  async close(): Promise<void> {}

  /** Replaces the tag's state If-Match its ETag, retrying on 412; false when absent or `change` declines. */
  private async replaceState(
    operation: 'markPendingRestore' | 'clearPendingRestore',
    ref: TagRef,
    change: (state: TagState) => TagState | null,
  ): Promise<boolean> {
    const pk = tagPartition(ref);
    for (let attempt = 1; ; attempt++) {
      const row = await this.get<StateRow>(pk, STATE, `read ${formatTagRef(ref)}`);
      if (!row) return false;
      const state = toTagState(row);
      const next = change(state);
      if (!next) return false;
      const entity = stateEntity(pk, ref, { ...next, version: state.version + 1 }, row.rows);
      try {
        await this.client.updateEntity(entity, 'Replace', { etag: row.etag });
        return true;
      } catch (error) {
        const status = statusOf(error);
        if (status !== 412 && status !== 404) throw classify(error, `${operation} on ${formatTagRef(ref)}`);
        await this.conflicted({ operation, partitionKey: pk, status, attempt });
      }
    }
  }

  /** Records (idempotently) that `eventId` has effects in partition `pk`; see the layout above. */
  private async locate(eventId: string, pk: string): Promise<void> {
    await this.call(`index the effects of ${eventId}`, () =>
      this.client.upsertEntity({ partitionKey: `ev|${idPart(eventId)}`, rowKey: pk, eventId }, 'Replace'),
    );
  }

  private async partitionsOf(eventId: string): Promise<string[]> {
    const rows = await this.query<Row>(
      `find the effects of ${eventId}`,
      odata`PartitionKey eq ${`ev|${idPart(eventId)}`}`,
    );
    return rows.map((r) => r.rowKey);
  }

  /** Submits a transaction; a lost race answers with the failing operation, anything else throws. */
  private async transact(
    what: string,
    actions: TransactionAction[],
  ): Promise<{ status: number; index: number | undefined } | null> {
    try {
      await this.client.submitTransaction(actions);
      return null;
    } catch (error) {
      const status = statusOf(error);
      if (status !== 409 && status !== 412) throw classify(error, what);
      // The service prefixes the message with the index of the operation that failed ("1:The update…").
      const index = /^(\d+):/.exec(error instanceof Error ? error.message : '')?.[1];
      return { status, index: index === undefined ? undefined : Number(index) };
    }
  }

  private async conflicted(conflict: WriteConflict): Promise<void> {
    this.onConflict(conflict);
    if (conflict.attempt >= this.maxAttempts)
      throw new TransientError(
        `gave up on ${conflict.operation} in ${conflict.partitionKey} after ${conflict.attempt} conflicting writes`,
      );
    // Jittered, growing backoff: two writers that collided should not collide again in lockstep.
    await new Promise((resolve) => setTimeout(resolve, Math.random() * 10 * Math.min(conflict.attempt, 10)));
  }

  private async get<T extends object>(pk: string, rowKey: string, what: string): Promise<(T & Row) | null> {
    try {
      return (await this.client.getEntity<T>(pk, rowKey)) as T & Row;
    } catch (error) {
      if (statusOf(error) === 404) return null;
      throw classify(error, what);
    }
  }

  private async query<T extends object>(what: string, filter: string): Promise<(T & Row)[]> {
    const rows: (T & Row)[] = [];
    try {
      for await (const row of this.client.listEntities<T>({ queryOptions: { filter } }))
        rows.push(row as T & Row);
    } catch (error) {
      throw classify(error, what);
    }
    return rows;
  }

  private async call<T>(what: string, run: () => Promise<T>): Promise<T> {
    try {
      return await run();
    } catch (error) {
      throw classify(error, what);
    }
  }
}

// ---- keys ----

/** Characters Table keys reject (`/ \ # ?`) plus those our layout or OData quoting uses. */
const KEY_UNSAFE_PRINTABLE = new Set(['/', '\\', '#', '?', '%', "'", '|', '~']);

/** …and the control characters keys reject: U+0000–U+001F and U+007F–U+009F. */
function unsafeInKey(c: string): boolean {
  const code = c.charCodeAt(0);
  return code <= 0x1f || (code >= 0x7f && code <= 0x9f) || KEY_UNSAFE_PRINTABLE.has(c);
}

/**
 * Encodes user data for a PartitionKey or RowKey, reversibly: each unsafe character becomes `~XX`
 * (its code, two hex digits). `~` rather than `%`, which some Table APIs mishandle in keys; `|`
 * (our separator) and `'` (OData quoting, mishandled by Azurite in deletes) are encoded too.
 */
export function encodeKeyPart(value: string): string {
  let encoded = '';
  for (const c of value)
    encoded += unsafeInKey(c) ? `~${c.charCodeAt(0).toString(16).toUpperCase().padStart(2, '0')}` : c;
  return encoded;
}

export function decodeKeyPart(encoded: string): string {
  return encoded.replace(/~([0-9A-F]{2})/g, (_, hex: string) =>
    String.fromCharCode(Number.parseInt(hex, 16)),
  );
}

/** `~~` never occurs in an encoded part (`~` is always followed by two hex digits). */
function hashed(...parts: string[]): string {
  return `~~${createHash('sha256').update(JSON.stringify(parts)).digest('hex')}`;
}

export function tagPartition(ref: TagRef): string {
  const key = `t|${encodeKeyPart(ref.registryHost)}|${encodeKeyPart(ref.repository)}|${encodeKeyPart(ref.tag)}`;
  return key.length <= MAX_KEY_CHARS ? key : `t|${hashed(ref.registryHost, ref.repository, ref.tag)}`;
}

/** An event id as a key part; short enough to sit in `fx|<id>|<kind>` and `seen|<id>`. */
export function idPart(eventId: string): string {
  const encoded = encodeKeyPart(eventId);
  return encoded.length <= MAX_KEY_CHARS - 32 ? encoded : hashed(eventId);
}

function failureSuffix(receivedMs: number, id: number): string {
  // Inverted so that ascending RowKey order (the only order a query has) is newest first.
  const time = String(9_999_999_999_999 - Math.max(0, Math.floor(receivedMs))).padStart(13, '0');
  return `${time}|${String(MAX_FAILURE_ID - id).padStart(16, '0')}`;
}

// ---- long strings ----

/** Splits text into parts of at most `size` UTF-16 code units, never between a surrogate pair. */
export function splitText(text: string, size: number): string[] {
  const parts: string[] = [];
  let start = 0;
  while (start < text.length) {
    let end = Math.min(start + size, text.length);
    const last = text.charCodeAt(end - 1);
    if (end < text.length && last >= 0xd800 && last <= 0xdbff) end -= 1;
    parts.push(text.slice(start, end));
    start = end;
  }
  return parts.length > 0 ? parts : [''];
}

function splitBytes(bytes: Buffer, size: number): Buffer[] {
  const parts: Buffer[] = [];
  for (let start = 0; start < bytes.length; start += size) parts.push(bytes.subarray(start, start + size));
  return parts;
}

/** UTF-8 for any well-formed string (all decoded bodies are); UTF-16 keeps even lone surrogates exact. */
function payloadBytes(payload: string): { bytes: Buffer; encoding: 'utf8' | 'utf16le' } {
  // In a `u` regex a surrogate pair is one code point, so this matches only a lone surrogate.
  const encoding = /[\uD800-\uDFFF]/u.test(payload) ? 'utf16le' : 'utf8';
  return { bytes: Buffer.from(payload, encoding), encoding };
}

/** `name`, `name_1`, `name_2`…: one value spread over as many properties as it needs. */
function spread<T>(name: string, values: T[]): Record<string, T> {
  return Object.fromEntries(values.map((value, i) => [i === 0 ? name : `${name}_${i}`, value]));
}

function readParts<T>(row: object, name: string): T[] {
  const record = row as Record<string, unknown>;
  const values: T[] = [];
  for (let i = 0; record[i === 0 ? name : `${name}_${i}`] !== undefined; i++)
    values.push(record[i === 0 ? name : `${name}_${i}`] as T);
  return values;
}

function readText(row: object, name: string): string | null {
  const values = readParts<string>(row, name);
  return values.length > 0 ? values.join('') : null;
}

/** A message longer than MESSAGE_PARTS properties is cut, saying how much was left out. */
function messageParts(name: string, text: string | null): Record<string, string> {
  if (text === null) return {};
  const pieces = splitText(text, PART_CHARS);
  if (pieces.length > MESSAGE_PARTS) {
    const cut = pieces.slice(0, MESSAGE_PARTS);
    const kept = cut.reduce((n, p) => n + p.length, 0);
    const note = `… (${text.length - kept} more characters not stored)`;
    cut[MESSAGE_PARTS - 1] = `${cut[MESSAGE_PARTS - 1]!.slice(0, PART_CHARS - note.length)}${note}`;
    return spread(name, cut);
  }
  return spread(name, pieces);
}

// ---- entities ----

interface Row {
  partitionKey: string;
  rowKey: string;
  etag: string;
}

interface StateRow extends Row {
  digest?: string;
  lastDigest?: string;
  eventTime: string;
  eventId: string;
  pendingRestore?: string;
  approvedDigest?: string;
  version: number;
  rows: number;
}

interface HistoryEntity extends Row {
  seq: number;
  eventId: string;
  action: HistoryEntry['action'];
  registryHost: string;
  repository: string;
  tag: string;
  digest?: string;
  previousDigest?: string;
  transition: HistoryEntry['transition'];
  eventTime: string;
  receivedAt: string;
  actor?: string;
}

interface EffectEntity extends Row {
  key: string;
  eventId: string;
  kind: OutboxEffect['kind'];
  position: number;
  status: OutboxEffect['status'];
  attempts: number;
  nextAttemptAt: string;
  updatedAt: string;
}

interface FailureEntity extends Row {
  id: number;
  source: string;
  receivedAt: string;
  payload?: string;
  payloadChunks?: number;
  payloadBytes?: number;
  payloadEncoding?: 'utf8' | 'utf16le';
}

/** Table Storage has no null: an absent property is one. */
function present<K extends string, V>(name: K, value: V | null): { [P in K]?: V } {
  return (value === null ? {} : { [name]: value }) as { [P in K]?: V };
}

function stateEntity(pk: string, ref: TagRef, state: TagState, rows: number) {
  return {
    partitionKey: pk,
    rowKey: STATE,
    registryHost: ref.registryHost,
    repository: ref.repository,
    tag: ref.tag,
    ...present('digest', state.digest),
    ...present('lastDigest', state.lastDigest),
    eventTime: state.eventTime,
    eventId: state.eventId,
    ...present('pendingRestore', state.pendingRestore ? JSON.stringify(state.pendingRestore) : null),
    ...present('approvedDigest', state.approvedDigest),
    version: state.version,
    rows,
  };
}

function toTagState(row: StateRow): TagState {
  return {
    digest: row.digest ?? null,
    lastDigest: row.lastDigest ?? null,
    eventTime: row.eventTime,
    eventId: row.eventId,
    pendingRestore: row.pendingRestore ? (JSON.parse(row.pendingRestore) as PendingRestore) : null,
    approvedDigest: row.approvedDigest ?? null,
    version: row.version,
  };
}

function historyEntity(pk: string, entry: HistoryEntry) {
  return {
    partitionKey: pk,
    rowKey: `h|${String(entry.seq).padStart(HISTORY_DIGITS, '0')}`,
    seq: entry.seq,
    eventId: entry.eventId,
    action: entry.action,
    registryHost: entry.registryHost,
    repository: entry.repository,
    tag: entry.tag,
    ...present('digest', entry.digest),
    ...present('previousDigest', entry.previousDigest),
    transition: entry.transition,
    eventTime: entry.eventTime,
    receivedAt: entry.receivedAt,
    ...present('actor', entry.actor),
  };
}

function toHistoryEntry(row: HistoryEntity): HistoryEntry {
  return {
    seq: row.seq,
    eventId: row.eventId,
    action: row.action,
    registryHost: row.registryHost,
    repository: row.repository,
    tag: row.tag,
    digest: row.digest ?? null,
    previousDigest: row.previousDigest ?? null,
    transition: row.transition,
    eventTime: row.eventTime,
    receivedAt: row.receivedAt,
    actor: row.actor ?? null,
  };
}

function effectEntity(pk: string, effect: OutboxEffect, updatedAt: string) {
  return {
    partitionKey: pk,
    rowKey: `fx|${idPart(effect.eventId)}|${effect.kind}`,
    key: effect.key,
    eventId: effect.eventId,
    kind: effect.kind,
    position: effect.position,
    ...spread('effect', splitText(JSON.stringify(effect.effect), PART_CHARS)),
    status: effect.status,
    attempts: effect.attempts,
    nextAttemptAt: effect.nextAttemptAt,
    ...messageParts('lastError', effect.lastError),
    ...messageParts('outcome', effect.outcome),
    updatedAt,
  };
}

function toOutboxEffect(row: EffectEntity): OutboxEffect {
  return {
    key: row.key,
    eventId: row.eventId,
    kind: row.kind,
    position: row.position,
    effect: JSON.parse(readText(row, 'effect') ?? 'null') as Effect,
    status: row.status,
    attempts: row.attempts,
    nextAttemptAt: row.nextAttemptAt,
    lastError: readText(row, 'lastError'),
    outcome: readText(row, 'outcome'),
  };
}

/** The port's effect update rules, as the other stores apply them: `waiting` is no attempt. */
function applyUpdate(effect: OutboxEffect, update: EffectUpdate): OutboxEffect {
  switch (update.status) {
    case 'waiting':
      return { ...effect, nextAttemptAt: update.nextAttemptAt };
    case 'pending':
      return {
        ...effect,
        status: 'pending',
        attempts: effect.attempts + 1,
        lastError: update.error,
        nextAttemptAt: update.nextAttemptAt,
      };
    case 'done':
      return { ...effect, status: 'done', attempts: effect.attempts + 1, outcome: update.outcome };
    case 'failed':
      return { ...effect, status: 'failed', attempts: effect.attempts + 1, lastError: update.error };
  }
}

// ---- errors ----

function statusOf(error: unknown): number | undefined {
  return error instanceof RestError ? error.statusCode : undefined;
}

/**
 * SDK errors as the rest of Tagwarden classifies them: 5xx, 429, 408 and no answer at all
 * (connection refused, timeout) are transient; any other 4xx is permanent, with the service's reason.
 */
export function classify(error: unknown, what: string): Error {
  if (error instanceof TransientError || error instanceof PermanentError) return error;
  if (error instanceof RestError) {
    const status = error.statusCode;
    const detail =
      `${what}: Table Storage answered ${status ?? error.code ?? 'nothing'} ${serviceReason(error)}`.trim();
    if (status === undefined || status >= 500 || status === 429 || status === 408)
      return new TransientError(detail, retryAfterMs(error));
    return new PermanentError(detail);
  }
  // Anything unclassified (an abort, a socket error) counts as transient: nothing is dropped on a surprise.
  return new TransientError(`${what}: ${errorMessage(error)}`);
}

/** The `odata.error` code and message, without the request id and time the service appends. */
function serviceReason(error: RestError): string {
  let code = error.code;
  let message = error.message;
  try {
    const body = JSON.parse(error.message) as {
      'odata.error'?: { code?: string; message?: { value?: string } };
    };
    code = body['odata.error']?.code ?? code;
    message = body['odata.error']?.message?.value ?? message;
  } catch {
    // Not JSON: the SDK already extracted the message (transactions do).
  }
  const reason = message.split('\n')[0]!.replace(/^\d+:/, '');
  return code && !reason.includes(code) ? `${code}: ${reason}` : reason;
}

function retryAfterMs(error: RestError): number | null {
  const header = error.response?.headers.get('retry-after');
  if (!header) return null;
  const seconds = Number(header);
  if (Number.isFinite(seconds)) return seconds * 1000;
  const date = Date.parse(header);
  return Number.isNaN(date) ? null : Math.max(0, date - Date.now());
}
