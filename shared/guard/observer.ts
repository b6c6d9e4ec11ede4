import type { EffectKind, TransitionKind } from '../core';

/**
 * Where an event came in: `source` is the name of the parser that read it (one of a fixed set the
 * config enables), never a name a sender chose; `receivedAt` is when Tagwarden took it.
 */
export interface EventOrigin {
  source: string;
  receivedAt: string;
}

/**
 * What a runtime wants to count as events travel through the guard: one implementation per runtime
 * (Powertools metrics on AWS, Prometheus on `serve`), so handlers report facts and never decide which
 * metric they are. Facts name no repository, tag or digest: they are labels, and those are unbounded.
 */
export interface EventObserver {
  /** A delivery's events read by their source's parser, before recording (runtimes that record them). */
  received?(count: number, origin: EventOrigin): void;
  /** An item or a whole record that could not be processed (kept as a failed record). */
  rejected(origin?: EventOrigin): void;
  /** An event recorded with this transition; `eventTime` is when the registry says it happened. */
  recorded(result: { transition: { kind: TransitionKind }; eventTime: string }, origin?: EventOrigin): void;
  /** An effect attempt settled for good or for now. */
  effectSettled(kind: EffectKind, status: 'done' | 'failed' | 'pending'): void;
  /** Sends what was counted (once per invocation). */
  flush(): void;
}
