import {
  authenticateHeaders,
  authenticateSource,
  type SourceAuthConfig,
  verifyBodySignature,
} from '../auth/source-auth';
import { errorMessage, formatTagRef, type Policy, type RegistryEvent } from '../core';
import { type FailureLog, type Outbox, rejectedItemsRecord, type TagHistory } from '../history';
import type { Logger } from '../log';
import { type DigestDelete, parserFor, readDelivery, SOURCE_PARSERS, type SourceParser } from '../sources';
import type { EventObserver } from './observer';
import { acceptEvents, recordDigestDeletes } from './record';

export interface IngestDeps {
  store: TagHistory & Outbox & FailureLog;
  policy: Policy;
  log: Logger;
  /**
   * How each enabled source authenticates; null: the source is not enabled here (404). A source
   * without a token or secret is refused (401) unless it is explicitly `open`.
   */
  auth: (source: string) => SourceAuthConfig | null;
  now?: () => Date;
  /** Told what each admitted delivery held and what was recorded (`serve`'s metrics). */
  observer?: Pick<EventObserver, 'received' | 'rejected' | 'recorded'>;
}

export interface WebhookRequest {
  source: string;
  headers: Record<string, string | string[] | undefined>;
  /** The URL's query string: sources that cannot send headers carry their token here. */
  query: URLSearchParams;
  body: Buffer;
}

/** Why a delivery is refused whole; `reason` is the text the sender is told. */
export type IngestRefusal =
  | { kind: 'unknownSource'; reason: string }
  | { kind: 'notEnabled'; reason: string }
  | { kind: 'unauthenticated'; reason: string }
  | { kind: 'tooLarge'; reason: string }
  | { kind: 'rejected'; reason: string };

/** What became of the body's items once recorded. */
export interface RecordedSummary {
  accepted: number;
  resolving: { id: string; tagRef: string }[];
  transitions: { id: string; tagRef: string; transition: string }[];
  ignored: string[];
  rejected: string[];
}

/**
 * What became of one delivery, whatever the runtime: each runtime's edge turns it into its own
 * answer (HTTP status and body, a poison-queue entry, a thrown error for a retry).
 */
export type IngestOutcome =
  | IngestRefusal
  | { kind: 'recorded'; summary: RecordedSummary }
  /** A handshake (Event Grid subscription validation): the body the source expects back. */
  | { kind: 'handshake'; response: Record<string, unknown> }
  /** Nothing could be recorded now; the sender should retry. */
  | { kind: 'unavailable'; reason: string };

/** A webhook that passed authentication, the limits and its parser; or why it is refused. */
export type CheckedWebhook =
  | {
      ok: true;
      source: string;
      events: RegistryEvent[];
      ignored: string[];
      rejected: string[];
      /** Manifests deleted by digest (their reasons are among `ignored`): `serve` records them. */
      digestDeletes: DigestDelete[];
      handshake: Record<string, unknown> | null;
    }
  | { ok: false; refusal: IngestRefusal };

/**
 * A webhook whose source is enabled here and whose header credentials (token, signature header)
 * passed. Only `admitWebhook` makes one; what remains is a signing source's signature over the body.
 */
export interface AdmittedWebhook {
  readonly request: Omit<WebhookRequest, 'body'>;
  readonly parser: SourceParser;
  readonly settings: SourceAuthConfig;
}

export type Admission = { ok: true; webhook: AdmittedWebhook } | { ok: false; refusal: IngestRefusal };

/**
 * What can be decided from the request line and headers alone, before any body byte is read: is the
 * source known and enabled, and do its token (header or query) and signature header check out. An
 * edge calls this first and reads the body only when it is admitted; the signature over the raw
 * bytes is verified once the body is there (`checkAdmitted`).
 */
export function admitWebhook(
  deps: Pick<IngestDeps, 'auth'>,
  request: Omit<WebhookRequest, 'body'>,
): Admission {
  const found = enabledSource(deps, request.source);
  if (!found.ok) return found;
  const auth = authenticateHeaders(found.parser.auth, found.settings, request);
  if (!auth.ok) return refused('unauthenticated', `unauthorized: ${auth.reason}`);
  return { ok: true, webhook: { request, parser: found.parser, settings: found.settings } };
}

type FoundSource =
  | { ok: true; parser: SourceParser; settings: SourceAuthConfig }
  | { ok: false; refusal: Extract<IngestRefusal, { kind: 'unknownSource' | 'notEnabled' }> };

/** The source's parser and settings, or why it answers 404: unknown, or not enabled here. */
function enabledSource(deps: Pick<IngestDeps, 'auth'>, source: string): FoundSource {
  const parser = parserFor(source);
  const name = source.slice(0, 40);
  if (!parser) {
    const known = [...SOURCE_PARSERS.keys()].join(', ');
    return {
      ok: false,
      refusal: { kind: 'unknownSource', reason: `unknown source "${name}"; known sources: ${known}` },
    };
  }
  const settings = deps.auth(parser.name);
  if (!settings) {
    const reason = `source "${name}" is not enabled here (the config names it with a token or secret, or open: true, to enable it)`;
    return { ok: false, refusal: { kind: 'notEnabled', reason } };
  }
  return { ok: true, parser, settings };
}

/**
 * An admitted webhook's body (its size bounded at the runtime's edge): the signature verified on the
 * raw bytes, then read by its source (`readDelivery`). The AWS webhook function stops here and
 * queues the events; `serve` records them.
 */
export function checkAdmitted(webhook: AdmittedWebhook, body: Buffer): CheckedWebhook {
  const { request, parser, settings } = webhook;
  const signature = verifyBodySignature(parser.auth, settings, { ...request, rawBody: body });
  if (!signature.ok) return refused('unauthenticated', `unauthorized: ${signature.reason}`);
  const delivery = readDelivery(parser, body, {
    headers: singleValued(request.headers),
    registries: settings.registries,
  });
  if (!delivery.ok) return refused('rejected', delivery.reason);
  return { ...delivery, source: parser.name };
}

/** Admission and check in one, for callers that hold the whole request already. */
export function checkWebhook(deps: Pick<IngestDeps, 'auth'>, request: WebhookRequest): CheckedWebhook {
  const admission = admitWebhook(deps, request);
  return admission.ok ? checkAdmitted(admission.webhook, request.body) : admission;
}

function refused(kind: IngestRefusal['kind'], reason: string): { ok: false; refusal: IngestRefusal } {
  return { ok: false, refusal: { kind, reason } };
}

/**
 * One admitted delivery: check its body, keep rejected items as failed records, record the events.
 * Recorded once the body is understood (some items may be ignored or rejected); refused only for a
 * bad request; unavailable when the store cannot take it, so the registry retries and nothing is lost.
 */
export async function ingestAdmitted(
  deps: IngestDeps,
  webhook: AdmittedWebhook,
  body: Buffer,
): Promise<IngestOutcome> {
  const checked = checkAdmitted(webhook, body);
  const receivedAt = (deps.now?.() ?? new Date()).toISOString();
  const origin = { source: webhook.parser.name, receivedAt };
  if (!checked.ok) {
    if (checked.refusal.kind === 'rejected') deps.observer?.rejected(origin);
    return checked.refusal;
  }
  const { source, events, ignored, rejected } = checked;
  deps.observer?.received?.(events.length + checked.digestDeletes.length, origin);
  for (const _ of rejected) deps.observer?.rejected(origin);
  try {
    if (rejected.length > 0) {
      const failure = rejectedItemsRecord(source, rejected, body.toString('utf8'), receivedAt);
      await deps.store.recordFailure(failure);
      deps.log.warn('event rejected', { source, rejected: rejected.length, reason: failure.reason });
    }
    const accepted = await acceptEvents(deps, events, receivedAt);
    const { resolving } = accepted;
    const recorded = [
      ...accepted.recorded,
      ...(await recordDigestDeletes(deps, checked.digestDeletes, receivedAt)),
    ];
    for (const { result } of recorded) deps.observer?.recorded(result, origin);
    if (checked.handshake) return { kind: 'handshake', response: checked.handshake };
    return {
      kind: 'recorded',
      summary: {
        accepted: accepted.recorded.length + resolving.length,
        resolving: resolving.map((event) => ({ id: event.id, tagRef: formatTagRef(event) })),
        transitions: recorded.map(({ event, result }) => ({
          id: event.id,
          tagRef: formatTagRef(event),
          transition: result.transition.kind,
        })),
        ignored,
        rejected,
      },
    };
  } catch (error) {
    deps.log.error('could not record events; asking the sender to retry', {
      source,
      error: errorMessage(error),
    });
    return { kind: 'unavailable', reason: 'history store unavailable; retry later' };
  }
}

/** Admission and ingest in one, for callers that hold the whole request already (poison replay). */
export async function ingestWebhook(deps: IngestDeps, request: WebhookRequest): Promise<IngestOutcome> {
  const admission = admitWebhook(deps, request);
  return admission.ok ? ingestAdmitted(deps, admission.webhook, request.body) : admission.refusal;
}

/** Header values as parsers see them: one string each, names lower-cased (as Node gives them). */
function singleValued(
  headers: Record<string, string | string[] | undefined>,
): Record<string, string | undefined> {
  const out: Record<string, string | undefined> = {};
  for (const [name, value] of Object.entries(headers))
    out[name.toLowerCase()] = Array.isArray(value) ? value[0] : value;
  return out;
}

/** What became of an OPTIONS request to a webhook; `webhook-answer.ts` turns it into HTTP. */
export type PreflightOutcome =
  | Exclude<IngestRefusal, { kind: 'tooLarge' }>
  | { kind: 'postOnly'; reason: string }
  | { kind: 'validated'; headers: Record<string, string> };

/** An OPTIONS request to a webhook: the CloudEvents abuse-protection handshake, authenticated like a POST. */
export function webhookPreflight(
  deps: Pick<IngestDeps, 'auth'>,
  request: Omit<WebhookRequest, 'body'>,
): PreflightOutcome {
  const found = enabledSource(deps, request.source);
  if (!found.ok) return found.refusal;
  const { parser, settings } = found;
  if (!parser.preflight) return { kind: 'postOnly', reason: `${parser.name} takes POST only` };
  const auth = authenticateSource(parser.auth, settings, {
    ...request,
    rawBody: Buffer.alloc(0),
  });
  if (!auth.ok) return { kind: 'unauthenticated', reason: `unauthorized: ${auth.reason}` };
  const headers = parser.preflight({ headers: singleValued(request.headers) });
  return headers
    ? { kind: 'validated', headers }
    : {
        kind: 'rejected',
        reason: 'not a CloudEvents webhook validation request (WebHook-Request-Origin missing or invalid)',
      };
}
