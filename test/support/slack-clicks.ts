import { createHmac } from 'node:crypto';
import { type ButtonValue, SLACK_ACTION_IDS } from '../../shared/adapters/notify/slack-buttons';

export interface ClickOptions {
  secret: string;
  user: string;
  responseUrl?: string;
  /** When Slack signed it (its `X-Slack-Request-Timestamp`). */
  signedAt: Date;
}

let trigger = 0;

/**
 * A click on an alert's button as Slack sends it: a form-encoded `payload` (a `block_actions`
 * payload, a fresh trigger id each), signed as Slack's "Verifying requests" documents
 * (`v0=` HMAC-SHA256 of `v0:<timestamp>:<body>`).
 */
export function signedClick(
  value: ButtonValue,
  options: ClickOptions,
): { rawBody: Buffer; headers: Record<string, string> } {
  trigger += 1;
  const payload = {
    type: 'block_actions',
    user: { id: options.user },
    trigger_id: `1000.2000.trigger${trigger}`,
    response_url: options.responseUrl ?? 'https://hooks.slack.com/actions/T0/1/abc',
    actions: [
      {
        action_id: SLACK_ACTION_IDS[value.kind],
        value: JSON.stringify(value),
        action_ts: '1795000000.123456',
      },
    ],
  };
  const rawBody = Buffer.from(`payload=${encodeURIComponent(JSON.stringify(payload))}`);
  const timestamp = String(Math.floor(options.signedAt.getTime() / 1000));
  const signature = `v0=${createHmac('sha256', options.secret)
    .update(`v0:${timestamp}:${rawBody.toString()}`)
    .digest('hex')}`;
  return {
    rawBody,
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      'x-slack-signature': signature,
      'x-slack-request-timestamp': timestamp,
    },
  };
}

/** `signedClick` signed at `now` unless told otherwise, with `now` for the handler to judge it by. */
export function signedSlackClick(
  value: ButtonValue,
  options: { secret: string; now: Date; user: string; responseUrl?: string; signedAt?: Date },
) {
  const { now, signedAt, responseUrl, ...rest } = options;
  return {
    ...signedClick(value, { ...rest, signedAt: signedAt ?? now, ...(responseUrl ? { responseUrl } : {}) }),
    now,
  };
}
