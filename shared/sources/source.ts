import type * as z from 'zod/mini';
import '../zod-english';
import { issuesReason } from './common';
import type { ItemOutcome, ParseResult, SourceAuthRules, SourceParser, SourceRequest } from './types';

/**
 * The one parser template. A source declares itself once (name, auth rules, envelope, items,
 * handshake); `defineSource` wraps those bare functions in the defensive catch every parser needs,
 * as cdk-nag keeps one `applyRule` around its bare rule functions.
 */

/** A body read as a source's envelope, or the reason it is not one (the whole body is refused). */
export type EnvelopeResult<Envelope> = { ok: true; envelope: Envelope } | { ok: false; reason: string };

export interface SourceDeclaration<Envelope> {
  readonly name: string;
  /** How the defensive catch names the format: `Docker Hub body hit an internal parser error…`. */
  readonly format: string;
  readonly auth: SourceAuthRules;
  /** The whole body read as this source's envelope, or refused with a reason; a function may throw (a bug). */
  readonly envelope:
    | EnvelopeSchema<Envelope>
    | ((body: unknown, request: SourceRequest) => EnvelopeResult<Envelope>);
  /** A delivery that is a handshake rather than events answers this instead (null: not one). */
  handshake?(envelope: NoInfer<Envelope>): ParseResult | null;
  /** Each item of the envelope judged on its own. May throw (a bug). */
  items(envelope: NoInfer<Envelope>, request: SourceRequest): ItemOutcome[];
  /** See SourceParser.preflight. */
  preflight?(request: SourceRequest): Record<string, string> | null;
}

/** Marks a rejection that only a bug can cause: the robustness tests fail on any reason that contains it. */
export const INTERNAL_PARSER_ERROR = 'internal parser error';

const NO_HEADERS: SourceRequest = { headers: {} };

/** A declaration made a parser: nothing it does can throw out of `parse`. */
export function defineSource<Envelope>(source: SourceDeclaration<Envelope>): SourceParser {
  const parser: SourceParser = {
    name: source.name,
    auth: source.auth,
    parse(body: unknown, request: SourceRequest = NO_HEADERS): ParseResult {
      try {
        const read = readEnvelope(source.envelope, body, request);
        if (!read.ok) return read;
        const handshake = source.handshake?.(read.envelope) ?? null;
        return handshake ?? { ok: true, items: source.items(read.envelope, request) };
      } catch (error) {
        // A bug must not take the endpoint down, nor pass unnoticed.
        return {
          ok: false,
          reason: `${source.format} body hit an ${INTERNAL_PARSER_ERROR} (${String(error)}); please report it`,
        };
      }
    },
  };
  return source.preflight ? { ...parser, preflight: source.preflight } : parser;
}

/** An envelope declared as a schema: a body that fails it is refused as `not a <what>: <issues> (expected <shape>)`. */
export interface EnvelopeSchema<Envelope> {
  readonly schema: z.ZodMiniType<Envelope>;
  readonly what: string;
  readonly expected: string;
}

function readEnvelope<Envelope>(
  envelope: SourceDeclaration<Envelope>['envelope'],
  body: unknown,
  request: SourceRequest,
): EnvelopeResult<Envelope> {
  if (typeof envelope === 'function') return envelope(body, request);
  const parsed = envelope.schema.safeParse(body);
  return parsed.success
    ? { ok: true, envelope: parsed.data }
    : {
        ok: false,
        reason: `not a ${envelope.what}: ${issuesReason(parsed.error)} (expected ${envelope.expected})`,
      };
}

/** The envelope itself, read. */
export function envelopeOf<Envelope>(envelope: Envelope): EnvelopeResult<Envelope> {
  return { ok: true, envelope };
}

/** The whole body refused. */
export function notThisSource(reason: string): { ok: false; reason: string } {
  return { ok: false, reason };
}

/** A token as `Authorization: Bearer <token>`; a signature as GitHub's `X-Hub-Signature-256: sha256=<hex>`. */
export const BEARER_TOKEN: SourceAuthRules = {
  token: { in: 'header', header: 'Authorization' },
  signature: { header: 'x-hub-signature-256', prefix: 'sha256=' },
};

/** For registries that cannot add a header to their webhook call: `…/webhooks/<source>?token=…`. */
export const TOKEN_IN_QUERY: SourceAuthRules = { ...BEARER_TOKEN, token: { in: 'query' } };
