import * as z from 'zod/mini';
import { normalizeTimestamp, quote } from '../core';
import '../zod-english';
import { identifierProblem, ignored, issuesReason, nonEmpty, optionalString, rejected } from './common';
import { BEARER_TOKEN, defineSource, envelopeOf, notThisSource } from './source';
import type { ItemOutcome } from './types';
import { digestDeleteOutcome, isRecord, validatedEvent } from './validate';

/**
 * Azure Container Registry webhooks: one event per request. `push` (with a tag) and `delete` (with a
 * tag) are tag events; ACR's delete webhook fires for manifest deletes and carries no tag: it is parsed
 * as a DigestDelete and ignored until it can be recorded. ping, quarantine and Helm chart events are
 * ignored.
 */

export const AcrTarget = z.looseObject({
  mediaType: optionalString,
  digest: optionalString,
  repository: optionalString,
  tag: optionalString,
});

export const AcrWebhookEvent = z.looseObject({
  id: z.string(),
  timestamp: z.string(),
  action: z.string(),
  target: AcrTarget,
  request: z.nullish(z.looseObject({ host: optionalString })),
});

const IGNORED_ACTIONS: Readonly<Record<string, string>> = {
  ping: 'a webhook ping is not a tag event',
  quarantine: 'a quarantine notice is not a tag event',
  chart_push: 'Helm chart events are not tracked',
  chart_delete: 'Helm chart events are not tracked',
};

export const acrParser = defineSource({
  name: 'acr',
  format: 'ACR',
  auth: BEARER_TOKEN,
  envelope(body) {
    if (!isRecord(body)) return notThisSource('not an ACR webhook event: body is not an object');
    const action = body.action;
    if (typeof action !== 'string') {
      return notThisSource('not an ACR webhook event: action is missing or not a string');
    }
    if (typeof body.id !== 'string') {
      return notThisSource('not an ACR webhook event: id is missing or not a string');
    }
    return envelopeOf({ body, action });
  },
  items: ({ body, action }) => [judgeEvent(body, action)],
});

function judgeEvent(item: Record<string, unknown>, action: string): ItemOutcome {
  if (action !== 'push' && action !== 'delete') {
    return ignored(`action ${quote(action)} ignored: ${IGNORED_ACTIONS[action] ?? 'not a push or delete'}`);
  }
  const parsed = AcrWebhookEvent.safeParse(item);
  if (!parsed.success) return rejected(issuesReason(parsed.error));
  const event = parsed.data;
  const target = event.target;
  const tag = nonEmpty(target.tag);
  const digest = nonEmpty(target.digest);
  const repository = target.repository ?? '';

  // Malformed identifiers are rejected even where the item would otherwise be ignored.
  const problem = identifierProblem(
    { digest, repository, tag },
    { digest: 'target.digest', repository: 'target.repository', tag: 'target.tag' },
  );
  if (problem) return rejected(problem);

  if (tag === null && action === 'push') return ignored('digest-only push (no target.tag), not a tag event');
  if (tag === null && digest === null) return ignored('delete without a tag or a digest is not a tag event');
  if (digest === null && action === 'push') return rejected('target.digest is missing on a push');

  const timestamp = normalizeTimestamp(event.timestamp);
  if (timestamp === null) return rejected(`timestamp ${quote(event.timestamp)} is not an RFC 3339 time`);

  const registryHost = nonEmpty(event.request?.host);
  if (registryHost === null) return rejected('request.host is missing');

  const common = {
    id: event.id,
    registryHost: registryHost.toLowerCase(),
    repository,
    timestamp,
    actor: null,
  };
  // A delete naming a digest and no tag is a manifest delete: every tag serving it is gone.
  if (tag === null) return digestDeleteOutcome({ ...common, digest: digest as string });
  return validatedEvent({ ...common, action, tag, digest, mediaType: nonEmpty(target.mediaType) });
}
