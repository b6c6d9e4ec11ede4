import { createHmac } from 'node:crypto';

/**
 * The signing half of the cluster contract (`payload.ts`), without its zod schema: the sender runs
 * in the Lambdas, whose bundles must not carry classic zod. `payload.ts` re-exports all of it.
 */
export const SIGNATURE_HEADER = 'X-Tagwarden-Signature';
export const TIMESTAMP_HEADER = 'X-Tagwarden-Timestamp';

/** `sha256=<hex HMAC-SHA256 of the raw body>`: our header, and Flux's generic-hmac `X-Signature`. */
export function signBody(secret: string, body: string | Buffer): string {
  return `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
}
