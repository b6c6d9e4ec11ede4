import * as z from 'zod/mini';
import { normalizeTimestamp, quote } from '../core';
import '../zod-english';
import {
  identifierProblem,
  ignored,
  issuesReason,
  nonEmpty,
  optionalString,
  rejected,
  splitImageReference,
} from './common';
import { jsonDepth, MAX_JSON_DEPTH } from './json-body';
import { defineSource, envelopeOf, notThisSource, TOKEN_IN_QUERY } from './source';
import type { ItemOutcome } from './types';
import { digestDeleteOutcome, isRecord, validatedEvent } from './validate';

/**
 * Google Artifact Registry notifications (topic `gcr`) delivered by a Pub/Sub push subscription:
 * `{message: {data: <base64 of JSON>, messageId, message_id, publishTime, publish_time, attributes?},
 * subscription}`. The decoded data is `{action: "INSERT"|"DELETE", digest: "<host>/<path>@sha256:…",
 * tag?: "<host>/<path>:<tag>"}`. One event per message; the id is the Pub/Sub message id (Pub/Sub
 * redelivers with the same id). The Pub/Sub envelope (message id, publish time) is checked before the
 * message is classified: without them the body is not a Pub/Sub push and is refused whole. An INSERT
 * without a tag (digest only) is ignored; a DELETE without a tag (an image deleted by digest) is
 * parsed as a DigestDelete and ignored until it can be recorded.
 */

/** Decoded notification data larger than this is rejected without parsing. */
export const MAX_GAR_DATA_BYTES = 64 * 1024;

export const PubSubMessage = z.looseObject({
  data: optionalString,
  messageId: optionalString,
  message_id: optionalString,
  publishTime: optionalString,
  publish_time: optionalString,
});

export const PubSubPushEnvelope = z.looseObject({
  message: PubSubMessage,
  subscription: optionalString,
});

export const GarNotification = z.looseObject({
  action: z.string(),
  digest: optionalString,
  tag: optionalString,
});

const ACTIONS: ReadonlyMap<string, 'push' | 'delete'> = new Map([
  ['INSERT', 'push'],
  ['DELETE', 'delete'],
]);

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

const ENVELOPE_EXPECTED = '(expected {"message": {"data", "messageId", "publishTime"}, "subscription"})';

/** A Pub/Sub push message read: its id and publish time checked before the message is classified. */
interface PubSubPush {
  message: z.infer<typeof PubSubMessage>;
  id: string;
  timestamp: string;
}

export const garParser = defineSource<PubSubPush>({
  name: 'gar',
  format: 'Pub/Sub',
  auth: TOKEN_IN_QUERY,
  envelope(body) {
    const parsed = PubSubPushEnvelope.safeParse(body);
    if (!parsed.success) {
      return notThisSource(`not a Pub/Sub push message: ${issuesReason(parsed.error)} ${ENVELOPE_EXPECTED}`);
    }
    const { message } = parsed.data;
    const id = nonEmpty(message.messageId) ?? nonEmpty(message.message_id);
    if (id === null)
      return notThisSource(`not a Pub/Sub push message: message.messageId is missing ${ENVELOPE_EXPECTED}`);
    const publishTime = nonEmpty(message.publishTime) ?? nonEmpty(message.publish_time);
    if (publishTime === null) {
      return notThisSource(`not a Pub/Sub push message: message.publishTime is missing ${ENVELOPE_EXPECTED}`);
    }
    const timestamp = normalizeTimestamp(publishTime);
    if (timestamp === null) {
      return notThisSource(
        `not a Pub/Sub push message: message.publishTime ${quote(publishTime)} is not an RFC 3339 time`,
      );
    }
    return envelopeOf({ message, id, timestamp });
  },
  items: (push) => [judgeMessage(push)],
});

function judgeMessage({ message, id, timestamp }: PubSubPush): ItemOutcome {
  const decoded = decodeData(message.data);
  if (!decoded.ok) return rejected(decoded.reason);
  const parsed = GarNotification.safeParse(decoded.value);
  if (!parsed.success) {
    return rejected(
      `message.data is not an Artifact Registry notification: ${issuesReason(parsed.error)} (expected {"action", "digest", "tag"})`,
    );
  }
  const notification = parsed.data;
  const action = ACTIONS.get(notification.action);
  if (action === undefined) {
    return ignored(`action ${quote(notification.action)} ignored: not INSERT or DELETE`);
  }

  const digestRef = nonEmpty(notification.digest);
  const tagRef = nonEmpty(notification.tag);
  if (digestRef === null && tagRef === null)
    return rejected('data.digest is missing (and there is no data.tag)');
  if (digestRef === null && action === 'push') return rejected('data.digest is missing on an INSERT');

  const fromDigest = digestRef === null ? null : splitImageReference(digestRef);
  if (digestRef !== null) {
    if (fromDigest === null) return rejected(`data.digest ${quote(digestRef)} names no registry host`);
    if (fromDigest.digest === null) return rejected(`data.digest ${quote(digestRef)} has no @digest`);
  }
  const fromTag = tagRef === null ? null : splitImageReference(tagRef);
  if (tagRef !== null) {
    if (fromTag === null) return rejected(`data.tag ${quote(tagRef)} names no registry host`);
    if (fromTag.digest !== null || !fromTag.tag) {
      return rejected(`data.tag ${quote(tagRef)} is not a <host>/<repository>:<tag> reference`);
    }
  }
  if (fromDigest !== null && fromTag !== null) {
    if (fromDigest.host !== fromTag.host || fromDigest.path !== fromTag.path) {
      return rejected(
        `data.tag ${quote(tagRef ?? '')} and data.digest ${quote(digestRef ?? '')} name different repositories`,
      );
    }
  }
  // One of the two is present (checked above); they agree on host and path when both are.
  const reference = (fromDigest ?? fromTag)!;
  const digest = fromDigest?.digest ?? null;
  const tag = nonEmpty(fromTag?.tag);
  const repository = reference.path;

  // Malformed identifiers are rejected even where the item would otherwise be ignored.
  const problem = identifierProblem(
    { digest, repository, tag },
    {
      digest: 'data.digest',
      repository: fromDigest ? 'data.digest repository' : 'data.tag repository',
      tag: 'data.tag',
    },
  );
  if (problem) return rejected(problem);
  const common = { id, registryHost: reference.host, repository, timestamp, actor: null };
  if (tag === null) {
    // A DELETE naming only a digest deletes the image: every tag serving it is gone.
    return action === 'push' || digest === null
      ? ignored('digest-only INSERT (no data.tag) is not a tag event')
      : digestDeleteOutcome({ ...common, digest });
  }
  return validatedEvent({ ...common, action, tag, digest, mediaType: null });
}

type Decoded = { ok: true; value: unknown } | { ok: false; reason: string };

/** message.data: base64 → UTF-8 → JSON, each step bounded; no node: APIs (atob and TextDecoder are global). */
function decodeData(data: string | null | undefined): Decoded {
  if (data === undefined || data === null || data === '') {
    return {
      ok: false,
      reason: 'message.data is missing: an Artifact Registry notification carries its JSON there',
    };
  }
  // 4 base64 characters carry 3 bytes: reject an oversized payload before decoding it.
  if (data.length > Math.ceil(MAX_GAR_DATA_BYTES / 3) * 4) {
    return { ok: false, reason: `message.data decodes to more than ${MAX_GAR_DATA_BYTES} bytes` };
  }
  if (!BASE64.test(data)) return { ok: false, reason: 'message.data is not valid base64' };
  let binary: string;
  try {
    binary = atob(data);
  } catch {
    return { ok: false, reason: 'message.data is not valid base64' };
  }
  if (binary.length > MAX_GAR_DATA_BYTES) {
    return { ok: false, reason: `message.data decodes to more than ${MAX_GAR_DATA_BYTES} bytes` };
  }
  const bytes = Uint8Array.from(binary, (c) => c.charCodeAt(0));
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    return { ok: false, reason: 'message.data is not UTF-8 text' };
  }
  if (jsonDepth(text) > MAX_JSON_DEPTH) {
    return { ok: false, reason: `message.data JSON nests deeper than ${MAX_JSON_DEPTH} levels` };
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return {
      ok: false,
      reason: `message.data is not JSON (decoded text starts ${quote(text.slice(0, 40))})`,
    };
  }
  if (!isRecord(value)) return { ok: false, reason: 'message.data is JSON but not an object' };
  return { ok: true, value };
}
