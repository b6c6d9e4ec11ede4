import * as z from 'zod/mini';
import { normalizeTimestamp, quote } from '../core';
import '../zod-english';
import {
  identifierProblem,
  ignored,
  issuesReason,
  nonEmpty,
  optionalString,
  prefixed,
  rejected,
} from './common';
import { CLOUDTRAIL_DETAIL_TYPE, ecrRegistryHost, judgeCloudTrailCall } from './ecr-cloudtrail';
import { jsonDepth, MAX_JSON_DEPTH } from './json-body';
import { BEARER_TOKEN, defineSource, envelopeOf, notThisSource } from './source';
import type { ItemOutcome } from './types';
import { digestDeleteOutcome, isRecord, validatedEvent } from './validate';

/**
 * Amazon ECR via EventBridge ("ECR Image Action", schema aws.ecr@ECRImageAction, and refused pushes
 * from "AWS API Call via CloudTrail", see ./ecr-cloudtrail). The body is one
 * EventBridge event, a JSON array of them, or a Lambda SQS event whose records each carry one
 * EventBridge event as a JSON string in `body`.
 */

export const EcrImageActionDetail = z.looseObject({
  result: optionalString,
  'repository-name': z.string(),
  'image-digest': optionalString,
  'action-type': z.string(),
  'image-tag': optionalString,
  'manifest-media-type': optionalString,
  'artifact-media-type': optionalString,
});

export const EcrImageActionEvent = z.looseObject({
  id: z.string(),
  'detail-type': z.string(),
  source: z.string(),
  account: z.string(),
  time: z.string(),
  region: z.string(),
  detail: EcrImageActionDetail,
});

/** The Lambda SQS record shape, reduced to what we read. */
export const SqsRecord = z.looseObject({ messageId: optionalString, body: z.string() });

/** SQS caps a message at 256 KiB; a record body larger than that did not come from SQS. */
export const MAX_SQS_BODY_BYTES = 256 * 1024;

const ACTIONS: Readonly<Record<string, 'push' | 'delete'>> = { PUSH: 'push', DELETE: 'delete' };

/** The three shapes an ECR body comes in, each with its own way to its events. */
type EcrEnvelope =
  | { kind: 'events'; events: unknown[] }
  | { kind: 'sqs'; records: unknown[] }
  | { kind: 'event'; event: Record<string, unknown> };

export const ecrParser = defineSource<EcrEnvelope>({
  name: 'ecr',
  format: 'ECR',
  auth: BEARER_TOKEN,
  envelope(body) {
    if (Array.isArray(body)) {
      if (body.length === 0) return notThisSource('not an array of EventBridge events: the array is empty');
      const stray = body.findIndex((event) => !isEventBridgeEvent(event));
      if (stray !== -1) {
        return notThisSource(
          `not an array of EventBridge events: [${stray}] is not an object with source and detail-type strings`,
        );
      }
      return envelopeOf({ kind: 'events', events: body });
    }
    if (!isRecord(body)) {
      return notThisSource(
        'not an EventBridge event, an array of them, or an SQS event: body is not an object',
      );
    }
    if ('Records' in body) {
      const records = body.Records;
      if (!Array.isArray(records)) return notThisSource('not an SQS event: Records is not an array');
      return envelopeOf({ kind: 'sqs', records });
    }
    if (!isEventBridgeEvent(body)) {
      return notThisSource(
        'not an EventBridge event (source and detail-type must be strings) nor an SQS event (no Records)',
      );
    }
    return envelopeOf({ kind: 'event', event: body });
  },
  items(envelope) {
    if (envelope.kind === 'events')
      return envelope.events.map((item, i) => prefixed(`[${i}]`, judgeEvent(item)));
    if (envelope.kind === 'sqs') {
      return envelope.records.map((record, i) => prefixed(`Records[${i}]`, judgeSqsRecord(record)));
    }
    return [judgeEvent(envelope.event)];
  },
});

function judgeSqsRecord(record: unknown): ItemOutcome {
  if (!isRecord(record)) return rejected('is not an object');
  const parsed = SqsRecord.safeParse(record);
  if (!parsed.success) return rejected(issuesReason(parsed.error));
  const text = parsed.data.body;
  const bytes = utf8Length(text, MAX_SQS_BODY_BYTES);
  if (bytes > MAX_SQS_BODY_BYTES) {
    return rejected(`body is larger than ${MAX_SQS_BODY_BYTES} bytes, the SQS message limit`);
  }
  if (jsonDepth(text) > MAX_JSON_DEPTH)
    return rejected(`body JSON nests deeper than ${MAX_JSON_DEPTH} levels`);
  let event: unknown;
  try {
    event = JSON.parse(text);
  } catch (error) {
    return rejected(`body is not valid JSON: ${error instanceof Error ? error.message : String(error)}`);
  }
  return prefixed('body', judgeEvent(event));
}

/** The EventBridge envelope: what every event on a bus carries, whichever service sent it. */
function isEventBridgeEvent(value: unknown): value is Record<string, unknown> {
  return isRecord(value) && typeof value.source === 'string' && typeof value['detail-type'] === 'string';
}

function judgeEvent(item: unknown): ItemOutcome {
  if (!isRecord(item)) return rejected('is not an EventBridge event object');
  const { source, 'detail-type': detailType } = item;
  if (typeof source !== 'string') return rejected('source is missing or not a string');
  if (typeof detailType !== 'string') return rejected('detail-type is missing or not a string');
  if (source !== 'aws.ecr') return ignored(`source ${quote(source)} is not aws.ecr`);
  if (detailType === CLOUDTRAIL_DETAIL_TYPE) return judgeCloudTrailCall(item);
  if (detailType !== 'ECR Image Action') {
    return ignored(`detail-type ${quote(detailType)} is not "ECR Image Action"`);
  }

  const parsed = EcrImageActionEvent.safeParse(item);
  if (!parsed.success) return rejected(issuesReason(parsed.error));
  const event = parsed.data;
  const detail = event.detail;

  const result = detail.result ?? '';
  if (result !== 'SUCCESS') return ignored(`detail.result ${quote(result)} is not SUCCESS`);
  const actionType = detail['action-type'];
  const action = Object.hasOwn(ACTIONS, actionType) ? ACTIONS[actionType] : undefined;
  if (action === undefined) return ignored(`detail.action-type ${quote(actionType)} is not PUSH or DELETE`);

  const repository = detail['repository-name'];
  const tag = nonEmpty(detail['image-tag']);
  const digest = nonEmpty(detail['image-digest']);

  // Malformed identifiers are rejected even where the item would otherwise be ignored.
  const problem = identifierProblem(
    { digest, repository, tag },
    { digest: 'detail.image-digest', repository: 'detail.repository-name', tag: 'detail.image-tag' },
  );
  if (problem) return rejected(problem);

  if (tag === null && action === 'push')
    return ignored('digest-only push (no detail.image-tag), not a tag event');
  if (digest === null && action === 'push') return rejected('detail.image-digest is missing on a PUSH');

  const registry = ecrRegistryHost(event.account, event.region);
  if ('problem' in registry) return rejected(registry.problem);

  const timestamp = normalizeTimestamp(event.time);
  if (timestamp === null) return rejected(`time ${quote(event.time)} is not an RFC 3339 time`);

  const common = { id: event.id, registryHost: registry.host, repository, timestamp, actor: null };
  // An image deleted by digest (`batch-delete-image --image-ids imageDigest=…`) takes every tag that
  // served it: recorded against the tags history says serve it, as distribution's manifest delete.
  if (tag === null)
    return digest === null
      ? ignored('delete without detail.image-tag or detail.image-digest names no image')
      : digestDeleteOutcome({ ...common, digest });
  return validatedEvent({
    ...common,
    action,
    tag,
    digest,
    mediaType: nonEmpty(detail['manifest-media-type']),
  });
}

/** UTF-8 byte length of a string, counting no further than just past `limit`. */
function utf8Length(text: string, limit: number): number {
  if (text.length > limit) return text.length; // every UTF-16 unit is at least one byte
  let bytes = 0;
  for (let i = 0; i < text.length && bytes <= limit; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x80) bytes += 1;
    else if (c < 0x800) bytes += 2;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < text.length) {
      const next = text.charCodeAt(i + 1);
      if (next >= 0xdc00 && next <= 0xdfff) {
        bytes += 4;
        i++;
      } else bytes += 3;
    } else bytes += 3;
  }
  return bytes;
}
