// What the AWS and Azure Slack-click tests share: the policy, a tag overwritten from A to B under it,
// and clicks on that overwrite's buttons signed at a fixed NOW, answered to a local Slack stub.
import type { ButtonValue } from '../../shared/adapters/notify/slack-buttons';
import type { Policy, TagRef } from '../../shared/core';
import type { TagHistory } from '../../shared/history/port';
import { digestOf, pushEvent } from './events';
import { signedClick } from './slack-clicks';
import type { SlackStub } from './slack-stub';

export const APPROVER = 'U0APPROVER';
export const NOW = new Date('2026-12-01T12:00:00.000Z');
export const A = digestOf('a');
export const B = digestOf('b');
export const POLICY: Policy = {
  defaults: { action: 'alert', owners: ['#platform'], bump: false },
  rules: [
    { match: { repository: 'billing/*' }, action: 'alert', owners: ['#billing', APPROVER], bump: false },
  ],
};
/** The policy a tag was recorded under before it changed: a revert rule keeps A approved. */
export const HELD: Policy = { defaults: { ...POLICY.defaults, action: 'revert' }, rules: [] };

/** `<host>/billing/api:<tag>` overwritten from A to B, as the consumer records it (under `policy`). */
export async function overwritten(
  store: Pick<TagHistory, 'apply'>,
  registryHost: string,
  tag: string,
  policy = POLICY,
): Promise<TagRef> {
  const ref: TagRef = { registryHost, repository: 'billing/api', tag };
  for (const [digest, second] of [
    [A, 0],
    [B, 1],
  ] as const)
    await store.apply(
      pushEvent({ ...ref, digest, timestamp: new Date(Date.UTC(2026, 11, 1, 10, 0, second)).toISOString() }),
      policy,
      NOW.toISOString(),
    );
  return ref;
}

/** The value of the overwrite's `kind` button. */
export const clickValue = (kind: ButtonValue['kind'], ref: TagRef): ButtonValue => ({
  kind,
  ref: `${ref.registryHost}/${ref.repository}:${ref.tag}`,
  from: A,
  to: B,
});

/**
 * Clicks signed with `secret` at NOW, by APPROVER unless told, whose answers go to
 * `<stub>/click-<kind>-<tag>` unless told (the stub is read at each click: it starts in a beforeAll).
 */
export function clicksSignedWith(secret: string, responses: () => SlackStub) {
  return (kind: ButtonValue['kind'], ref: TagRef, user = APPROVER, responseUrl?: string) =>
    signedClick(clickValue(kind, ref), {
      secret,
      user,
      signedAt: NOW,
      responseUrl: responseUrl ?? `${responses().url}/click-${kind}-${ref.tag}`,
    });
}
