import { digestProblem, hostProblem, type RegistryEvent, repositoryProblem } from '../core';
// The files themselves, not the sources barrel: its parser registry would bundle every registry's
// parser into the consumer and the sweep, which read only this envelope and ECR's events.
import { splitItems } from '../sources/delivery';
import { ecrParser } from '../sources/ecr';
import { namespacedEvent } from '../sources/id-namespace';
import { parseJsonBody } from '../sources/json-body';
import { parseNormalizedEvent } from '../sources/normalized';
import type { DigestDelete } from '../sources/types';
import { isRecord } from '../sources/validate';

/**
 * The AWS queue's own envelope (not a registry's wire format). What the webhook function queues: the normalized events of one webhook body (small, whatever the
 * body's size; SQS takes 256 KiB at most), with the items it rejected kept for the failure record.
 * The same queue also receives EventBridge "ECR Image Action" events directly.
 */
export interface WebhookMessage {
  kind: 'tagwarden-events';
  source: string;
  receivedAt: string;
  events: RegistryEvent[];
  rejected: string[];
  /** Manifests deleted by digest (namespaced like the events); absent from messages of older versions. */
  digestDeletes?: DigestDelete[];
}

export type DecodedRecord =
  | {
      ok: true;
      source: string;
      receivedAt: string | null;
      events: RegistryEvent[];
      rejected: string[];
      ignored: string[];
      /** To be recorded against the tags history says serve the digest (`recordDigestDeletes`). */
      digestDeletes: DigestDelete[];
    }
  | { ok: false; reason: string };

const MAX_MESSAGE_BYTES = 256 * 1024;

/** Splits a body's events into messages that each fit in SQS. */
export function webhookMessages(
  source: string,
  receivedAt: string,
  events: RegistryEvent[],
  rejected: string[],
  digestDeletes: DigestDelete[] = [],
): string[] {
  const messages: string[] = [];
  let batch: RegistryEvent[] = [];
  let pendingRejected = rejected;
  // Small (a few hundred bytes each, a body carries few): they travel with the first message.
  let pendingDeletes = digestDeletes;
  const flush = () => {
    const message: WebhookMessage = {
      kind: 'tagwarden-events',
      source,
      receivedAt,
      events: batch,
      rejected: pendingRejected,
      ...(pendingDeletes.length > 0 ? { digestDeletes: pendingDeletes } : {}),
    };
    messages.push(JSON.stringify(message));
    batch = [];
    pendingRejected = [];
    pendingDeletes = [];
  };
  for (const event of events) {
    batch.push(event);
    if (Buffer.byteLength(JSON.stringify(batch)) > MAX_MESSAGE_BYTES * 0.8) {
      batch.pop();
      flush();
      batch.push(event);
    }
  }
  if (batch.length > 0 || pendingRejected.length > 0 || pendingDeletes.length > 0 || messages.length === 0)
    flush();
  return messages;
}

/** Reads one SQS record body: an EventBridge ECR event, or a message from the webhook function. */
export function decodeRecord(body: string): DecodedRecord {
  const json = parseJsonBody(body);
  if (!json.ok) return { ok: false, reason: json.reason };
  const value = json.value;
  if (isRecord(value) && value.kind === 'tagwarden-events') {
    if (
      typeof value.source !== 'string' ||
      typeof value.receivedAt !== 'string' ||
      !Array.isArray(value.events)
    ) {
      return { ok: false, reason: 'a tagwarden-events message needs source, receivedAt and events' };
    }
    const events: RegistryEvent[] = [];
    const rejected = Array.isArray(value.rejected)
      ? value.rejected.filter((r): r is string => typeof r === 'string')
      : [];
    for (const [i, item] of value.events.entries()) {
      const parsed = parseNormalizedEvent(item, { allowMissingDigest: true });
      if ('problem' in parsed) rejected.push(`events[${i}]: ${parsed.problem}`);
      // The webhook function queued them namespaced; one queued by an older version gets it here.
      else events.push(namespacedEvent(value.source, parsed.event));
    }
    const digestDeletes: DigestDelete[] = [];
    for (const [i, item] of (Array.isArray(value.digestDeletes) ? value.digestDeletes : []).entries()) {
      const parsed = parseDigestDelete(item);
      if (typeof parsed === 'string') rejected.push(`digestDeletes[${i}]: ${parsed}`);
      else digestDeletes.push(namespacedEvent(value.source, parsed));
    }
    const { source, receivedAt } = value;
    return { ok: true, source, receivedAt, events, rejected, ignored: [], digestDeletes };
  }
  const parsed = ecrParser.parse(value);
  if (!parsed.ok) return { ok: false, reason: parsed.reason };
  const split = splitItems(parsed.items);
  const events = split.events.map((event) => namespacedEvent('ecr', event));
  const digestDeletes = split.digestDeletes.map((deleted) => namespacedEvent('ecr', deleted));
  return { ok: true, source: 'ecr', receivedAt: null, ...split, events, digestDeletes };
}

/** A queued manifest delete by digest, checked like a queued event; a string says what is wrong. */
function parseDigestDelete(item: unknown): DigestDelete | string {
  if (!isRecord(item)) return 'not an object';
  const { id, registryHost, repository, digest, timestamp, actor } = item;
  const strings = { id, registryHost, repository, digest };
  const missing = Object.entries(strings).find(([, v]) => typeof v !== 'string' || v === '');
  if (missing) return `${missing[0]} must be a non-empty string`;
  const problem =
    hostProblem(registryHost as string) ??
    repositoryProblem(repository as string) ??
    digestProblem(digest as string);
  if (problem) return problem;
  if (timestamp !== null && (typeof timestamp !== 'string' || Number.isNaN(Date.parse(timestamp))))
    return 'timestamp must be an ISO-8601 time or null';
  if (actor !== null && typeof actor !== 'string') return 'actor must be a string or null';
  return { ...(strings as Record<keyof typeof strings, string>), timestamp, actor };
}

/**
 * The messages of a dead-letter-queue export: `aws sqs receive-message` output (`{"Messages": [{"Body"}]}`)
 * or an SQS event (`{"Records": [{"body"}]}`). Null when the text is neither.
 */
export function queueExportBodies(value: unknown): string[] | null {
  if (!isRecord(value)) return null;
  const list = Array.isArray(value.Messages)
    ? value.Messages
    : Array.isArray(value.Records)
      ? value.Records
      : null;
  if (!list) return null;
  return list.map((m) =>
    isRecord(m) && typeof (m.Body ?? m.body) === 'string' ? String(m.Body ?? m.body) : '',
  );
}
