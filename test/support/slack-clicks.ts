import { createHmac } from 'node:crypto';
import { type ButtonValue, SLACK_ACTION_IDS } from '../../shared/adapters/notify/slack-buttons';

let trigger = 0;

/** A click as Slack sends it: form-encoded `payload`, signed with `secret` at `signedAt` (else `now`). */
export function signedSlackClick(
  value: ButtonValue,
  options: { secret: string; now: Date; user: string; responseUrl?: string; signedAt?: Date },
) {
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
  const timestamp = String(Math.floor((options.signedAt ?? options.now).getTime() / 1000));
  const signature = `v0=${createHmac('sha256', options.secret)
    .update(`v0:${timestamp}:${rawBody.toString()}`)
    .digest('hex')}`;
  return {
    rawBody,
    headers: { 'x-slack-signature': signature, 'x-slack-request-timestamp': timestamp },
    now: options.now,
  };
}
