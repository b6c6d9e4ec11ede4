import { createServer, type Server } from 'node:http';
import { AzureNamedKeyCredential, TableClient } from '@azure/data-tables';
import { HttpRequest, type HttpResponseInit, InvocationContext } from '@azure/functions';
import { Command } from 'commander';
import { acrWebhookHandler } from '../../functions/azure/acr-webhook';
import {
  type AzureDependencies,
  type AzureEnvironment,
  type AzureOverrides,
  buildAzureDependencies,
  openTableStore,
} from '../../functions/azure/dependencies';
import { effectsTimerHandler } from '../../functions/azure/effects';
import { eventGridTriggerHandler, eventGridWebhookHandler } from '../../functions/azure/event-grid';
import { registerPoisonCommands } from '../../functions/local/azure-poison-command';
import { DigestBump } from '../../shared/contracts/cluster-bump/payload';
import { listPoison, replayPoison } from '../../shared/guard/poison';
import type { HistoryStore } from '../../shared/history/port';
import { silentLogger } from '../../shared/log';
import { AZURITE_ACCOUNT, AZURITE_KEY, type RunningAzurite, startAzurite } from '../support/azurite';
import { type ClusterReceiver, startClusterReceiver } from '../support/cluster-receiver';
import { type FakeAcr, startFakeAcr, staticCredential } from '../support/fake-acr';
import { manifestFor } from '../support/fake-registry';
import { type SlackStub, startSlackStub } from '../support/slack-stub';
import { eventually } from '../support/tagwarden';

const SECRET = 'acr-webhook-secret-0123456789';
const HOST = 'tagwardentest.azurecr.io';
const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';

const POLICY = {
  rules: [
    { match: { repository: 'payments-api' }, action: 'lock' },
    { match: { repository: 'orders' }, action: 'revert' },
    { match: { repository: 'web' }, action: 'alert' },
    { match: { repository: 'frontend', tag: 'latest' }, action: 'allow', bump: true },
  ],
};
const CLUSTER_SECRET = 'azure-cluster-hmac-key-0123456789';

let azurite: RunningAzurite;
let slack: SlackStub;
let acr: FakeAcr;
let unavailable: Server;
let unavailableUrl: string;
let receiver: ClusterReceiver;
let counter = 0;

beforeAll(async () => {
  [azurite, slack, acr, receiver] = await Promise.all([
    startAzurite(),
    startSlackStub(),
    startFakeAcr({ loginServer: HOST }),
    startClusterReceiver(CLUSTER_SECRET),
  ]);
  // Stands in for a Table service that is down: every request gets a 503.
  unavailable = createServer((_req, res) => {
    res.writeHead(503, { 'content-type': 'application/json' }).end('{"odata.error":{"code":"ServerBusy"}}');
  });
  await new Promise<void>((resolve) => unavailable.listen(0, '127.0.0.1', resolve));
  unavailableUrl = `http://127.0.0.1:${(unavailable.address() as { port: number }).port}/devstoreaccount1`;
}, 60_000);

afterAll(async () => {
  await new Promise<void>((resolve) => {
    unavailable.close(() => resolve());
    unavailable.closeAllConnections();
  });
  await Promise.all([slack.close(), azurite.stop(), acr.stop(), receiver.close()]);
});

beforeEach(() => {
  slack.messages.length = 0;
});

interface Harness {
  deps: AzureDependencies;
  table: string;
  queue: string;
  webhook: (request: HttpRequest) => Promise<HttpResponseInit>;
  eventGridHttp: (request: HttpRequest) => Promise<HttpResponseInit>;
  timer: () => Promise<void>;
}

/**
 * The composition root as deployed: Table Storage history and the poison queue on real Azurite (a
 * fresh table and queue per test), Slack (stub), and `AcrRegistry` on the fake ACR data plane,
 * which records every call. `tableUnavailable` points the table at a server answering 503.
 */
async function harness(
  options: {
    queue?: string;
    tableUnavailable?: boolean;
    registryIds?: string;
    armFor?: AzureOverrides['armFor'];
    /** More app settings (e.g. TAGWARDEN_CLUSTERS). */
    env?: AzureEnvironment;
  } = {},
): Promise<Harness> {
  counter += 1;
  const table = `tagwarden${Date.now() % 1e8}${counter}`;
  const queue = options.queue ?? `tagwarden-poison-${Date.now() % 1e8}-${counter}`;
  const deps = await buildAzureDependencies({
    env: {
      TAGWARDEN_STORAGE: azurite.connectionString,
      TAGWARDEN_HISTORY_TABLE: table,
      TAGWARDEN_POISON_QUEUE: queue,
      POLICY: JSON.stringify(POLICY),
      SLACK_WEBHOOK_URL: slack.url,
      ACR_WEBHOOK_SECRET: SECRET,
      TAGWARDEN_REGISTRIES: HOST,
      ...(options.registryIds ? { TAGWARDEN_REGISTRY_IDS: options.registryIds } : {}),
      ...options.env,
    },
    ...(options.armFor ? { armFor: options.armFor } : {}),
    credential: staticCredential(),
    acrEndpointFor: () => acr.endpoint,
    // The unavailable table without the SDK's own retries, so the test does not wait out its backoff.
    ...(options.tableUnavailable
      ? {
          openStore: (client: TableClient) =>
            openTableStore(
              new TableClient(
                unavailableUrl,
                client.tableName,
                new AzureNamedKeyCredential(AZURITE_ACCOUNT, AZURITE_KEY),
                {
                  allowInsecureConnection: true,
                  retryOptions: { maxRetries: 0 },
                },
              ),
              silentLogger,
            ),
        }
      : {}),
    log: silentLogger,
  });
  const provider = async () => deps;
  const timerHandler = effectsTimerHandler(provider);
  return {
    deps,
    table,
    queue,
    webhook: (request) => acrWebhookHandler(provider)(request, context()),
    eventGridHttp: (request) => eventGridWebhookHandler(provider)(request, context()),
    timer: () => timerHandler({ isPastDue: false, scheduleStatus: undefined } as never, context()),
  };
}

function context(): InvocationContext {
  return new InvocationContext({
    invocationId: `test-${counter}`,
    functionName: 'tagwarden',
    logHandler: () => {},
  });
}

function acrBody(id: string, repository: string, tag: string, digest: string, timestamp: string): string {
  return JSON.stringify({
    id,
    timestamp,
    action: 'push',
    target: { mediaType: OCI_MANIFEST, size: 524, digest, length: 524, repository, tag },
    request: { id: `req-${id}`, host: HOST, method: 'PUT', useragent: 'docker/27.0' },
  });
}

function acrRequest(body: string, headers: Record<string, string> = { authorization: `Bearer ${SECRET}` }) {
  return new HttpRequest({
    method: 'POST',
    url: 'https://tagwarden.azurewebsites.net/api/webhooks/acr',
    headers: { 'content-type': 'application/json', ...headers },
    body: { string: body },
  });
}

function eventGridRequest(
  body: unknown,
  token = SECRET,
  method = 'POST',
  headers: Record<string, string> = {},
) {
  return new HttpRequest({
    method,
    url: `https://tagwarden.azurewebsites.net/api/webhooks/acr-eventgrid?token=${token}`,
    headers: { 'content-type': 'application/json', ...headers },
    query: { token },
    ...(method === 'POST' ? { body: { string: JSON.stringify(body) } } : {}),
  });
}

function imagePushed(id: string, repository: string, tag: string, digest: string) {
  return {
    id,
    topic:
      '/subscriptions/0000/resourceGroups/rg/providers/Microsoft.ContainerRegistry/registries/tagwardentest',
    subject: `${repository}:${tag}`,
    eventType: 'Microsoft.ContainerRegistry.ImagePushed',
    eventTime: '2026-12-01T04:00:00Z',
    dataVersion: '1.0',
    metadataVersion: '1',
    data: {
      id,
      timestamp: '2026-12-01T04:00:00Z',
      action: 'push',
      target: { mediaType: OCI_MANIFEST, size: 524, digest, length: 524, repository, tag },
      request: { id: `req-${id}`, host: HOST, method: 'PUT', useragent: 'docker/27.0' },
    },
  };
}

/** Runs the effects timer until `probe` holds: retries and alerts that wait for a revert settle there. */
async function settle<T>(h: Harness, probe: () => T | undefined, what: string): Promise<T> {
  return eventually(async () => {
    await h.timer();
    return probe();
  }, what);
}

async function pendingEffects(store: HistoryStore, eventId: string): Promise<number> {
  return (await store.effectsOf(eventId)).filter((e) => e.status === 'pending').length;
}

/** Pushes an image to the fake ACR, as `docker push` would (no event is sent). */
function push(repository: string, tag: string, seed: string) {
  const manifest = manifestFor(seed);
  expect(acr.setTag(repository, tag, manifest.bytes, manifest.mediaType)).toBe(manifest.digest);
  return manifest;
}

/** Data-plane calls (token flow left out) on one repository, as `METHOD path`. */
function callsOn(repository: string): string[] {
  return acr
    .dataCalls()
    .filter((call) => call.path.includes(`/${repository}/`))
    .map((call) => `${call.method} ${call.path}`);
}

const ref = (repository: string, tag: string) => ({ registryHost: HOST, repository, tag });

describe('ACR webhook (HTTP trigger)', () => {
  it('locks 1.4.2 of payments-api when it is first pushed, and again after an overwrite is reverted', async () => {
    const h = await harness();
    const v1 = push('payments-api', '1.4.2', 'payments-v1');
    const first = await h.webhook(
      acrRequest(acrBody('evt-lock-1', 'payments-api', '1.4.2', v1.digest, '2026-12-01T04:00:00Z')),
    );
    expect(first.status).toBe(202);
    expect(first.jsonBody).toMatchObject({ accepted: 1, transitions: [{ transition: 'first-seen' }] });
    expect(acr.tagOf('payments-api', '1.4.2')).toMatchObject({ digest: v1.digest, writeEnabled: false });
    expect(callsOn('payments-api')).toContain('PATCH /acr/v1/payments-api/_tags/1.4.2');

    // The lock did not hold (someone with rights unlocked and pushed): revert, lock again, alert.
    acr.setTagAttributes('payments-api', '1.4.2', { writeEnabled: true });
    const v2 = push('payments-api', '1.4.2', 'payments-v2');
    const second = await h.webhook(
      acrRequest(acrBody('evt-lock-2', 'payments-api', '1.4.2', v2.digest, '2026-12-01T04:05:00Z')),
    );
    expect(second.status).toBe(202);
    expect(second.jsonBody).toMatchObject({ transitions: [{ transition: 'overwrite' }] });
    await settle(h, () => (slack.messages.length === 1 ? true : undefined), 'the lock alert');
    // The tag serves the approved image again, and is locked.
    expect(acr.tagOf('payments-api', '1.4.2')).toMatchObject({ digest: v1.digest, writeEnabled: false });
    expect(callsOn('payments-api')).toContain('PUT /v2/payments-api/manifests/1.4.2');
    expect(
      callsOn('payments-api').filter((c) => c === 'PATCH /acr/v1/payments-api/_tags/1.4.2').length,
    ).toBeGreaterThanOrEqual(2);
    expect(await pendingEffects(h.deps.store, 'evt-lock-2')).toBe(0);
  });

  it('reverts orders:2.0 to the exact bytes of the previous manifest when it is pushed again with a new digest', async () => {
    const h = await harness();
    const v1 = push('orders', '2.0', 'orders-v1');
    expect(
      (await h.webhook(acrRequest(acrBody('evt-rev-1', 'orders', '2.0', v1.digest, '2026-12-01T04:00:00Z'))))
        .status,
    ).toBe(202);
    const v2 = push('orders', '2.0', 'orders-v2');
    const overwrite = await h.webhook(
      acrRequest(acrBody('evt-rev-2', 'orders', '2.0', v2.digest, '2026-12-01T04:01:00Z')),
    );
    expect(overwrite.status).toBe(202);
    await settle(h, () => (slack.messages.length === 1 ? true : undefined), 'the revert alert');
    const restore = acr.dataCalls().find((c) => c.method === 'PUT' && c.path === '/v2/orders/manifests/2.0');
    expect(restore).toBeDefined();
    expect(restore!.body).toBe(v1.bytes.toString('utf8'));
    expect(restore!.contentType).toBe(OCI_MANIFEST);
    expect(acr.tagOf('orders', '2.0')?.digest).toBe(v1.digest);
    expect(Buffer.compare(acr.manifestOf('orders', v1.digest)!.bytes, v1.bytes)).toBe(0);
    // The replaced manifest stays referenced under a keep tag.
    expect(acr.manifestOf('orders', v2.digest)?.tags.some((tag) => tag.startsWith('tagwarden-keep-'))).toBe(
      true,
    );
    expect(JSON.stringify(slack.messages[0])).toContain('reverted');
  });

  it('alerts once when ACR delivers the same overwrite from two geo-replicas', async () => {
    const h = await harness();
    const a = push('web', 'stable', 'web-a');
    await h.webhook(acrRequest(acrBody('evt-geo-1', 'web', 'stable', a.digest, '2026-12-01T04:00:00Z')));
    const b = push('web', 'stable', 'web-b');
    const body = acrBody('evt-geo-2', 'web', 'stable', b.digest, '2026-12-01T04:02:00Z');
    const westeurope = await h.webhook(acrRequest(body));
    const eastus = await h.webhook(acrRequest(body));
    expect(westeurope.status).toBe(202);
    expect(eastus.status).toBe(202);
    expect(westeurope.jsonBody).toMatchObject({ transitions: [{ transition: 'overwrite' }] });
    expect(eastus.jsonBody).toMatchObject({ transitions: [{ transition: 'duplicate' }] });
    await settle(h, () => (slack.messages.length >= 1 ? true : undefined), 'the overwrite alert');
    // Run the outbox again: nothing is left that could send a second alert.
    await h.timer();
    expect(await pendingEffects(h.deps.store, 'evt-geo-2')).toBe(0);
    expect(slack.messages).toHaveLength(1);
    const history = await h.deps.store.history(ref('web', 'stable'));
    expect(history.map((row) => row.transition)).toEqual(['first-seen', 'overwrite']);
  });

  it("adds the owners in the registry's tagwarden:owners resource tag to the alert", async () => {
    const subscription = '00000000-1111-2222-3333-444444444444';
    const asked: string[] = [];
    const h = await harness({
      registryIds: `/subscriptions/${subscription}/resourceGroups/registry-rg/providers/Microsoft.ContainerRegistry/registries/tagwardentest`,
      armFor: (sub) => ({
        registries: {
          get: async (group, name) => {
            asked.push(`${sub}/${group}/${name}`);
            return { tags: { team: 'web', 'tagwarden:owners': '#web-team, @carol' } };
          },
        },
      }),
    });
    const a = push('web', 'owners', 'web-owners-a');
    await h.webhook(acrRequest(acrBody('evt-own-1', 'web', 'owners', a.digest, '2026-12-01T04:00:00Z')));
    const b = push('web', 'owners', 'web-owners-b');
    await h.webhook(acrRequest(acrBody('evt-own-2', 'web', 'owners', b.digest, '2026-12-01T04:02:00Z')));
    await settle(h, () => (slack.messages.length >= 1 ? true : undefined), 'the overwrite alert');
    expect(JSON.stringify(slack.messages[0])).toContain('#web-team, @carol');
    expect(asked).toEqual([`${subscription}/registry-rg/tagwardentest`]);
  });

  it('tells the cluster endpoint of TAGWARDEN_CLUSTERS, with one signed call, when frontend:latest (bump: true) moves', async () => {
    const clusters = [{ name: 'prod-weu', url: receiver.url, secret: CLUSTER_SECRET }];
    const h = await harness({ env: { TAGWARDEN_CLUSTERS: JSON.stringify(clusters) } });
    const before = receiver.calls.length;
    const a = push('frontend', 'latest', 'frontend-a');
    await h.webhook(
      acrRequest(acrBody('evt-bump-1', 'frontend', 'latest', a.digest, '2026-12-01T04:00:00Z')),
    );
    expect(receiver.calls.length).toBe(before);
    const b = push('frontend', 'latest', 'frontend-b');
    const moved = await h.webhook(
      acrRequest(acrBody('evt-bump-2', 'frontend', 'latest', b.digest, '2026-12-01T04:03:00Z')),
    );
    expect(moved.status).toBe(202);
    expect(moved.jsonBody).toMatchObject({ transitions: [{ transition: 'overwrite' }] });
    const calls = await eventually(
      async () => (receiver.calls.length > before ? receiver.calls.slice(before) : undefined),
      'the signed bump',
    );
    expect(receiver.refused).toEqual([]);
    expect(calls).toHaveLength(1);
    expect(DigestBump.parse(JSON.parse(calls[0]!.body.toString()))).toMatchObject({
      registryHost: HOST,
      repository: 'frontend',
      tag: 'latest',
      previousDigest: a.digest,
      digest: b.digest,
      reason: 'moved',
    });
    // Allowed: the tag keeps the new digest; running the outbox again sends nothing more.
    expect(acr.tagOf('frontend', 'latest')?.digest).toBe(b.digest);
    await h.timer();
    expect(receiver.calls.length).toBe(before + 1);
  });

  it('refuses a TAGWARDEN_CLUSTERS that is not a valid cluster list, at start, naming the field', async () => {
    await expect(
      harness({
        env: {
          TAGWARDEN_CLUSTERS: JSON.stringify([
            { name: 'prod-weu', url: 'ftp://cluster.example.com', secret: CLUSTER_SECRET },
          ]),
        },
      }),
    ).rejects.toThrow('TAGWARDEN_CLUSTERS is invalid: clusters[0].url: expected an http:// or https:// URL');
    await expect(
      harness({
        env: {
          TAGWARDEN_CLUSTERS: JSON.stringify([{ name: 'prod-weu', url: receiver.url, format: 'flux' }]),
        },
      }),
    ).rejects.toThrow(/^TAGWARDEN_CLUSTERS is invalid: clusters\[0\]\.secret: format flux signs every call/);
    const notJson = harness({ env: { TAGWARDEN_CLUSTERS: `[{"secret": "${CLUSTER_SECRET}"` } });
    await expect(notJson).rejects.toThrow(/^TAGWARDEN_CLUSTERS is not JSON/);
    await expect(notJson).rejects.not.toThrow(CLUSTER_SECRET);
  });

  it('refuses a TAGWARDEN_REGISTRY_IDS entry that is not a registry id, at start', async () => {
    await expect(harness({ registryIds: '/subscriptions/x/registries/tagwardentest' })).rejects.toThrow(
      'TAGWARDEN_REGISTRY_IDS: "/subscriptions/x/registries/tagwardentest" is not a registry resource id',
    );
  });

  it('answers 401 to a wrong or missing secret and records nothing', async () => {
    const h = await harness();
    const v1 = push('payments-api', '9.9.9', 'bad-secret');
    const callsBefore = acr.calls.length;
    const body = acrBody('evt-401', 'payments-api', '9.9.9', v1.digest, '2026-12-01T04:00:00Z');
    const wrong = await h.webhook(acrRequest(body, { authorization: `Bearer ${SECRET.replace(/.$/, 'X')}` }));
    const missing = await h.webhook(acrRequest(body, {}));
    expect(wrong.status).toBe(401);
    expect(missing.status).toBe(401);
    expect(String((wrong.jsonBody as { error: string }).error)).toMatch(/^unauthorized/);
    expect(await h.deps.store.tagState(ref('payments-api', '9.9.9'))).toBeNull();
    expect(await h.deps.store.failures(10)).toEqual([]);
    expect(acr.calls.length).toBe(callsBefore);
    expect(await listPoison(h.deps)).toEqual([]);
  });

  it('answers 405 to a GET, 400 with the reason to bad JSON, and 413 to an oversize body', async () => {
    const h = await harness();
    const get = await h.webhook(
      new HttpRequest({ method: 'GET', url: 'https://tagwarden.azurewebsites.net/api/webhooks/acr' }),
    );
    expect(get.status).toBe(405);
    const bad = await h.webhook(acrRequest('{"id": '));
    expect(bad.status).toBe(400);
    expect(String((bad.jsonBody as { error: string }).error)).toContain('not valid JSON');
    const big = await h.webhook(acrRequest(`{"pad":"${'x'.repeat(1024 * 1024 + 10)}"}`));
    expect(big.status).toBe(413);
  });
});

describe('Event Grid', () => {
  it('answers the subscription-validation handshake and the CloudEvents OPTIONS preflight', async () => {
    const h = await harness();
    const validation = await h.eventGridHttp(
      eventGridRequest([
        {
          id: 'val-1',
          topic: '/subscriptions/0000',
          subject: '',
          eventType: 'Microsoft.EventGrid.SubscriptionValidationEvent',
          eventTime: '2026-12-01T04:00:00Z',
          dataVersion: '1',
          metadataVersion: '1',
          data: { validationCode: 'C0DE-1234', validationUrl: 'https://rp.eventgrid.azure.net/validate' },
        },
      ]),
    );
    expect(validation.status).toBe(200);
    expect(validation.jsonBody).toEqual({ validationResponse: 'C0DE-1234' });
    const preflight = await h.eventGridHttp(
      eventGridRequest(undefined, SECRET, 'OPTIONS', { 'webhook-request-origin': 'eventgrid.azure.net' }),
    );
    expect(preflight.status).toBe(200);
    expect(preflight.headers).toMatchObject({ 'WebHook-Allowed-Origin': 'eventgrid.azure.net' });
    const unauthorized = await h.eventGridHttp(eventGridRequest([], 'wrong-token-wrong-token'));
    expect(unauthorized.status).toBe(401);
  });

  it('records the good event of a batch and keeps the bad one as a failed record', async () => {
    const h = await harness();
    const good = push('web', 'batch', 'batch-good');
    const bad = { ...imagePushed('eg-bad', 'web', 'batch2', 'sha256:nothex'), id: 'eg-bad' };
    const response = await h.eventGridHttp(
      eventGridRequest([imagePushed('eg-good', 'web', 'batch', good.digest), bad]),
    );
    expect(response.status).toBe(202);
    expect(response.jsonBody).toMatchObject({ accepted: 1 });
    expect((await h.deps.store.tagState(ref('web', 'batch')))?.digest).toBe(good.digest);
    const failures = await h.deps.store.failures(10);
    expect(failures).toHaveLength(1);
    expect(failures[0]!.source).toBe('acr-eventgrid');
    expect(failures[0]!.reason).toContain('[1]');
  });

  it('records an ImagePushed event handed over by the Event Grid trigger', async () => {
    const h = await harness();
    const pushed = push('web', 'trigger', 'trigger-1');
    await eventGridTriggerHandler(async () => h.deps)(
      imagePushed('eg-trigger-1', 'web', 'trigger', pushed.digest) as never,
      context(),
    );
    expect((await h.deps.store.tagState(ref('web', 'trigger')))?.digest).toBe(pushed.digest);
    // Delivered again (Event Grid is at-least-once): still one history row.
    await eventGridTriggerHandler(async () => h.deps)(
      imagePushed('eg-trigger-1', 'web', 'trigger', pushed.digest) as never,
      context(),
    );
    expect(await h.deps.store.history(ref('web', 'trigger'))).toHaveLength(1);
  });
});

describe('one push, two ways', () => {
  it('records a push once when ACR delivers it as a webhook and Event Grid as an event (own envelope id)', async () => {
    const h = await harness();
    const a = push('web', 'both', 'both-a');
    await h.webhook(acrRequest(acrBody('acr-both-1', 'web', 'both', a.digest, '2026-12-01T04:00:00Z')));
    const b = push('web', 'both', 'both-b');
    // Microsoft's samples: the Event Grid envelope id differs from the ACR event id it carries as data.id.
    const viaEventGrid = { ...imagePushed('acr-both-2', 'web', 'both', b.digest), id: 'eg-envelope-7f3c9a' };
    expect(viaEventGrid.data.id).toBe('acr-both-2');
    const webhook = await h.webhook(
      acrRequest(acrBody('acr-both-2', 'web', 'both', b.digest, '2026-12-01T04:00:00Z')),
    );
    const eventGrid = await h.eventGridHttp(eventGridRequest([viaEventGrid]));
    await eventGridTriggerHandler(async () => h.deps)(viaEventGrid as never, context());
    expect(webhook.status).toBe(202);
    expect(webhook.jsonBody).toMatchObject({ transitions: [{ transition: 'overwrite' }] });
    expect(eventGrid.status).toBe(202);
    expect(eventGrid.jsonBody).toMatchObject({ transitions: [{ transition: 'duplicate' }] });
    const history = await h.deps.store.history(ref('web', 'both'));
    expect(history.map((row) => row.transition)).toEqual(['first-seen', 'overwrite']);
    await settle(h, () => (slack.messages.length >= 1 ? true : undefined), 'the overwrite alert');
    await h.timer();
    expect(slack.messages).toHaveLength(1);
  });
});

describe('poison queue', () => {
  it('keeps a body the history table cannot take, lists it, and replays it into history', async () => {
    const healthy = await harness();
    const broken = await harness({ queue: healthy.queue, tableUnavailable: true });
    const pushed = push('web', 'poisoned', 'poison-1');
    const body = acrBody('evt-poison-1', 'web', 'poisoned', pushed.digest, '2026-12-01T04:00:00Z');
    const response = await broken.webhook(acrRequest(body));
    expect(response.status).toBe(202);
    expect(response.jsonBody).toMatchObject({ poisoned: true });

    const listed = await listPoison(healthy.deps);
    expect(listed).toHaveLength(1);
    expect(listed[0]).toMatchObject({ source: 'acr', bytes: Buffer.byteLength(body) });
    expect(listed[0]!.reason).toContain('unavailable');
    expect(await healthy.deps.store.tagState(ref('web', 'poisoned'))).toBeNull();

    // Replaying while the table is still down keeps the entry.
    expect(await replayPoison(broken.deps, { visibilitySeconds: 1 })).toEqual({
      replayed: 0,
      stillFailing: 1,
      rejected: 0,
    });
    const report = await eventually(async () => {
      const result = await replayPoison(healthy.deps, { visibilitySeconds: 1 });
      return result.replayed === 1 ? result : undefined;
    }, 'the poison entry to become visible again and replay');
    expect(report).toEqual({ replayed: 1, stillFailing: 0, rejected: 0 });
    expect((await healthy.deps.store.tagState(ref('web', 'poisoned')))?.digest).toBe(pushed.digest);
    expect(await listPoison(healthy.deps)).toEqual([]);
  });
  it('lists and replays through `tagwarden azure poison list|replay`', async () => {
    const healthy = await harness();
    const broken = await harness({ queue: healthy.queue, tableUnavailable: true });
    const pushed = push('web', 'cli', 'poison-cli');
    const body = acrBody('evt-poison-cli', 'web', 'cli', pushed.digest, '2026-12-01T04:00:00Z');
    expect((await broken.webhook(acrRequest(body))).jsonBody).toMatchObject({ poisoned: true });

    const lines: string[] = [];
    const run = async (...args: string[]) => {
      const program = new Command('tagwarden').exitOverride();
      registerPoisonCommands(program.command('azure'), {
        env: {
          TAGWARDEN_STORAGE: azurite.connectionString,
          TAGWARDEN_HISTORY_TABLE: healthy.table,
          POLICY: JSON.stringify(POLICY),
        },
        out: (line) => lines.push(line),
        log: silentLogger,
      });
      await program.parseAsync(['azure', 'poison', ...args, '--queue', healthy.queue], { from: 'user' });
    };
    await run('list');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(new RegExp(`\\tacr\\t${Buffer.byteLength(body)} B\\t`));
    lines.length = 0;
    await run('replay');
    expect(lines).toEqual([
      'replayed 1, still failing 0 (left in the queue), rejected 0 (kept as failed records)',
    ]);
    expect((await healthy.deps.store.tagState(ref('web', 'cli')))?.digest).toBe(pushed.digest);
    lines.length = 0;
    await run('list');
    expect(lines).toEqual([`poison queue ${healthy.queue} is empty`]);
  });
});

describe('composition root', () => {
  it('names an unresolved Key Vault reference instead of starting with it', async () => {
    await expect(
      buildAzureDependencies({
        env: {
          TAGWARDEN_STORAGE: azurite.connectionString,
          ACR_WEBHOOK_SECRET:
            '@Microsoft.KeyVault(SecretUri=https://kv.vault.azure.net/secrets/acr-webhook-secret/)',
        },
        log: silentLogger,
      }),
    ).rejects.toThrow(/ACR_WEBHOOK_SECRET is an unresolved Key Vault reference/);
    await expect(
      buildAzureDependencies({
        env: {
          TAGWARDEN_STORAGE: azurite.connectionString,
          ACR_WEBHOOK_SECRET: SECRET,
          TAGWARDEN_CLUSTERS:
            '@Microsoft.KeyVault(SecretUri=https://kv.vault.azure.net/secrets/tagwarden-clusters/)',
        },
        log: silentLogger,
      }),
    ).rejects.toThrow(/^TAGWARDEN_CLUSTERS is an unresolved Key Vault reference/);
    const answer = await acrWebhookHandler(async () => {
      throw new Error('ACR_WEBHOOK_SECRET must be set');
    })(acrRequest('{}'), context());
    expect(answer.status).toBe(500);
    expect(JSON.stringify(answer.jsonBody)).not.toContain('ACR_WEBHOOK_SECRET');
  });
});

describe('Slack is optional', () => {
  it('starts without SLACK_WEBHOOK_URL, or with an unresolved reference to it, and alerts to the log', async () => {
    const warnings: string[] = [];
    const log = {
      ...silentLogger,
      warn: (message: string, fields?: Record<string, unknown>) => {
        warnings.push(`${message} ${JSON.stringify(fields ?? {})}`);
      },
    };
    const env = {
      TAGWARDEN_STORAGE: azurite.connectionString,
      ACR_WEBHOOK_SECRET: SECRET,
      TAGWARDEN_HISTORY_TABLE: `tagwardenslack${Date.now() % 1e8}`,
    };
    const without = await buildAzureDependencies({ env, credential: staticCredential(), log });
    expect(without.policy).toBeDefined();
    expect(warnings).toEqual([]);
    // The deployment referenced a secret nobody set: the platform leaves the literal in place.
    const unresolved = await buildAzureDependencies({
      env: {
        ...env,
        SLACK_WEBHOOK_URL:
          '@Microsoft.KeyVault(SecretUri=https://kv.vault.azure.net/secrets/tagwarden-slack-webhook-url/)',
      },
      credential: staticCredential(),
      log,
    });
    expect(unresolved.policy).toBeDefined();
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(
      /^alerts go to the function log: SLACK_WEBHOOK_URL is not usable .*unresolved Key Vault reference/,
    );
  });
});

describe('functions/azure/index.ts', () => {
  it("registers both webhook routes and the agents' drift route for every method, the Event Grid trigger and the effects timer", () => {
    const registered: Record<string, unknown> = {};
    jest.isolateModules(() => {
      jest.doMock('@azure/functions', () => ({
        app: {
          http: (
            name: string,
            o: { route: string; authLevel: string; methods: string[]; handler: unknown },
          ) => {
            registered[name] = { kind: 'http', route: o.route, authLevel: o.authLevel, methods: o.methods };
            expect(typeof o.handler).toBe('function');
          },
          eventGrid: (name: string, o: { handler: unknown }) => {
            registered[name] = { kind: 'eventGrid', handler: typeof o.handler };
          },
          timer: (name: string, o: { schedule: string }) => {
            registered[name] = { kind: 'timer', schedule: o.schedule };
          },
        },
      }));
      require('../../functions/azure/index');
    });
    const methods = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'];
    expect(registered).toEqual({
      acrWebhook: { kind: 'http', route: 'webhooks/acr', authLevel: 'anonymous', methods },
      acrEventGridWebhook: { kind: 'http', route: 'webhooks/acr-eventgrid', authLevel: 'anonymous', methods },
      slackActions: { kind: 'http', route: 'slack/actions', authLevel: 'anonymous', methods },
      agentDriftReport: { kind: 'http', route: 'webhooks/agent', authLevel: 'anonymous', methods },
      acrEventGrid: { kind: 'eventGrid', handler: 'function' },
      tagwardenEffects: { kind: 'timer', schedule: '0 */1 * * * *' },
    });
  });
});
