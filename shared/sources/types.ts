import type { RegistryEvent } from '../core';

/** What became of one item of a body: an event, or an ignore/rejection with a reason. */
export type ItemOutcome =
  | { kind: 'event'; event: RegistryEvent }
  | { kind: 'ignored'; reason: string }
  | { kind: 'rejected'; reason: string };

/**
 * A parser either understands the body (items judged each on its own, so one bad item does not
 * discard the good ones) or rejects it whole with a reason.
 */
export type ParseResult = { ok: true; items: ItemOutcome[] } | { ok: false; reason: string };

export interface SourceParser {
  readonly name: string;
  /** Receives the JSON value, already size- and depth-checked. */
  parse(body: unknown): ParseResult;
}
