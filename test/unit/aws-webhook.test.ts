import { SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import type { LambdaFunctionURLEvent } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { handleWebhook, type WebhookDeps } from '../../functions/aws/webhook';
import { buildWebhookDependencies, webhookSourceAuth } from '../../functions/aws/webhook-dependencies';
import { decodeRecord } from '../../shared/guard/queue-envelope';
import { silentLogger } from '../../shared/log';
import { secretsManagerHolding } from '../support/aws-mocks';
import { digestOf } from '../support/events';

const TOKEN = 'lambda-token-0123456789ab';
const sqs = mockClient(SQSClient);
const deps: WebhookDeps = {
  auth: (source) => (source === 'distribution' || source === 'acr-eventgrid' ? { token: TOKEN } : null),
  sqs: new SQSClient({ region: 'us-east-1', credentials: { accessKeyId: 'x', secretAccessKey: 'x' } }),
  queueUrl: 'https://sqs.us-east-1.amazonaws.com/123456789012/tagwarden',
  log: silentLogger,
  now: () => new Date('2026-11-22T10:00:05Z'),
};

function urlEvent(
  path: string,
  options: {
    method?: string;
    body?: string;
    headers?: Record<string, string>;
    query?: string;
    base64?: boolean;
  } = {},
): LambdaFunctionURLEvent {
  const body = options.body ?? '';
  return {
    version: '2.0',
    routeKey: '$default',
    rawPath: path,
    rawQueryString: options.query ?? '',
    headers: { 'content-type': 'application/json', ...options.headers },
    requestContext: { http: { method: options.method ?? 'POST', path } },
    body: options.base64 ? Buffer.from(body).toString('base64') : body,
    isBase64Encoded: options.base64 ?? false,
  } as unknown as LambdaFunctionURLEvent;
}

const envelope = JSON.stringify({
  events: [
    {
      id: 'd-1',
      timestamp: '2026-11-22T10:00:00Z',
      action: 'push',
      target: {
        mediaType: 'application/vnd.oci.image.manifest.v1+json',
        digest: digestOf(1),
        repository: 'payments/api',
        tag: 'v1',
      },
      request: { host: 'registry.example.com' },
      actor: { name: 'alice' },
    },
    {
      id: 'd-2',
      timestamp: '2026-11-22T10:00:01Z',
      action: 'pull',
      target: { digest: digestOf(1), repository: 'payments/api' },
    },
  ],
});

beforeEach(() => {
  sqs.reset();
  sqs.on(SendMessageCommand).resolves({ MessageId: 'm-1' });
});

describe('the AWS webhook function', () => {
  describe('sources without credentials and ECR events are refused (issue 11, item 2)', () => {
    // As the secret gives them: a token for distribution only, nothing for acr-eventgrid, open ignored.
    const closed: WebhookDeps = {
      ...deps,
      auth: webhookSourceAuth({ distribution: { token: TOKEN }, harbor: { open: true } }),
    };
    const eventGridPush = JSON.stringify([
      {
        id: 'forged-1',
        subject: 'payments/api:v1',
        eventType: 'Microsoft.ContainerRegistry.ImagePushed',
        eventTime: '2026-11-22T10:00:00Z',
        dataVersion: '1.0',
        data: {
          id: 'forged-1',
          timestamp: '2026-11-22T10:00:00Z',
          action: 'push',
          target: { digest: digestOf('forged'), repository: 'payments/api', tag: 'v1' },
          request: { host: 'demo.azurecr.io' },
        },
      },
    ]);

    test('a forged, unauthenticated acr-eventgrid push is refused 401 and nothing is queued', async () => {
      const result = await handleWebhook(
        closed,
        urlEvent('/webhooks/acr-eventgrid', { body: eventGridPush }),
      );
      expect(result.statusCode).toBe(401);
      expect(JSON.parse(result.body).error).toBe(
        'unauthorized: no token or secret is configured for this source',
      );
      const open = await handleWebhook(closed, urlEvent('/webhooks/harbor', { body: '{}' }));
      expect(open.statusCode).toBe(401);
      expect(sqs.commandCalls(SendMessageCommand)).toHaveLength(0);
    });

    test('never takes ECR events: the ecr source is not enabled, and ECR hosts from another source are rejected', async () => {
      const ecr = await handleWebhook(
        closed,
        urlEvent('/webhooks/ecr', { body: '{}', headers: { authorization: `Bearer ${TOKEN}` } }),
      );
      expect(ecr.statusCode).toBe(404);
      const ecrHost = '123456789012.dkr.ecr.us-east-1.amazonaws.com';
      const viaDistribution = await handleWebhook(
        closed,
        urlEvent('/webhooks/distribution', {
          body: envelope.replace('registry.example.com', ecrHost),
          headers: { authorization: `Bearer ${TOKEN}` },
        }),
      );
      expect(viaDistribution.statusCode).toBe(202);
      expect(JSON.parse(viaDistribution.body)).toMatchObject({
        accepted: 0,
        rejected: [expect.stringContaining(`registry host "${ecrHost}" is Amazon ECR`)],
      });
      const calls = sqs.commandCalls(SendMessageCommand);
      expect(calls).toHaveLength(1);
      for (const call of calls) {
        const decoded = decodeRecord(call.args[0].input.MessageBody!);
        expect(decoded).toMatchObject({ ok: true, events: [] });
      }
    });
  });

  test('authenticates, parses and queues the normalized events, then acknowledges with 202', async () => {
    const result = await handleWebhook(
      deps,
      urlEvent('/webhooks/distribution', { body: envelope, headers: { authorization: `Bearer ${TOKEN}` } }),
    );
    expect(result.statusCode).toBe(202);
    expect(JSON.parse(result.body as string)).toMatchObject({
      accepted: 1,
      ignored: [expect.stringContaining('pull')],
    });
    const sent = sqs.commandCalls(SendMessageCommand);
    expect(sent).toHaveLength(1);
    expect(sent[0]!.args[0].input.QueueUrl).toBe(deps.queueUrl);
    // The consumer reads back exactly the event the parser produced.
    const decoded = decodeRecord(sent[0]!.args[0].input.MessageBody!);
    expect(decoded).toMatchObject({
      ok: true,
      source: 'distribution',
      receivedAt: '2026-11-22T10:00:05.000Z',
      events: [{ id: 'distribution:d-1', tag: 'v1', digest: digestOf(1) }],
    });
  });

  test('reads a base64-encoded body as the Function URL delivers binary content types', async () => {
    const result = await handleWebhook(
      deps,
      urlEvent('/webhooks/distribution', {
        body: envelope,
        base64: true,
        headers: { authorization: `Bearer ${TOKEN}` },
      }),
    );
    expect(result.statusCode).toBe(202);
  });

  test('refuses a wrong or missing token with 401 and queues nothing', async () => {
    expect(
      (await handleWebhook(deps, urlEvent('/webhooks/distribution', { body: envelope }))).statusCode,
    ).toBe(401);
    expect(
      (
        await handleWebhook(
          deps,
          urlEvent('/webhooks/distribution', { body: envelope, headers: { authorization: 'Bearer nope' } }),
        )
      ).statusCode,
    ).toBe(401);
    expect(sqs.commandCalls(SendMessageCommand)).toHaveLength(0);
  });

  test('answers 400 with the reason to malformed JSON, 413 to an oversized body, 404 elsewhere, 405 to GET', async () => {
    const auth = { authorization: `Bearer ${TOKEN}` };
    const bad = await handleWebhook(
      deps,
      urlEvent('/webhooks/distribution', { body: '{"events": [', headers: auth }),
    );
    expect(bad.statusCode).toBe(400);
    expect(JSON.parse(bad.body as string).error).toMatch(/not valid JSON/);
    expect(
      (
        await handleWebhook(
          deps,
          urlEvent('/webhooks/distribution', { body: 'x'.repeat(1024 * 1024 + 1), headers: auth }),
        )
      ).statusCode,
    ).toBe(413);
    expect((await handleWebhook(deps, urlEvent('/elsewhere'))).statusCode).toBe(404);
    expect(
      (await handleWebhook(deps, urlEvent('/webhooks/distribution', { method: 'GET' }))).statusCode,
    ).toBe(405);
    expect(sqs.commandCalls(SendMessageCommand)).toHaveLength(0);
  });

  test('security: every answer says nosniff, so no browser reads an echoed input as HTML (202, 401, 404, 405)', async () => {
    const auth = { authorization: `Bearer ${TOKEN}` };
    const answers = [
      await handleWebhook(deps, urlEvent('/webhooks/distribution', { body: envelope, headers: auth })),
      await handleWebhook(deps, urlEvent('/webhooks/distribution', { body: '<script>alert(1)</script>' })),
      await handleWebhook(deps, urlEvent('/<script>alert(1)</script>')),
      await handleWebhook(deps, urlEvent('/webhooks/distribution', { method: 'GET' })),
    ];
    expect(answers.map((a) => a.statusCode)).toEqual([202, 401, 404, 405]);
    for (const a of answers) expect(a.headers['x-content-type-options']).toBe('nosniff');
    expect(answers[3]!.headers).toMatchObject({ allow: 'POST', 'content-type': 'application/json' });
  });

  test('security: a source name that is not valid percent-encoding is a 400 with the reason, not a crash of the function', async () => {
    const answer = await handleWebhook(deps, urlEvent('/webhooks/%E0%A4%A', { body: envelope }));
    expect(answer.statusCode).toBe(400);
    expect(JSON.parse(answer.body).error).toBe('the source name in the path is not valid percent-encoding');
    expect(sqs.commandCalls(SendMessageCommand)).toHaveLength(0);
  });

  test('answers the Event Grid handshakes itself and queues nothing for them', async () => {
    const validation = JSON.stringify([
      {
        id: 'v',
        eventType: 'Microsoft.EventGrid.SubscriptionValidationEvent',
        data: { validationCode: 'code-123' },
      },
    ]);
    const answer = await handleWebhook(
      deps,
      urlEvent('/webhooks/acr-eventgrid', { body: validation, query: `token=${TOKEN}` }),
    );
    expect(answer.statusCode).toBe(200);
    expect(JSON.parse(answer.body as string)).toEqual({ validationResponse: 'code-123' });
    const options = await handleWebhook(
      deps,
      urlEvent('/webhooks/acr-eventgrid', {
        method: 'OPTIONS',
        query: `token=${TOKEN}`,
        headers: { 'webhook-request-origin': 'eventgrid.azure.net' },
      }),
    );
    expect(options.statusCode).toBe(200);
    expect(options.headers).toMatchObject({ 'WebHook-Allowed-Origin': 'eventgrid.azure.net' });
    expect(sqs.commandCalls(SendMessageCommand)).toHaveLength(0);
  });

  test('asks the registry to retry with 503 when the queue refuses the message', async () => {
    sqs.on(SendMessageCommand).rejects(new Error('ServiceUnavailable'));
    const result = await handleWebhook(
      deps,
      urlEvent('/webhooks/distribution', { body: envelope, headers: { authorization: `Bearer ${TOKEN}` } }),
    );
    expect(result.statusCode).toBe(503);
  });

  test('queues a manifest deleted by digest with the events, namespaced; the consumer reads it back', async () => {
    const body = JSON.parse(envelope) as { events: Record<string, unknown>[] };
    const target = { digest: digestOf(9), repository: 'payments/api' };
    const deleted = { ...body.events[0]!, id: 'del-1', action: 'delete', target };
    const result = await handleWebhook(
      deps,
      urlEvent('/webhooks/distribution', {
        body: JSON.stringify({ events: [deleted] }),
        headers: { authorization: `Bearer ${TOKEN}` },
      }),
    );
    expect(result.statusCode).toBe(202);
    expect(JSON.parse(result.body)).toMatchObject({ accepted: 0, ignored: [expect.any(String)] });
    const sent = sqs.commandCalls(SendMessageCommand);
    expect(sent).toHaveLength(1);
    expect(decodeRecord(sent[0]!.args[0].input.MessageBody!)).toMatchObject({
      ok: true,
      events: [],
      rejected: [],
      digestDeletes: [
        {
          id: 'distribution:del-1',
          registryHost: 'registry.example.com',
          repository: 'payments/api',
          digest: digestOf(9),
        },
      ],
    });
  });
});

describe('a queued manifest delete by digest', () => {
  const message = (digestDeletes: unknown[]) =>
    JSON.stringify({
      kind: 'tagwarden-events',
      source: 'acr',
      receivedAt: '2026-11-22T10:00:05Z',
      events: [],
      rejected: [],
      digestDeletes,
    });
  const valid = {
    id: 'd-1',
    registryHost: 'r.azurecr.io',
    repository: 'payments/api',
    digest: digestOf(1),
    timestamp: null,
    actor: null,
  };

  test('is checked like a queued event: a bad one is rejected with its reason, the others kept', () => {
    const decoded = decodeRecord(
      message([
        { ...valid, digest: 'sha256:nope' },
        { ...valid, registryHost: '' },
        'x',
        { ...valid, timestamp: 'soon' },
        valid,
      ]),
    );
    expect(decoded).toMatchObject({
      ok: true,
      rejected: [
        expect.stringMatching(/^digestDeletes\[0\]: digest "sha256:nope" is not a valid digest/),
        'digestDeletes[1]: registryHost must be a non-empty string',
        'digestDeletes[2]: not an object',
        'digestDeletes[3]: timestamp must be an ISO-8601 time or null',
      ],
      digestDeletes: [{ ...valid, id: 'acr:d-1' }],
    });
  });

  test('is absent from messages of older versions: none', () => {
    expect(decodeRecord(message([]).replace(',"digestDeletes":[]', ''))).toMatchObject({
      ok: true,
      digestDeletes: [],
    });
  });
});

describe('the webhook composition root', () => {
  const SECRET_ARN = 'arn:aws:secretsmanager:us-east-1:123456789012:secret:tagwarden-AbCdEf';
  const secretsHolding = (secret: unknown) => secretsManagerHolding('us-east-1', SECRET_ARN, secret);

  it('never opens a source on the Function URL: one without a token or secret is refused, ecr is not enabled', async () => {
    const built = await buildWebhookDependencies({
      sqs: deps.sqs,
      secretsManager: secretsHolding({
        sources: {
          distribution: { token: TOKEN },
          harbor: { open: true },
          ghcr: { secret: 'hmac-secret-0123456789' },
          ecr: { token: TOKEN },
        },
      }),
      env: { QUEUE_URL: deps.queueUrl, SECRET_ARN },
    });
    expect(built.queueUrl).toBe(deps.queueUrl);
    expect(built.auth('distribution')).toEqual({ token: TOKEN });
    expect(built.auth('ghcr')).toEqual({ secret: 'hmac-secret-0123456789' });
    // No credentials: enabled, so every request is refused with 401 (open is ignored here).
    expect(built.auth('harbor')).toEqual({});
    expect(built.auth('quay')).toEqual({});
    // ECR events come from EventBridge through the queue, never through the public webhook.
    expect(built.auth('ecr')).toBeNull();
  });

  it('refuses to start with a guessable source token in the secret, which it used to accept', async () => {
    const built = buildWebhookDependencies({
      sqs: deps.sqs,
      secretsManager: secretsHolding({ sources: { distribution: { token: 'guessable' } } }),
      env: { QUEUE_URL: deps.queueUrl, SECRET_ARN },
    });
    // Before: built, and `Authorization: Bearer guessable` was answered 202 and queued.
    await expect(built).rejects.toThrow(
      'the Tagwarden secret is invalid: sources.distribution.token: must be a string of at least 16 characters',
    );
  });

  it('refuses to start with a source name no parser knows, which it used to answer 401 for ever', async () => {
    const built = buildWebhookDependencies({
      sqs: deps.sqs,
      secretsManager: secretsHolding({ sources: { harbour: { token: TOKEN } } }),
      env: { QUEUE_URL: deps.queueUrl, SECRET_ARN },
    });
    await expect(built).rejects.toThrow(
      'the Tagwarden secret is invalid: sources: unknown source "harbour"; known sources: ',
    );
  });

  it('does not echo a source name that is not a plain name (a token pasted as the name)', async () => {
    const built = buildWebhookDependencies({
      sqs: deps.sqs,
      secretsManager: secretsHolding({ sources: { 'pasted token 0123456789abcdef': { token: TOKEN } } }),
      env: { QUEUE_URL: deps.queueUrl, SECRET_ARN },
    });
    await expect(built).rejects.toThrow('sources: unknown source a key of 29 characters; known sources: ');
    await expect(built).rejects.not.toThrow('0123456789abcdef');
  });

  it('refuses to build without a queue', async () => {
    await expect(buildWebhookDependencies({ env: {} })).rejects.toThrow('QUEUE_URL is not set');
  });
});
