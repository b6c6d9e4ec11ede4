import type { Digest, RegistryEvent } from '../core';

/**
 * A manifest deleted by digest (distribution, ACR, Artifact Registry, ECR): no tag is named, but every tag
 * serving the digest in that repository is gone. Parsed and validated like an event; the item is
 * ignored as a tag event, carrying this, and ingest records it against the tags history says serve it.
 */
export interface DigestDelete {
  id: string;
  registryHost: string;
  repository: string;
  digest: Digest;
  /** ISO-8601 UTC; null where the source sends no time. */
  timestamp: string | null;
  actor: string | null;
}

/** What became of one item of a body: an event, or an ignore/rejection with a reason. */
export type ItemOutcome =
  | { kind: 'event'; event: RegistryEvent }
  | { kind: 'ignored'; reason: string; digestDelete?: DigestDelete }
  | { kind: 'rejected'; reason: string };

/**
 * A parser either understands the body (items judged each on its own, so one bad item does not
 * discard the good ones) or rejects it whole with a reason. `reply` asks the endpoint to answer with
 * this body instead of the usual summary (the Event Grid subscription-validation handshake).
 */
export type ParseResult =
  | { ok: true; items: ItemOutcome[]; reply?: { status: number; body: unknown } }
  | { ok: false; reason: string };

/** What a parser may read of the request besides the body: lower-cased header names. */
export interface SourceRequest {
  headers: Readonly<Record<string, string | undefined>>;
}

/**
 * How a source authenticates, declared by the source; shared/auth checks it. A configured token
 * travels in the URL's `token` query parameter (for senders that cannot add a header) or in a header
 * (`Authorization` expects `Bearer <token>`); a configured secret signs the raw body with HMAC-SHA256,
 * sent as hex in `signature.header` after `signature.prefix`.
 */
export interface SourceAuthRules {
  readonly token: { readonly in: 'query' } | { readonly in: 'header'; readonly header: string };
  readonly signature: { readonly header: string; readonly prefix: string };
}

export interface SourceParser {
  readonly name: string;
  readonly auth: SourceAuthRules;
  /** Receives the JSON value, already authenticated and size- and depth-checked. Never throws. */
  parse(body: unknown, request?: SourceRequest): ParseResult;
  /**
   * Answers an HTTP OPTIONS handshake (CloudEvents webhook validation): the headers to send back,
   * or null when the request is not a valid handshake. Sources without one answer 405 to OPTIONS.
   */
  preflight?(request: SourceRequest): Record<string, string> | null;
}
