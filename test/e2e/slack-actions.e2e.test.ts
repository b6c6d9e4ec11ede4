import { createHmac } from 'node:crypto';
import { OciDistributionRegistry } from '../../shared/adapters/registry/oci-distribution';
import { type GuardedRegistry, startGuardedRegistry } from '../support/guarded-registry';
import { pushImage } from '../support/images';
import type { RunningRegistry } from '../support/registry';
import type { SlackStub } from '../support/slack-stub';
import { eventually, type RunningTagwarden } from '../support/tagwarden';

// Issue 16 end to end: a real registry, `tagwarden serve`, alerts with buttons, signed clicks.
const SECRET = 'e2e-slack-signing-secret-0123456';
const APPROVER = 'U0E2EAPPROVE';
let guarded: GuardedRegistry;
let registry: RunningRegistry;
let tagwarden: RunningTagwarden;
let slack: SlackStub;
let client: OciDistributionRegistry;
let responseBase: string;

/** Where the stub answers Slack's `response_url`s. */
const responsesOf = (stub: SlackStub) => `${new URL(stub.url).origin}/actions/`;

beforeAll(async () => {
  guarded = await startGuardedRegistry({
    rules: `- match: { repository: "billing/*" }
  action: alert
  owners: ["#billing", "${APPROVER}"]`,
    slack: (parts) => `signingSecret: "\${SLACK_SIGNING_SECRET}"
responseUrlBase: "${responsesOf(parts.slack)}"`,
    env: { SLACK_SIGNING_SECRET: SECRET },
  });
  ({ registry, tagwarden, slack } = guarded);
  responseBase = responsesOf(slack);
  client = new OciDistributionRegistry({ url: registry.url });
}, 60_000);

afterAll(async () => {
  await guarded?.stop();
});

interface Button {
  action_id: string;
  value: string;
  text: { text: string };
}

/** The buttons of the newest alert about `ref` that moved it to `to`. */
async function buttonsOf(ref: string, to: string): Promise<Button[]> {
  return eventually(async () => {
    const alert = slack.messages
      .filter((m) => m.text?.includes(ref) && JSON.stringify(m).includes(to))
      .at(-1);
    const block = alert?.blocks.find((b) => (b as { type: string }).type === 'actions') as
      | { elements: Button[] }
      | undefined;
    return block?.elements;
  }, `the alert on ${ref} with buttons`);
}

let trigger = 0;
/** Clicks a button as Slack does: a signed, form-encoded block_actions payload. */
async function clickOn(
  button: Button,
  user = APPROVER,
): Promise<{ status: number; body: { text?: string } }> {
  trigger += 1;
  const payload = {
    type: 'block_actions',
    user: { id: user },
    trigger_id: `e2e.${trigger}.${Date.now()}`,
    response_url: `${responseBase}T0/${trigger}/reply`,
    actions: [{ action_id: button.action_id, value: button.value, action_ts: `${Date.now() / 1000}` }],
  };
  const body = `payload=${encodeURIComponent(JSON.stringify(payload))}`;
  const timestamp = String(Math.floor(Date.now() / 1000));
  const signature = `v0=${createHmac('sha256', SECRET).update(`v0:${timestamp}:${body}`).digest('hex')}`;
  const res = await fetch(`${tagwarden.url}/slack/actions`, {
    method: 'POST',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      'x-slack-request-timestamp': timestamp,
      'x-slack-signature': signature,
    },
    body,
  });
  return { status: res.status, body: (await res.json()) as { text?: string } };
}

const replies = () =>
  slack.messages as unknown as { text: string; replace_original?: boolean; response_type?: string }[];

const historyOf = (repository: string, tag: string) =>
  guarded.history<{ transition: string; digest: string; actor: string | null }>(repository, tag);

describe('Slack buttons on a real registry', () => {
  it('"Revert" on an alert puts the old digest back through the outbox and updates the message', async () => {
    const a = await pushImage(registry.url, 'billing/api', 'v2', 'slack-a');
    await eventually(
      async () => ((await historyOf('billing/api', 'v2')).length === 1 ? true : undefined),
      'A',
    );
    const b = await pushImage(registry.url, 'billing/api', 'v2', 'slack-b');
    const buttons = await buttonsOf(`${registry.host}/billing/api:v2`, b.digest);
    expect(buttons.map((x) => x.text.text)).toEqual([
      `Revert to sha256:${a.digest.slice(7, 19)}`,
      `Approve sha256:${b.digest.slice(7, 19)}`,
    ]);

    const unsigned = await fetch(`${tagwarden.url}/slack/actions`, { method: 'POST', body: 'payload={}' });
    expect(unsigned.status).toBe(401);
    const stranger = await clickOn(buttons[0]!, 'U0STRANGER1');
    expect(stranger.status).toBe(200);
    expect(stranger.body.text).toContain('not an approver');

    const clicked = await clickOn(buttons[0]!);
    expect(clicked.status).toBe(200);
    await eventually(
      async () => ((await client.currentDigest('billing/api', 'v2')) === a.digest ? true : undefined),
      'the registry to serve A again',
    );
    await eventually(
      async () =>
        (await historyOf('billing/api', 'v2')).some((h) => h.transition === 'restored') ? true : undefined,
      'the revert echo recognized as restored',
    );
    const update = replies().find((m) => m.replace_original === true && m.text.includes('reverted'));
    expect(update?.text).toContain(`<@${APPROVER}> reverted`);
    expect(update?.text).toContain(a.digest);
    expect(replies().some((m) => m.response_type === 'ephemeral' && m.text.includes('not an approver'))).toBe(
      true,
    );
  });

  it('"Approve" is bound to its digest: after another push the same button does nothing', async () => {
    await pushImage(registry.url, 'billing/api', 'v3', 'approve-a');
    await eventually(
      async () => ((await historyOf('billing/api', 'v3')).length === 1 ? true : undefined),
      'A',
    );
    const b = await pushImage(registry.url, 'billing/api', 'v3', 'approve-b');
    const approve = (await buttonsOf(`${registry.host}/billing/api:v3`, b.digest))[1]!;
    expect((await clickOn(approve)).status).toBe(200);
    const approved = (await historyOf('billing/api', 'v3')).at(-1)!;
    expect(approved).toMatchObject({ digest: b.digest, transition: 'unchanged' });
    expect(approved.actor).toMatch(new RegExp(`^approved by <@${APPROVER}> at `));

    const c = await pushImage(registry.url, 'billing/api', 'v3', 'approve-c');
    await buttonsOf(`${registry.host}/billing/api:v3`, c.digest);
    const again = await clickOn(approve);
    expect(again.status).toBe(200);
    expect(again.body.text).toContain(`it serves ${c.digest} now, not ${b.digest}`);
    expect(await client.currentDigest('billing/api', 'v3')).toBe(c.digest);
    expect((await historyOf('billing/api', 'v3')).map((h) => h.transition)).toEqual([
      'first-seen',
      'overwrite',
      'unchanged',
      'overwrite',
    ]);
  });
});
