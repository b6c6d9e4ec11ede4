import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import type { LambdaFunctionURLEvent } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { handleInteractions } from '../../functions/aws/interactions';
import {
  buildSlackUrlDeps,
  handleSlackUrl,
  type SlackUrlDeps,
  slackActionsRoute,
} from '../../functions/aws/slack-actions';
import type { TagRef } from '../../shared/core';
import { decodeRecord } from '../../shared/guard/queue-envelope';
import { createHistoryTable } from '../../shared/history/dynamodb';
import { type RunningDynamoDb, startDynamoDbLocal } from '../support/dynamodb-local';
import {
  A,
  APPROVER,
  B,
  clicksSignedWith,
  HELD,
  NOW,
  POLICY,
  overwritten as recorded,
  clickValue as value,
} from '../support/slack-click-cases';
import { signedClick } from '../support/slack-clicks';
import { type SlackStub, startSlackStub } from '../support/slack-stub';

// Issue 16 on AWS: Slack's clicks on the Interactions Function URL, acting on DynamoDB Local.
const SECRET = 'aws-slack-signing-secret-0123456';
const sqs = mockClient(SQSClient);
const secrets = mockClient(SecretsManagerClient);

let dynamo: RunningDynamoDb;
let responses: SlackStub;
beforeAll(async () => {
  [dynamo, responses] = await Promise.all([startDynamoDbLocal(), startSlackStub()]);
}, 60_000);
afterAll(async () => {
  await Promise.all([dynamo?.stop(), responses?.close()]);
});
beforeEach(() => {
  sqs.reset();
  sqs.on(SendMessageCommand).resolves({ MessageId: 'sent' });
  secrets.reset();
  secrets
    .on(GetSecretValueCommand)
    .resolves({ SecretString: JSON.stringify({ slackSigningSecret: SECRET }) });
});

let tables = 0;
/** The route's dependencies on a fresh table, answers to `response_url`s allowed to `base`. */
async function deployed(base: string | null = new URL(responses.url).origin) {
  tables += 1;
  const table = `slack-${tables}`;
  await createHistoryTable(dynamo.client, table);
  const deps = (await buildSlackUrlDeps({
    dynamodb: dynamo.client,
    sqs: new SQSClient({ region: 'eu-west-1', credentials: { accessKeyId: 'x', secretAccessKey: 'x' } }),
    secretsManager: new SecretsManagerClient({ region: 'eu-west-1' }),
    ...(base ? { responseUrlBase: base } : {}),
    env: {
      TABLE_NAME: table,
      QUEUE_URL: 'https://sqs.eu-west-1.amazonaws.com/123456789012/tagwarden',
      SECRET_ARN: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:Tagwarden/secrets',
      POLICY: JSON.stringify(POLICY),
    },
  })) as SlackUrlDeps;
  return deps;
}

/** A tag overwritten from A to B, as the consumer records it (under `policy`). */
const overwritten = (deps: SlackUrlDeps, tag: string, policy = POLICY) =>
  recorded(deps.store, '123456789012.dkr.ecr.eu-west-1.amazonaws.com', tag, policy);

/** The click as the Function URL hands it over: base64 when `base64` (Function URLs may encode bodies). */
function urlEvent(click: { rawBody: Buffer; headers: Record<string, string> }, base64 = false) {
  return {
    version: '2.0',
    routeKey: '$default',
    rawPath: '/slack/actions',
    rawQueryString: '',
    headers: click.headers,
    requestContext: { http: { method: 'POST', path: '/slack/actions', sourceIp: '203.0.113.9' } },
    body: base64 ? click.rawBody.toString('base64') : click.rawBody.toString('utf8'),
    isBase64Encoded: base64,
  } as unknown as LambdaFunctionURLEvent;
}

const signed = clicksSignedWith(SECRET, () => responses);

describe('AWS: POST /slack/actions on the Interactions Function URL', () => {
  it('approves B (base64 body): history row, approved digest, the message updated; a replay is 401', async () => {
    const deps = await deployed();
    // Recorded under a revert rule (say, before the policy changed): A stays the approved digest.
    const ref = await overwritten(deps, 'approve', HELD);
    expect((await deps.store.tagState(ref))?.approvedDigest).toBe(A);
    const click = signed('approve', ref);
    const answer = await handleSlackUrl(deps, urlEvent(click, true), NOW);
    expect(answer.status).toBe(200);
    expect((await deps.store.tagState(ref))?.approvedDigest).toBe(B);
    const rows = await deps.store.history(ref);
    expect(rows.at(-1)?.actor).toBe(`approved by <@${APPROVER}> at ${NOW.toISOString()}`);
    expect(responses.messages.at(-1)?.text).toContain(`<@${APPROVER}> approved ${B}`);
    const replay = await handleSlackUrl(deps, urlEvent(click), NOW);
    expect(replay).toEqual({
      status: 401,
      body: { error: 'unauthorized: this click was already received (a replay)' },
    });
    expect(await deps.store.history(ref)).toHaveLength(rows.length);
  }, 30_000);

  it('queues a revert in the DynamoDB outbox and wakes the consumer with an empty queue message', async () => {
    const deps = await deployed();
    const ref = await overwritten(deps, 'revert');
    const answer = await handleSlackUrl(deps, urlEvent(signed('revert', ref)), NOW);
    expect(answer.status).toBe(200);
    const id = (await deps.store.history(ref)).at(-1)!.eventId;
    const effects = await deps.store.effectsOf(id);
    expect(effects.map((e) => [e.kind, e.status, e.effect.incident.restoreTo])).toEqual([
      ['revert', 'pending', A],
    ]);
    const sent = sqs.commandCalls(SendMessageCommand).map((call) => call.args[0].input.MessageBody!);
    expect(sent).toHaveLength(1);
    expect(decodeRecord(sent[0]!)).toMatchObject({ ok: true, source: 'slack', events: [] });
  }, 30_000);

  it('refuses a non-approver (ephemeral, nothing recorded), a wrong signature and an old one', async () => {
    const deps = await deployed();
    const ref = await overwritten(deps, 'strangers', HELD);
    const before = await deps.store.history(ref);
    const stranger = await handleSlackUrl(deps, urlEvent(signed('revert', ref, 'U0STRANGER')), NOW);
    expect(stranger.status).toBe(200);
    expect(stranger.body).toMatchObject({ response_type: 'ephemeral' });
    expect(JSON.stringify(stranger.body)).toContain('not an approver');
    const forged = signedClick(value('approve', ref), {
      secret: `${SECRET}x`,
      user: APPROVER,
      signedAt: NOW,
    });
    expect((await handleSlackUrl(deps, urlEvent(forged), NOW)).status).toBe(401);
    const old = signedClick(value('approve', ref), {
      secret: SECRET,
      user: APPROVER,
      signedAt: new Date(NOW.getTime() - 6 * 60_000),
    });
    expect((await handleSlackUrl(deps, urlEvent(old), NOW)).status).toBe(401);
    expect(await deps.store.history(ref)).toEqual(before);
    expect((await deps.store.tagState(ref))?.approvedDigest).toBe(A);
    expect(sqs.commandCalls(SendMessageCommand)).toHaveLength(0);
  }, 30_000);

  it('posts to a response_url only under hooks.slack.com: a foreign one gets nothing', async () => {
    const deps = await deployed(null);
    const ref = await overwritten(deps, 'foreign');
    const received = responses.received;
    const answer = await handleSlackUrl(
      deps,
      urlEvent(signed('approve', ref, APPROVER, `${responses.url}/x`)),
      NOW,
    );
    expect(answer.status).toBe(200);
    expect((await deps.store.tagState(ref))?.approvedDigest).toBe(B);
    expect(responses.received).toBe(received);
  }, 30_000);

  it('is 404 naming the setting while the secret has no slackSigningSecret, 405 for GET', async () => {
    const off = {
      error: 'Slack actions are off: put slackSigningSecret in the Tagwarden secret (see docs/slack.md)',
    };
    expect(await slackActionsRoute(urlEvent(signed('approve', REF_OFF)), async () => undefined)).toEqual({
      status: 404,
      body: off,
    });
    const roots = { slack: async () => undefined, drift: async () => null };
    const routed = await handleInteractions(roots, urlEvent(signed('approve', REF_OFF)));
    expect([routed.statusCode, JSON.parse(routed.body)]).toEqual([404, off]);
    secrets.on(GetSecretValueCommand).resolves({ SecretString: '{}' });
    expect(
      await buildSlackUrlDeps({ secretsManager: new SecretsManagerClient({}), env: { SECRET_ARN: 'arn' } }),
    ).toBeUndefined();
    const get = { ...urlEvent(signed('approve', REF_OFF)), requestContext: { http: { method: 'GET' } } };
    expect((await handleSlackUrl({} as SlackUrlDeps, get as unknown as LambdaFunctionURLEvent)).status).toBe(
      405,
    );
  });
});

const REF_OFF: TagRef = { registryHost: 'r.example', repository: 'billing/api', tag: 'off' };
