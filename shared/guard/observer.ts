import type { EffectKind, TransitionKind } from '../core';

/**
 * What a runtime wants to count as events travel through the guard: one implementation per runtime
 * (Powertools metrics on AWS), so handlers report facts and never decide which metric they are.
 */
export interface EventObserver {
  /** An item or a whole record that could not be processed (kept as a failed record). */
  rejected(): void;
  /** An event recorded with this transition; `eventTime` is when the registry says it happened. */
  recorded(result: { transition: { kind: TransitionKind }; eventTime: string }): void;
  /** An effect attempt settled for good or for now. */
  effectSettled(kind: EffectKind, status: 'done' | 'failed' | 'pending'): void;
  /** Sends what was counted (once per invocation). */
  flush(): void;
}
