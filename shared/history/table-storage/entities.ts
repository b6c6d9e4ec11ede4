import type {
  AttemptGroup,
  Effect,
  HistoryEntry,
  OutboxEffect,
  PendingRestore,
  TagRef,
  TagState,
} from '../../core';
import type { EffectUpdate } from '../port';
import { idPart, STATE } from './keys';

/** A string property holds at most 32K UTF-16 code units (64 KB); keep clear of the edge. */
const PART_CHARS = 30_000;
/** A binary property holds at most 64 KiB. */
export const PART_BYTES = 60_000;
/** Parts of a payload chunk row: 12 × 60 KB stays well under the 1 MB entity limit. */
export const CHUNK_PARTS = 12;
/** Payloads up to this size stay readable text in the record row; larger ones go to chunk rows. */
export const INLINE_PAYLOAD_BYTES = 16 * 1024;
/** Error texts and outcomes are messages, not payloads: past this many parts they are cut, visibly. */
const MESSAGE_PARTS = 4;
const HISTORY_DIGITS = 12;

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

export function splitBytes(bytes: Buffer, size: number): Buffer[] {
  const parts: Buffer[] = [];
  for (let start = 0; start < bytes.length; start += size) parts.push(bytes.subarray(start, start + size));
  return parts;
}

/** UTF-8 for any well-formed string (all decoded bodies are); UTF-16 keeps even lone surrogates exact. */
export function payloadBytes(payload: string): { bytes: Buffer; encoding: 'utf8' | 'utf16le' } {
  // In a `u` regex a surrogate pair is one code point, so this matches only a lone surrogate.
  const encoding = /[\uD800-\uDFFF]/u.test(payload) ? 'utf16le' : 'utf8';
  return { bytes: Buffer.from(payload, encoding), encoding };
}

/** `name`, `name_1`, `name_2`…: one value spread over as many properties as it needs. */
export function spread<T>(name: string, values: T[]): Record<string, T> {
  return Object.fromEntries(values.map((value, i) => [i === 0 ? name : `${name}_${i}`, value]));
}

export function readParts<T>(row: object, name: string): T[] {
  const record = row as Record<string, unknown>;
  const values: T[] = [];
  for (let i = 0; record[i === 0 ? name : `${name}_${i}`] !== undefined; i++)
    values.push(record[i === 0 ? name : `${name}_${i}`] as T);
  return values;
}

export function readText(row: object, name: string): string | null {
  const values = readParts<string>(row, name);
  return values.length > 0 ? values.join('') : null;
}

/** A message longer than MESSAGE_PARTS properties is cut, saying how much was left out. */
export function messageParts(name: string, text: string | null): Record<string, string> {
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

export interface Row {
  partitionKey: string;
  rowKey: string;
  etag: string;
}

export interface StateRow extends Row {
  digest?: string;
  lastDigest?: string;
  eventTime: string;
  eventId: string;
  pendingRestore?: string;
  approvedDigest?: string;
  /** The tag's newest attempt group, as JSON. */
  lastAttempt?: string;
  version: number;
  rows: number;
}

export interface HistoryEntity extends Row {
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

export interface EffectEntity extends Row {
  key: string;
  eventId: string;
  kind: OutboxEffect['kind'];
  position: number;
  status: OutboxEffect['status'];
  attempts: number;
  nextAttemptAt: string;
  updatedAt: string;
}

export interface FailureEntity extends Row {
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

export function stateEntity(pk: string, ref: TagRef, state: TagState, rows: number) {
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
    ...present('lastAttempt', state.lastAttempt ? JSON.stringify(state.lastAttempt) : null),
    version: state.version,
    rows,
  };
}

export function toTagState(row: StateRow): TagState {
  return {
    digest: row.digest ?? null,
    lastDigest: row.lastDigest ?? null,
    eventTime: row.eventTime,
    eventId: row.eventId,
    pendingRestore: row.pendingRestore ? (JSON.parse(row.pendingRestore) as PendingRestore) : null,
    approvedDigest: row.approvedDigest ?? null,
    version: row.version,
    ...(row.lastAttempt ? { lastAttempt: JSON.parse(row.lastAttempt) as AttemptGroup } : {}),
  };
}

export function historyEntity(pk: string, entry: HistoryEntry) {
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

export function toHistoryEntry(row: HistoryEntity): HistoryEntry {
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

export function effectEntity(pk: string, effect: OutboxEffect, updatedAt: string) {
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

export function toOutboxEffect(row: EffectEntity): OutboxEffect {
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
export function applyUpdate(effect: OutboxEffect, update: EffectUpdate): OutboxEffect {
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
