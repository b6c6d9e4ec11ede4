/**
 * A composition root built once per container or worker and shared by its invocations. A build that
 * fails is not kept, so the next invocation tries again (a secret or a table may come back).
 */
export function builtOnce<T>(build: () => Promise<T>): () => Promise<T> {
  let cached: Promise<T> | null = null;
  return () => {
    cached ??= build().catch((error) => {
      cached = null;
      throw error;
    });
    return cached;
  };
}
