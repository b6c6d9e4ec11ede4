import { createHash } from 'node:crypto';
import type { TagRef } from '../../core';

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
 *   d|<host>|<repository>|<digest>  <tag>                          digest index: the tag serves or approved the digest (or did once)
 *   failures                        r|<inverted time>|<inverted id> a failed record (newest first); c|…|<n> rows hold a large payload
 *
 * `<…>` parts are user data, encoded by `encodeKeyPart` (keys reject `/ \ # ?` and control
 * characters); a part too long for a key (512 characters) is replaced by `~~<sha256>`, which no
 * encoded part can equal. The locator is written before the transaction that creates the effects
 * (an upsert, so retries are harmless): every effect row has one, and a locator whose transaction
 * lost points at a partition without rows for that event, which reads as nothing.
 *
 * The digest index entry cannot commit with the tag's state (another partition): it is upserted
 * before the transaction that makes the state name the digest, and the state is re-read when the
 * index is asked (see `shared/history/digest-index.ts`).
 *
 * Duplicates are detected per tag: the seen row shares the tag's partition so that it commits with
 * the transition. Source event ids name one tag's event, so that is the same as global detection.
 */
export const STATE = 'state';
export const FAILURES = 'failures';
const MAX_KEY_CHARS = 512;
/** Failed-record ids are clock milliseconds × 1000 + a random tie-breaker: below 2^53 until the year 2255. */
const MAX_FAILURE_ID = 9_000_000_000_000_000;

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

export function digestPartition(registryHost: string, repository: string, digest: string): string {
  const key = `d|${encodeKeyPart(registryHost)}|${encodeKeyPart(repository)}|${encodeKeyPart(digest)}`;
  return key.length <= MAX_KEY_CHARS ? key : `d|${hashed(registryHost, repository, digest)}`;
}

/** An event id as a key part; short enough to sit in `fx|<id>|<kind>` and `seen|<id>`. */
export function idPart(eventId: string): string {
  const encoded = encodeKeyPart(eventId);
  return encoded.length <= MAX_KEY_CHARS - 32 ? encoded : hashed(eventId);
}

export function failureSuffix(receivedMs: number, id: number): string {
  // Inverted so that ascending RowKey order (the only order a query has) is newest first.
  const time = String(9_999_999_999_999 - Math.max(0, Math.floor(receivedMs))).padStart(13, '0');
  return `${time}|${String(MAX_FAILURE_ID - id).padStart(16, '0')}`;
}
