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
import { defineSource, envelopeOf, notThisSource, TOKEN_IN_QUERY } from './source';
import type { ItemOutcome, ParseResult, SourceRequest } from './types';
import { digestDeleteOutcome, isRecord, validatedEvent } from './validate';

/**
 * Azure Container Registry through Event Grid: `Microsoft.ContainerRegistry.ImagePushed` and
 * `ImageDeleted`, in the Event Grid schema (`eventType`, `eventTime`) or CloudEvents 1.0 (`type`,
 * `time`), one event or an array of them. The subscription-validation handshake is answered with
 * `validationResponse`; the CloudEvents OPTIONS handshake by `preflight`.
 */

const PUSHED = 'Microsoft.ContainerRegistry.ImagePushed';
const DELETED = 'Microsoft.ContainerRegistry.ImageDeleted';
const VALIDATION = 'Microsoft.EventGrid.SubscriptionValidationEvent';
const IGNORED_TYPES: Readonly<Record<string, string>> = {
  'Microsoft.ContainerRegistry.ChartPushed': 'Helm chart events are not tracked',
  'Microsoft.ContainerRegistry.ChartDeleted': 'Helm chart events are not tracked',
  'Microsoft.EventGrid.SubscriptionDeletedEvent': 'the Event Grid subscription was deleted',
};
const MAX_BATCH = 5000;

export const AcrEventGridData = z.looseObject({
  id: optionalString,
  timestamp: optionalString,
  action: optionalString,
  target: z.looseObject({
    mediaType: optionalString,
    digest: optionalString,
    repository: optionalString,
    tag: optionalString,
  }),
  request: z.nullish(z.looseObject({ host: optionalString })),
  actor: z.nullish(z.looseObject({ name: optionalString })),
});

export const AcrEventGridEvent = z.looseObject({
  id: z.string().check(z.minLength(1)),
  data: AcrEventGridData,
});

export const acrEventgridParser = defineSource({
  name: 'acr-eventgrid',
  format: 'Event Grid',
  auth: TOKEN_IN_QUERY,
  envelope(body) {
    const batch = Array.isArray(body);
    const events: unknown[] = batch ? body : [body];
    if (events.length === 0) return notThisSource('not an Event Grid delivery: the array is empty');
    if (events.length > MAX_BATCH)
      return notThisSource(`an Event Grid batch holds at most ${MAX_BATCH} events`);
    if (!events.every(isEvent)) {
      return notThisSource(
        'not an Event Grid delivery: expected events with eventType (Event Grid schema) or type and specversion (CloudEvents)',
      );
    }
    return envelopeOf({ batch, events });
  },
  handshake({ events }) {
    const validation = events.find((e) => typeOf(e) === VALIDATION);
    return validation ? validationReply(validation) : null;
  },
  items: ({ batch, events }) =>
    events.map((event, i) => {
      const outcome = judge(event);
      return batch ? prefixed(`[${i}]`, outcome) : outcome;
    }),
  preflight: cloudEventsValidationHeaders,
});

/** The CloudEvents webhook handshake (an HTTP OPTIONS): allow the origin that asked, if it is a host name. */
export function cloudEventsValidationHeaders(request: SourceRequest): Record<string, string> | null {
  const origin = request.headers['webhook-request-origin']?.trim();
  if (!origin || origin.length > 253 || !/^[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?$/.test(origin))
    return null;
  return { 'WebHook-Allowed-Origin': origin, 'WebHook-Allowed-Rate': '120' };
}

/** An event in either schema: Event Grid's `eventType`, or a CloudEvent's `type` with its `specversion`. */
function isEvent(event: unknown): event is Record<string, unknown> {
  if (!isRecord(event)) return false;
  if (typeof event.eventType === 'string') return true;
  return typeof event.type === 'string' && typeof event.specversion === 'string';
}

function typeOf(event: unknown): unknown {
  return isRecord(event) ? (event.eventType ?? event.type) : undefined;
}

function validationReply(event: Record<string, unknown>): ParseResult {
  const data = isRecord(event.data) ? event.data : {};
  const code = data.validationCode;
  if (typeof code !== 'string' || code.length === 0 || code.length > 128 || !/^[\x21-\x7e]+$/.test(code)) {
    return {
      ok: false,
      reason: 'subscription validation: data.validationCode must be 1 to 128 printable ASCII characters',
    };
  }
  return {
    ok: true,
    items: [ignored('Event Grid subscription validation handshake')],
    reply: { status: 200, body: { validationResponse: code } },
  };
}

function judge(item: Record<string, unknown>): ItemOutcome {
  const type = String(typeOf(item));
  if (type !== PUSHED && type !== DELETED) {
    return ignored(
      `event type ${quote(type)} ignored: ${IGNORED_TYPES[type] ?? 'not an image push or delete'}`,
    );
  }
  const parsed = AcrEventGridEvent.safeParse(item);
  if (!parsed.success) return rejected(issuesReason(parsed.error));
  const { data } = parsed.data;
  const tag = nonEmpty(data.target.tag);
  const digest = nonEmpty(data.target.digest);
  const repository = data.target.repository ?? '';
  const problem = identifierProblem(
    { digest, repository, tag },
    { digest: 'data.target.digest', repository: 'data.target.repository', tag: 'data.target.tag' },
  );
  if (problem) return rejected(problem);
  const push = type === PUSHED;
  if (tag === null && push) return ignored('digest-only push (no data.target.tag), not a tag event');
  if (tag === null && digest === null) return ignored('delete without a tag or a digest is not a tag event');
  if (digest === null && push) return rejected('data.target.digest is missing on a push');

  const time = nonEmpty(data.timestamp) ?? stringOrNull(item.eventTime) ?? stringOrNull(item.time);
  if (time === null) return rejected('data.timestamp is missing');
  const timestamp = normalizeTimestamp(time);
  if (timestamp === null) return rejected(`data.timestamp ${quote(time)} is not an RFC 3339 time`);

  const registryHost = nonEmpty(data.request?.host);
  if (registryHost === null) return rejected('data.request.host is missing');

  const common = {
    // ACR's own event id (the webhook sends the same): a push reported both ways is recorded once.
    id: nonEmpty(data.id) ?? parsed.data.id,
    registryHost: registryHost.toLowerCase(),
    repository,
    timestamp,
    actor: nonEmpty(data.actor?.name),
  };
  // ImageDeleted without a tag is a manifest delete: every tag serving the digest is gone.
  if (tag === null) return digestDeleteOutcome({ ...common, digest: digest as string });
  const action = push ? 'push' : 'delete';
  return validatedEvent({ ...common, action, tag, digest, mediaType: nonEmpty(data.target.mediaType) });
}

function stringOrNull(value: unknown): string | null {
  return typeof value === 'string' ? nonEmpty(value) : null;
}
