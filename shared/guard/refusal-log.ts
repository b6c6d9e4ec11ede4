import type { Logger } from '../log';

/** One refused delivery as an operator sees it: never any token material, only where it came from. */
export interface Refusal {
  source: string;
  reason: string;
  remoteAddress: string;
}

const WINDOW_MS = 60_000;
const MAX_KEYS = 10_000;

/**
 * Logs a 401 at warn, so a misconfigured registry shows up, but at most once a minute per source,
 * reason and remote address, so a flood of forged requests cannot flood the log. Remembers at most
 * MAX_KEYS senders; past that, forgotten ones may log again.
 */
export function unauthorizedLog(log: Logger, now: () => number = Date.now): (refusal: Refusal) => void {
  const last = new Map<string, number>();
  return ({ source, reason, remoteAddress }) => {
    const key = JSON.stringify([source, reason, remoteAddress]);
    const at = now();
    const previous = last.get(key);
    if (previous !== undefined && at - previous < WINDOW_MS) return;
    if (last.size >= MAX_KEYS) {
      for (const [k, t] of last) if (at - t >= WINDOW_MS) last.delete(k);
      if (last.size >= MAX_KEYS) last.clear();
    }
    last.set(key, at);
    log.warn('request refused: unauthenticated (logged once a minute per sender, source and reason)', {
      source: source.slice(0, 40),
      reason,
      remoteAddress,
    });
  };
}
