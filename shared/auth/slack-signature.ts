import { createHmac } from 'node:crypto';
import { type AuthResult, constantTimeEqual } from './webhook-auth';

/** Slack's tolerance: a request whose timestamp is further than this from our clock is refused. */
export const SLACK_MAX_SKEW_MS = 5 * 60 * 1000;

/** `v0=` + hex HMAC-SHA256 of `v0:<timestamp>:<raw body>` under the app's signing secret. */
export function slackSignature(secret: string, timestamp: string, rawBody: Buffer | string): string {
  const mac = createHmac('sha256', secret);
  mac.update(`v0:${timestamp}:`);
  mac.update(rawBody);
  return `v0=${mac.digest('hex')}`;
}

function header(headers: Record<string, string | string[] | undefined>, name: string): string | undefined {
  const raw = headers[name];
  return Array.isArray(raw) ? raw[0] : raw;
}

/**
 * Checks a Slack request on its raw bytes, before anything parses them: the timestamp within five
 * minutes of `nowMs` (either way), then the signature, compared in constant time. The reason never
 * reveals the expected signature.
 */
export function verifySlackRequest(
  secret: string,
  headers: Record<string, string | string[] | undefined>,
  rawBody: Buffer,
  nowMs: number,
): AuthResult {
  const timestamp = header(headers, 'x-slack-request-timestamp');
  const signature = header(headers, 'x-slack-signature');
  if (!timestamp) return { ok: false, reason: 'missing X-Slack-Request-Timestamp header' };
  if (!signature) return { ok: false, reason: 'missing X-Slack-Signature header' };
  if (!/^\d{1,12}$/.test(timestamp))
    return { ok: false, reason: 'X-Slack-Request-Timestamp is not a Unix time in seconds' };
  if (Math.abs(nowMs - Number(timestamp) * 1000) > SLACK_MAX_SKEW_MS)
    return { ok: false, reason: 'X-Slack-Request-Timestamp is more than five minutes from now' };
  return constantTimeEqual(signature, slackSignature(secret, timestamp, rawBody))
    ? { ok: true }
    : { ok: false, reason: 'invalid X-Slack-Signature' };
}
