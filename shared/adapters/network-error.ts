/**
 * Names a failed `fetch` without the error's own message, which may carry the URL (a webhook URL or a
 * receiver path is itself a secret).
 */
export function describeNetworkError(error: unknown, timeoutMs: number): string {
  // Duck-typed: an abort is a DOMException, which is not `instanceof Error` across realms (jest, vm).
  const { name, cause } = (typeof error === 'object' && error !== null ? error : {}) as {
    name?: unknown;
    cause?: { code?: unknown } | null;
  };
  if (name === 'TimeoutError' || name === 'AbortError') return `timed out after ${timeoutMs} ms`;
  const code = typeof cause?.code === 'string' ? cause.code : null;
  return code === null ? 'network error' : `network error (${code})`;
}
