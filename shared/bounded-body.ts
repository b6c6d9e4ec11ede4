/** A body refused for its size: `limit` is what it passed, `declared` its Content-Length when that said so. */
export class BodyTooLargeError extends Error {
  override readonly name = 'BodyTooLargeError';
  constructor(
    readonly limit: number,
    readonly declared: number | null = null,
  ) {
    super(
      declared === null
        ? `body is larger than the limit of ${limit} bytes`
        : `body is ${declared} bytes; the limit is ${limit}`,
    );
  }
}

/**
 * Reads a body (an HTTP answer's or request's stream, or any stream of bytes) and refuses it with a
 * BodyTooLargeError as soon as it passes `limit` bytes, counted as the bytes arrive (a Content-Length
 * can lie or be missing); a declared length over the limit is refused before a byte is read. On a
 * refusal the stream is cancelled, so a body that never ends is not read further. No body reads as
 * empty. `refuse` turns the refusal into the caller's own error (its words, its retry class).
 */
export async function readBoundedBody(
  body: AsyncIterable<Uint8Array> | null | undefined,
  limit: number,
  options: BoundedBodyOptions = {},
): Promise<Buffer> {
  const refuse = options.refuse ?? ((tooLarge) => tooLarge);
  const declared = Number(options.contentLength ?? Number.NaN);
  if (declared > limit) {
    await cancel(body);
    throw refuse(new BodyTooLargeError(limit, declared));
  }
  const chunks: Uint8Array[] = [];
  let size = 0;
  // Leaving the loop by a throw ends the iteration, which cancels a ReadableStream.
  for await (const chunk of body ?? []) {
    size += chunk.byteLength;
    if (size > limit) throw refuse(new BodyTooLargeError(limit));
    chunks.push(chunk);
  }
  return Buffer.concat(chunks, size);
}

export interface BoundedBodyOptions {
  /** The Content-Length header as sent, if any: over the limit, nothing is read. */
  contentLength?: string | null | undefined;
  /** The error to throw instead of the BodyTooLargeError. */
  refuse?: ((tooLarge: BodyTooLargeError) => Error) | undefined;
}

async function cancel(body: AsyncIterable<Uint8Array> | null | undefined): Promise<void> {
  const stream = body as { cancel?: () => Promise<void> } | null | undefined;
  await stream?.cancel?.().catch(() => undefined);
}

/**
 * The first `limit` bytes of a body, for an excerpt of an answer nobody bounds (an error's text): the
 * rest is never read, and the stream is cancelled, so an answer that never ends costs `limit` bytes.
 */
export async function readBodyPrefix(
  body: AsyncIterable<Uint8Array> | null | undefined,
  limit: number,
): Promise<Buffer> {
  const chunks: Uint8Array[] = [];
  let size = 0;
  // Leaving the loop by a break ends the iteration, which cancels a ReadableStream.
  for await (const chunk of body ?? []) {
    chunks.push(chunk.subarray(0, limit - size));
    size += chunks.at(-1)!.byteLength;
    if (size >= limit) break;
  }
  return Buffer.concat(chunks, size);
}
