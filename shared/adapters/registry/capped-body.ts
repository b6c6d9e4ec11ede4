import { readBoundedBody } from '../../bounded-body';
import { PermanentError } from '../../core/errors';

/** The most a registry may send for one manifest: distribution itself refuses larger ones. */
export const MAX_MANIFEST_BYTES = 4 * 1024 * 1024;
/** Token answers and error bodies are small; anything larger is not one. */
export const MAX_SMALL_BODY_BYTES = 64 * 1024;

/**
 * Reads a response body, refusing it as soon as it passes `limit` bytes: a registry (or anything
 * answering in its name) cannot make Tagwarden hold more than `limit` bytes of one answer. The
 * refusal is permanent: the same registry answers the same way on a retry.
 */
export async function readCappedBody(response: Response, limit: number, what: string): Promise<Buffer> {
  return readBoundedBody(response.body, limit, {
    contentLength: response.headers.get('content-length'),
    refuse: () => new PermanentError(`${what}: the answer is larger than ${limit / 1024} KiB; refused`),
  });
}
