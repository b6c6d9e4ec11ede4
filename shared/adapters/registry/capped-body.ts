import { PermanentError } from '../../core/errors';

/** The most a registry may send for one manifest: distribution itself refuses larger ones. */
export const MAX_MANIFEST_BYTES = 4 * 1024 * 1024;
/** Token answers and error bodies are small; anything larger is not one. */
export const MAX_SMALL_BODY_BYTES = 64 * 1024;

/**
 * Reads a response body, refusing it as soon as it passes `limit` bytes: a registry (or anything
 * answering in its name) cannot make Tagwarden hold more than `limit` bytes of one answer.
 */
export async function readCappedBody(response: Response, limit: number, what: string): Promise<Buffer> {
  const declared = Number(response.headers.get('content-length') ?? Number.NaN);
  if (declared > limit) {
    await response.body?.cancel().catch(() => undefined);
    throw tooLarge(what, limit);
  }
  if (response.body === null) return Buffer.alloc(0);
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > limit) {
      await reader.cancel().catch(() => undefined);
      throw tooLarge(what, limit);
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks, total);
}

function tooLarge(what: string, limit: number): PermanentError {
  return new PermanentError(`${what}: the answer is larger than ${limit / 1024} KiB; refused`);
}
