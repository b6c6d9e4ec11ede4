import { createHmac } from 'node:crypto';
import type { ButtonValue } from '../../shared/adapters/notify/slack-buttons';
import { SlackResponseSender } from '../../shared/adapters/notify/slack-response';
import { verifySlackRequest } from '../../shared/auth/slack-signature';
import type { Policy, TagRef } from '../../shared/core';
import { handleSlackAction, type SlackActionDeps } from '../../shared/guard/slack-action';
import { MemoryHistoryStore } from '../../shared/history';
import type { Logger } from '../../shared/log';
import { digestOf, pushEvent } from '../support/events';
import { signedClick } from '../support/slack-clicks';

// Slack's worked example ("Verifying requests from Slack"): secret, timestamp, body and signature.
const DOC_SECRET = '8f742231b10e8888abcd99yyyzzz85a5';
const DOC_TS = '1531420618';
const DOC_BODY =
  'token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c';
const DOC_SIG = 'v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503';

describe("Slack's signature", () => {
  const headers = (signature: string, timestamp = DOC_TS) => ({
    'x-slack-signature': signature,
    'x-slack-request-timestamp': timestamp,
  });
  const docTime = Number(DOC_TS) * 1000;

  it("verifies Slack's documented example", () => {
    expect(verifySlackRequest(DOC_SECRET, headers(DOC_SIG), Buffer.from(DOC_BODY), docTime + 60_000)).toEqual(
      {
        ok: true,
      },
    );
  });

  it('refuses a changed body, another secret, a missing header, and a timestamp over five minutes off', () => {
    const body = Buffer.from(DOC_BODY);
    expect(verifySlackRequest(DOC_SECRET, headers(DOC_SIG), Buffer.from(`${DOC_BODY}x`), docTime).ok).toBe(
      false,
    );
    expect(verifySlackRequest(`${DOC_SECRET}0`, headers(DOC_SIG), body, docTime).ok).toBe(false);
    expect(verifySlackRequest(DOC_SECRET, { 'x-slack-signature': DOC_SIG }, body, docTime)).toEqual({
      ok: false,
      reason: 'missing X-Slack-Request-Timestamp header',
    });
    const late = verifySlackRequest(DOC_SECRET, headers(DOC_SIG), body, docTime + 5 * 60_000 + 1000);
    const early = verifySlackRequest(DOC_SECRET, headers(DOC_SIG), body, docTime - 5 * 60_000 - 1000);
    expect([late.ok, early.ok]).toEqual([false, false]);
    expect(late).toEqual({
      ok: false,
      reason: 'X-Slack-Request-Timestamp is more than five minutes from now',
    });
  });
});

const SECRET = 'test-signing-secret-0123456789ab';
const APPROVER = 'U0APPROVER';
const OTHER = 'U0STRANGER';
const ref: TagRef = { registryHost: '127.0.0.1:5000', repository: 'billing/api', tag: 'v2' };
const A = digestOf('a');
const B = digestOf('b');
const C = digestOf('c');
const policy: Policy = {
  defaults: { action: 'alert', owners: [], bump: false },
  rules: [
    { match: { repository: 'billing/*' }, action: 'alert', owners: ['#billing', APPROVER], bump: false },
  ],
};
const NOW = new Date('2026-11-22T12:00:00.000Z');

/** A click as Slack sends it: form-encoded `payload`, signed now (or at `signedAt`). */
function click(
  value: ButtonValue,
  options: { user?: string; responseUrl?: string; signedAt?: Date; secret?: string } = {},
) {
  const signed = signedClick(value, {
    secret: options.secret ?? SECRET,
    user: options.user ?? APPROVER,
    signedAt: options.signedAt ?? NOW,
    ...(options.responseUrl ? { responseUrl: options.responseUrl } : {}),
  });
  return { ...signed, now: NOW };
}

function setup() {
  const store = new MemoryHistoryStore();
  const posted: { url: string; body: Record<string, unknown> }[] = [];
  const warnings: string[] = [];
  const log: Logger = { info: () => {}, warn: (m) => warnings.push(m), error: () => {} };
  const fetchStub = (async (url: string, init: RequestInit) => {
    posted.push({ url, body: JSON.parse(String(init.body)) });
    return new Response('ok');
  }) as typeof fetch;
  let woken = 0;
  const deps: SlackActionDeps = {
    signingSecret: SECRET,
    store,
    policy,
    log,
    responder: new SlackResponseSender({ log, fetch: fetchStub }),
    wake: () => {
      woken += 1;
    },
  };
  const push = (digest: string, second: number) =>
    store.apply(
      pushEvent({ ...ref, digest, timestamp: new Date(Date.UTC(2026, 10, 22, 10, 0, second)).toISOString() }),
      policy,
      NOW.toISOString(),
    );
  return { store, deps, posted, warnings, push, woken: () => woken };
}

const value = (kind: ButtonValue['kind'], from = A, to = B): ButtonValue => ({
  kind,
  ref: '127.0.0.1:5000/billing/api:v2',
  from,
  to,
});

describe('POST /slack/actions (handleSlackAction)', () => {
  it('refuses a bad signature and an old timestamp with 401, before reading the click', async () => {
    const { deps, store, push, posted } = setup();
    await push(A, 0);
    await push(B, 1);
    const forged = await handleSlackAction(
      deps,
      click(value('approve'), { secret: 'another-secret-0123456789' }),
    );
    const old = await handleSlackAction(
      deps,
      click(value('approve'), { signedAt: new Date(NOW.getTime() - 6 * 60_000) }),
    );
    expect([forged.status, old.status]).toEqual([401, 401]);
    expect((await store.tagState(ref))?.approvedDigest).toBe(B); // alerted move; untouched
    expect((await store.history(ref)).length).toBe(2);
    expect(posted).toEqual([]);
  });

  it('lets an approver approve the digest the tag serves, records who in history, and refuses a replay', async () => {
    const { deps, store, push, posted } = setup();
    await push(A, 0);
    await push(B, 1);
    await store.approveDigest(ref, B);
    const request = click(value('approve'));
    const result = await handleSlackAction(deps, request);
    expect(result.status).toBe(200);
    const history = await store.history(ref);
    expect(history.at(-1)).toMatchObject({ digest: B, transition: 'unchanged' });
    expect(history.at(-1)?.actor).toMatch(/^approved by <@U0APPROVER> at 2026-11-22T12:00:00.000Z$/);
    expect(posted).toHaveLength(1);
    expect(posted[0]!.body).toMatchObject({ replace_original: true });
    expect(String(posted[0]!.body.text)).toContain('<@U0APPROVER> approved');

    const replay = await handleSlackAction(deps, request);
    expect(replay.status).toBe(401);
    expect((await store.history(ref)).length).toBe(history.length);
    expect(posted).toHaveLength(1);
  });

  it('tells a non-approver no, ephemerally, logs it and changes nothing', async () => {
    const { deps, store, push, posted, warnings, woken } = setup();
    await push(A, 0);
    await push(B, 1);
    const result = await handleSlackAction(deps, click(value('revert'), { user: OTHER }));
    expect(result.status).toBe(200);
    expect(result.body).toMatchObject({ response_type: 'ephemeral', replace_original: false });
    expect(posted[0]!.body).toMatchObject({ response_type: 'ephemeral' });
    expect(warnings).toContain('slack action by a non-approver refused');
    expect(await store.effectsOf('x')).toEqual([]);
    expect((await store.history(ref)).length).toBe(2);
    expect(woken()).toBe(0);
  });

  it('queues a revert through the outbox like a policy revert, bound to the digests of the alert', async () => {
    const { deps, store, push, woken } = setup();
    await push(A, 0);
    await push(B, 1);
    const result = await handleSlackAction(deps, click(value('revert')));
    expect(result.status).toBe(200);
    const last = (await store.history(ref)).at(-1)!;
    const effects = await store.effectsOf(last.eventId);
    expect(effects.map((e) => e.kind)).toEqual(['revert']);
    expect(effects[0]!.effect.incident).toMatchObject({ from: A, to: B, restoreTo: A, ref });
    expect(woken()).toBe(1);
  });

  it('does nothing on a stale alert: the approval of B no longer applies once the tag moved to C', async () => {
    const { deps, store, push, posted } = setup();
    await push(A, 0);
    await push(B, 1);
    await push(C, 2);
    const approve = await handleSlackAction(deps, click(value('approve')));
    const revert = await handleSlackAction(deps, click(value('revert')));
    expect([approve.status, revert.status]).toEqual([200, 200]);
    expect(approve.body).toMatchObject({ response_type: 'ephemeral' });
    expect(String((approve.body as { text: string }).text)).toContain(`it serves ${C} now, not ${B}`);
    expect((await store.tagState(ref))?.approvedDigest).toBe(C);
    expect((await store.history(ref)).map((h) => h.digest)).toEqual([A, B, C]);
    expect(posted.every((p) => p.body.response_type === 'ephemeral')).toBe(true);
  });

  it('"put it back" restores the new digest over the old once the policy revert ran, not before', async () => {
    const { deps, store, push, woken } = setup();
    await push(A, 0);
    await push(B, 1);
    const early = await handleSlackAction(deps, click(value('putBack')));
    expect(String((early.body as { text: string }).text)).toContain('has not run yet');
    await push(A, 2); // the tag serves the old digest again (as after a policy revert)
    const result = await handleSlackAction(deps, click(value('putBack')));
    expect(result.status).toBe(200);
    const last = (await store.history(ref)).at(-1)!;
    const [effect] = await store.effectsOf(last.eventId);
    expect(effect?.effect.incident).toMatchObject({ from: B, to: A, restoreTo: B });
    expect(woken()).toBe(1);
  });

  it('"Retry" makes a failed effect of the tag due now, once', async () => {
    const { deps, store, push, woken } = setup();
    await push(A, 0);
    const [alert] = (await push(B, 1)).effects;
    await store.updateEffect(alert!.key, { status: 'failed', error: 'Slack said no' }, NOW.toISOString());
    const retry = { kind: 'retry' as const, ref: '127.0.0.1:5000/billing/api:v2', key: alert!.key };
    expect((await handleSlackAction(deps, click(retry))).status).toBe(200);
    const [after] = await store.effectsOf(alert!.eventId);
    expect(after).toMatchObject({ status: 'pending', nextAttemptAt: NOW.toISOString() });
    const again = await handleSlackAction(deps, click(retry));
    expect(String((again.body as { text: string }).text)).toContain('is pending, not failed');
    expect(woken()).toBe(1);
  });

  it('never posts to a response_url outside hooks.slack.com', async () => {
    const { deps, push, posted } = setup();
    await push(A, 0);
    await push(B, 1);
    for (const url of [
      'https://evil.example/steal',
      'https://hooks.slack.com.evil.example/x',
      'https://user@hooks.slack.com/x',
      'http://hooks.slack.com/x',
      'http://127.0.0.1:9/x',
    ]) {
      const result = await handleSlackAction(deps, click(value('approve'), { responseUrl: url }));
      expect(result.status).toBe(200);
    }
    expect(posted).toEqual([]);
  });

  it('answers 400 to a signed body that is not one of our clicks', async () => {
    const { deps } = setup();
    const retry = click({ kind: 'retry', ref: '127.0.0.1:5000/billing/api:v2', key: 'nope#revert' });
    const body = Buffer.from('payload=%7Bnot-json');
    const timestamp = String(Math.floor(NOW.getTime() / 1000));
    const sig = `v0=${createHmac('sha256', SECRET).update(`v0:${timestamp}:${body.toString()}`).digest('hex')}`;
    const garbage = await handleSlackAction(deps, {
      rawBody: body,
      headers: { 'x-slack-signature': sig, 'x-slack-request-timestamp': timestamp },
      now: NOW,
    });
    expect(garbage.status).toBe(400);
    const stale = await handleSlackAction(deps, retry);
    expect(stale.status).toBe(200);
    expect(String((stale.body as { text: string }).text)).toContain('there is no effect nope#revert');
  });
});
