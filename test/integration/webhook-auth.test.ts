import { createHmac } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { sourceAuthFor } from '../../functions/local/dependencies';
import { createLocalServer } from '../../functions/local/server';
import type { TagwardenConfig } from '../../shared/config/schema';
import { DEFAULT_POLICY } from '../../shared/core';
import { MemoryHistoryStore } from '../../shared/history';
import { silentLogger } from '../../shared/log';

const TOKEN = 'integration-token-0123456789';
const SECRET = 'integration-secret-0123456789';
const fixture = (path: string) => readFileSync(join(__dirname, '..', 'fixtures', path));

let server: Server;
let base: string;
let store: MemoryHistoryStore;

beforeAll(async () => {
  store = new MemoryHistoryStore();
  const config = {
    sources: {
      ghcr: { secret: SECRET },
      artifactory: { token: TOKEN },
      quay: { token: TOKEN },
      harbor: { token: TOKEN },
      'acr-eventgrid': { token: TOKEN },
    },
  } as unknown as TagwardenConfig;
  server = createLocalServer({
    store,
    policy: DEFAULT_POLICY,
    log: silentLogger,
    auth: sourceAuthFor(config),
    onRecorded: () => {},
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
});

const post = (path: string, body: Buffer, headers: Record<string, string> = {}) =>
  fetch(`${base}${path}`, {
    method: 'POST',
    body,
    headers: { 'content-type': 'application/json', ...headers },
  });

describe('webhook authentication through the server, per source', () => {
  test('accepts a GitHub package event signed with the secret over its exact bytes, and records it', async () => {
    const body = fixture('ghcr/published-container-valid.json');
    const signature = `sha256=${createHmac('sha256', SECRET).update(body).digest('hex')}`;
    const res = await post('/webhooks/ghcr', body, {
      'x-hub-signature-256': signature,
      'x-github-event': 'package',
    });
    expect(res.status).toBe(202);
    expect(((await res.json()) as { accepted: number }).accepted).toBe(1);
  });

  test('refuses a GitHub event whose body changed after signing, and one without a signature', async () => {
    const body = fixture('ghcr/published-container-valid.json');
    const signature = `sha256=${createHmac('sha256', SECRET).update(body).digest('hex')}`;
    const changed = Buffer.from(body.toString().replace('"published"', '"updated"'));
    expect((await post('/webhooks/ghcr', changed, { 'x-hub-signature-256': signature })).status).toBe(401);
    const unsigned = await post('/webhooks/ghcr', body);
    expect(unsigned.status).toBe(401);
    expect(await unsigned.text()).toContain('missing x-hub-signature-256');
  });

  test('takes the JFrog token from X-JFrog-Event-Auth and refuses a wrong one', async () => {
    const body = fixture('artifactory/docker-pushed-valid.json');
    expect((await post('/webhooks/artifactory', body, { 'x-jfrog-event-auth': TOKEN })).status).toBe(202);
    expect((await post('/webhooks/artifactory', body, { 'x-jfrog-event-auth': `${TOKEN}x` })).status).toBe(
      401,
    );
  });

  test('takes the Quay token from the URL, where Quay can put it, and never from a header', async () => {
    const body = Buffer.from(
      JSON.stringify({ repository: 'ns/app', docker_url: 'quay.io/ns/app', updated_tags: ['v1'] }),
    );
    expect((await post(`/webhooks/quay?token=${TOKEN}`, body)).status).toBe(202);
    expect((await post('/webhooks/quay', body, { authorization: `Bearer ${TOKEN}` })).status).toBe(401);
    expect((await post('/webhooks/quay?token=nope', body)).status).toBe(401);
  });

  test('answers 405 to an OPTIONS handshake on a source that has none, and 404 on an unknown source', async () => {
    const options = (path: string) =>
      fetch(`${base}${path}`, {
        method: 'OPTIONS',
        headers: { 'webhook-request-origin': 'eventgrid.azure.net' },
      });
    expect((await options(`/webhooks/harbor`)).status).toBe(405);
    expect((await options('/webhooks/nope')).status).toBe(404);
  });

  test('answers the Event Grid handshakes: OPTIONS with WebHook-Allowed-Origin, and the validation event with its code', async () => {
    const options = (query: string) =>
      fetch(`${base}/webhooks/acr-eventgrid${query}`, {
        method: 'OPTIONS',
        headers: { 'webhook-request-origin': 'eventgrid.azure.net' },
      });
    const allowed = await options(`?token=${TOKEN}`);
    expect(allowed.status).toBe(200);
    expect(allowed.headers.get('webhook-allowed-origin')).toBe('eventgrid.azure.net');
    expect((await options('')).status).toBe(401);

    const validation = fixture('acr-eventgrid/subscription-validation.json');
    const answer = await post(`/webhooks/acr-eventgrid?token=${TOKEN}`, validation);
    expect(answer.status).toBe(200);
    expect(await answer.json()).toEqual({ validationResponse: '512d38b6-c7b8-40c8-89fe-f46f9e9622b6' });
    expect((await post('/webhooks/acr-eventgrid', validation)).status).toBe(401);
  });
});
