import { HttpRequest, InvocationContext } from '@azure/functions';
import { buildAzureDependencies } from '../../functions/azure/dependencies';
import { slackActionSettings, slackActionsHandler } from '../../functions/azure/slack-actions';
import type { ButtonValue } from '../../shared/adapters/notify/slack-buttons';
import { silentLogger } from '../../shared/log';
import { type RunningAzurite, startAzurite } from '../support/azurite';
import {
  A,
  APPROVER,
  B,
  clicksSignedWith,
  HELD,
  NOW,
  POLICY,
  overwritten as recorded,
} from '../support/slack-click-cases';
import { signedClick } from '../support/slack-clicks';
import { type SlackStub, startSlackStub } from '../support/slack-stub';

// Issue 16 on Azure: Slack's clicks on the slackActions HTTP function, acting on Table Storage (Azurite).
const SECRET = 'azure-slack-signing-secret-01234';
const HOST = 'tagwardentest.azurecr.io';

let azurite: RunningAzurite;
let responses: SlackStub;
beforeAll(async () => {
  [azurite, responses] = await Promise.all([startAzurite(), startSlackStub()]);
}, 60_000);
afterAll(async () => {
  await Promise.all([azurite?.stop(), responses?.close()]);
});

let counter = 0;
/** The app's dependencies on a fresh table; answers to `response_url`s allowed under `base` (null: Slack's). */
async function app(base: string | null = new URL(responses.url).origin) {
  counter += 1;
  const deps = await buildAzureDependencies({
    env: {
      TAGWARDEN_STORAGE: azurite.connectionString,
      TAGWARDEN_HISTORY_TABLE: `slackactions${Date.now() % 1e8}${counter}`,
      TAGWARDEN_POISON_QUEUE: `slack-poison-${Date.now() % 1e8}-${counter}`,
      POLICY: JSON.stringify(POLICY),
      ACR_WEBHOOK_SECRET: 'acr-webhook-secret-0123456789',
      TAGWARDEN_REGISTRIES: HOST,
    },
    registries: () => null,
    notifier: { notify: async () => {} } as never,
    log: silentLogger,
    now: () => NOW,
  });
  const settings = slackActionSettings({ SLACK_SIGNING_SECRET: SECRET }, silentLogger, base ?? undefined);
  const handler = slackActionsHandler(
    async () => deps,
    () => settings,
  );
  const post = (click: { rawBody: Buffer; headers: Record<string, string> }) =>
    handler(
      new HttpRequest({
        method: 'POST',
        url: 'http://localhost/api/slack/actions',
        headers: click.headers,
        body: { string: click.rawBody.toString() },
      }),
      new InvocationContext({ functionName: 'slackActions' }),
    );
  return { deps, post };
}

const overwritten = (store: Awaited<ReturnType<typeof app>>['deps']['store'], tag: string, policy = POLICY) =>
  recorded(store, HOST, tag, policy);

const signed = clicksSignedWith(SECRET, () => responses);

describe('Azure: POST /api/slack/actions (slackActions)', () => {
  it('approves B: history row, approved digest, the message updated; a replay is 401', async () => {
    const { deps, post } = await app();
    const ref = await overwritten(deps.store, 'approve', HELD);
    expect((await deps.store.tagState(ref))?.approvedDigest).toBe(A);
    const click = signed('approve', ref);
    expect((await post(click)).status).toBe(200);
    expect((await deps.store.tagState(ref))?.approvedDigest).toBe(B);
    const rows = await deps.store.history(ref);
    expect(rows.at(-1)?.actor).toBe(`approved by <@${APPROVER}> at ${NOW.toISOString()}`);
    expect(responses.messages.at(-1)?.text).toContain(`<@${APPROVER}> approved ${B}`);
    const replay = await post(click);
    expect(replay).toMatchObject({
      status: 401,
      jsonBody: { error: 'unauthorized: this click was already received (a replay)' },
    });
    expect(await deps.store.history(ref)).toHaveLength(rows.length);
  }, 30_000);

  it('queues a revert in the outbox and runs it at once, as after a webhook', async () => {
    const { deps, post } = await app();
    const ref = await overwritten(deps.store, 'revert');
    expect((await post(signed('revert', ref))).status).toBe(200);
    const id = (await deps.store.history(ref)).at(-1)!.eventId;
    const [effect, ...others] = await deps.store.effectsOf(id);
    expect(others).toEqual([]);
    expect([effect?.kind, effect?.effect.incident.restoreTo]).toEqual(['revert', A]);
    // Run at once: with no registry to act on here, the attempt is recorded rather than left untouched.
    expect(effect?.attempts).toBeGreaterThan(0);
  }, 30_000);

  it('refuses a non-approver (ephemeral, nothing recorded), a wrong signature and an old one', async () => {
    const { deps, post } = await app();
    const ref = await overwritten(deps.store, 'strangers', HELD);
    const before = await deps.store.history(ref);
    const stranger = await post(signed('revert', ref, 'U0STRANGER'));
    expect(stranger).toMatchObject({ status: 200, jsonBody: { response_type: 'ephemeral' } });
    expect(JSON.stringify(stranger.jsonBody)).toContain('not an approver');
    const value: ButtonValue = { kind: 'approve', ref: `${HOST}/billing/api:strangers`, from: A, to: B };
    const forged = signedClick(value, { secret: `${SECRET}x`, user: APPROVER, signedAt: NOW });
    const old = signedClick(value, {
      secret: SECRET,
      user: APPROVER,
      signedAt: new Date(NOW.getTime() - 6 * 60_000),
    });
    expect((await post(forged)).status).toBe(401);
    expect((await post(old)).status).toBe(401);
    expect(await deps.store.history(ref)).toEqual(before);
    expect((await deps.store.tagState(ref))?.approvedDigest).toBe(A);
  }, 30_000);

  it('posts to a response_url only under hooks.slack.com: a foreign one gets nothing', async () => {
    const { deps, post } = await app(null);
    const ref = await overwritten(deps.store, 'foreign', HELD);
    const received = responses.received;
    expect((await post(signed('approve', ref, APPROVER, `${responses.url}/x`))).status).toBe(200);
    expect((await deps.store.tagState(ref))?.approvedDigest).toBe(B);
    expect(responses.received).toBe(received);
  }, 30_000);

  it('is 404 naming the setting without SLACK_SIGNING_SECRET, 500 on an unresolved Key Vault reference', async () => {
    const { deps } = await app();
    const context = new InvocationContext({ functionName: 'slackActions' });
    const request = new HttpRequest({ method: 'POST', url: 'http://localhost/api/slack/actions' });
    const off = slackActionsHandler(
      async () => deps,
      (log) => slackActionSettings({}, log),
    );
    expect(await off(request, context)).toMatchObject({
      status: 404,
      jsonBody: {
        error: 'Slack actions are off: set the SLACK_SIGNING_SECRET app setting (see docs/slack.md)',
      },
    });
    const unresolved = slackActionsHandler(
      async () => deps,
      (log) =>
        slackActionSettings(
          { SLACK_SIGNING_SECRET: '@Microsoft.KeyVault(SecretUri=https://v/secrets/s/)' },
          log,
        ),
    );
    expect((await unresolved(request, context)).status).toBe(500);
  }, 30_000);
});
