import { createHmac } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import type { Server } from 'node:http';
import { type AddressInfo, connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sourceAuthFor } from '../../functions/local/dependencies';
import { createLocalServer } from '../../functions/local/server';
import type { TagwardenConfig } from '../../shared/config/schema';
import { DEFAULT_POLICY } from '../../shared/core';
import { MemoryHistoryStore } from '../../shared/history';
import { silentLogger } from '../../shared/log';
import { rawRequest } from '../support/raw-http';
import { buildCli, freePort, type RunningTagwarden, startTagwarden } from '../support/tagwarden';

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

describe('authentication before the body', () => {
  const head = (path: string, length: number, extra: string[] = []) =>
    [
      `POST ${path} HTTP/1.1`,
      'Host: 127.0.0.1',
      'Content-Type: application/json',
      `Content-Length: ${length}`,
      ...extra,
    ].join('\r\n');

  test('answers 401 from the headers alone, to a body that never arrives, and closes the connection', async () => {
    const port = Number(new URL(base).port);
    const res = await rawRequest(port, head('/webhooks/harbor', 1000), { timeoutMs: 5_000 });
    expect(res.written).toBe(0);
    expect(res.status).toBe(401);
    expect(res.head.toLowerCase()).toContain('connection: close');
    expect(JSON.parse(res.body).error).toBe('unauthorized: missing Authorization header');
    const query = await rawRequest(port, head('/webhooks/quay?token=wrong-token-0123456789', 1000), {
      timeoutMs: 5_000,
    });
    expect(query.status).toBe(401);
  });

  test('refuses a signing source without its signature header before the body, and reads the body to verify one', async () => {
    const port = Number(new URL(base).port);
    const unsigned = await rawRequest(port, head('/webhooks/ghcr', 1000), { timeoutMs: 5_000 });
    expect(unsigned.status).toBe(401);
    expect(JSON.parse(unsigned.body).error).toBe(
      'unauthorized: missing x-hub-signature-256 signature header',
    );
    const forged = await post('/webhooks/ghcr', Buffer.from('{}'), {
      'x-hub-signature-256': `sha256=${'0'.repeat(64)}`,
    });
    expect(forged.status).toBe(401);
    expect(((await forged.json()) as { error: string }).error).toBe('unauthorized: invalid signature');
  });
});

describe('300 unauthenticated 1 MiB uploads against tagwarden serve', () => {
  const MIB = 1024 * 1024;
  const dir = mkdtempSync(join(tmpdir(), 'tagwarden-auth-rss-'));
  let serve: RunningTagwarden | undefined;

  beforeAll(async () => {
    buildCli();
    writeFileSync(join(dir, 'tagwarden.yaml'), `sources:\n  distribution:\n    token: ${TOKEN}\n`);
    serve = await startTagwarden([
      '--port',
      String(await freePort()),
      '--db',
      join(dir, 'h.db'),
      '--config',
      join(dir, 'tagwarden.yaml'),
    ]);
  }, 60_000);
  afterAll(async () => {
    await serve?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  /**
   * Announces 1 MiB, sends all of it but the last byte, then stops. Resolves with the status the
   * server answered, or NaN when none came within 5 s of the last byte sent (a server that
   * reads the body before authenticating holds every such upload, unanswered).
   */
  function upload(port: number): Promise<number> {
    return new Promise((resolve) => {
      const socket = connect(port, '127.0.0.1');
      let received = '';
      let grace: NodeJS.Timeout | undefined;
      const chunk = Buffer.alloc(64 * 1024, 'x');
      const done = () => {
        clearTimeout(grace);
        socket.destroy();
        resolve(Number(/^HTTP\/1\.1 (\d{3})/.exec(received)?.[1] ?? Number.NaN));
      };
      socket.on('data', (data) => {
        received += data.toString('latin1');
        if (received.includes('\r\n\r\n')) done();
      });
      socket.on('close', done);
      socket.on('error', () => {}); // a refused upload may be reset mid-write; the answer decides
      socket.on('connect', async () => {
        socket.write(
          `${['POST /webhooks/distribution HTTP/1.1', 'Host: 127.0.0.1', `Content-Length: ${MIB}`].join('\r\n')}\r\n\r\n`,
        );
        for (let sent = 0; sent < MIB - 1 && !socket.destroyed && received === ''; ) {
          const part = chunk.subarray(0, Math.min(chunk.length, MIB - 1 - sent));
          sent += part.length;
          if (!socket.write(part)) await new Promise((r) => socket.once('drain', r).once('close', r));
        }
        if (!socket.destroyed) grace = setTimeout(done, 5_000);
      });
    });
  }

  test('all get 401 and the server never buffers their bodies (peak RSS under 300 MB)', async () => {
    const port = Number(new URL(serve!.url).port);
    const statuses = await Promise.all(Array.from({ length: 300 }, () => upload(port)));
    const status = readFileSync(`/proc/${serve!.process.pid}/status`, 'utf8');
    const peakKiB = Number(/VmHWM:\s+(\d+) kB/.exec(status)?.[1]);
    expect(peakKiB).toBeGreaterThan(0);
    expect(peakKiB * 1024).toBeLessThan(300 * 1000 * 1000);
    expect(statuses.filter((status) => status !== 401)).toEqual([]);
  }, 60_000);
});

describe('only the sources the config names are enabled (issue 11, item 2)', () => {
  let closed: Server;
  let closedBase: string;
  let closedStore: MemoryHistoryStore;
  const AZURE_TAG = { registryHost: 'demo.azurecr.io', repository: 'payments/api', tag: 'v1.4.2' };
  const ECR_HOST = '123456789012.dkr.ecr.us-east-1.amazonaws.com';

  beforeAll(async () => {
    closedStore = new MemoryHistoryStore();
    // Tokens for some sources; acr-eventgrid is not named.
    const config = {
      sources: {
        distribution: { token: TOKEN },
        harbor: { token: TOKEN, registries: ['harbor.example.com'] },
      },
    } as unknown as TagwardenConfig;
    closed = createLocalServer({
      store: closedStore,
      policy: DEFAULT_POLICY,
      log: silentLogger,
      auth: sourceAuthFor(config),
      onRecorded: () => {},
    });
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    closedBase = `http://127.0.0.1:${(closed.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await new Promise((resolve) => closed.close(resolve));
  });

  const postClosed = (path: string, body: string | Buffer, headers: Record<string, string> = {}) =>
    fetch(`${closedBase}${path}`, {
      method: 'POST',
      body,
      headers: { 'content-type': 'application/json', ...headers },
    });

  const distributionPush = (id: string, host: string) =>
    JSON.stringify({
      events: [
        {
          id,
          timestamp: '2026-11-22T10:00:00Z',
          action: 'push',
          target: {
            mediaType: 'application/vnd.oci.image.manifest.v1+json',
            digest: `sha256:${'a'.repeat(64)}`,
            repository: 'payments/api',
            tag: 'v1',
          },
          request: { host },
        },
      ],
    });

  test('a forged, unauthenticated acr-eventgrid push is refused 404 (not enabled) and nothing is recorded', async () => {
    const res = await postClosed(
      '/webhooks/acr-eventgrid',
      fixture('acr-eventgrid/image-pushed-eventgrid-schema.json'),
    );
    expect(res.status).toBe(404);
    expect(((await res.json()) as { error: string }).error).toMatch(
      /^source "acr-eventgrid" is not enabled here/,
    );
    expect(await closedStore.tagState(AZURE_TAG)).toBeNull();
    expect(await closedStore.history(AZURE_TAG)).toEqual([]);
    expect(await closedStore.failures(10)).toEqual([]);
    // The CloudEvents handshake of a source not enabled is refused the same way.
    const preflight = await fetch(`${closedBase}/webhooks/acr-eventgrid`, {
      method: 'OPTIONS',
      headers: { 'webhook-request-origin': 'eventgrid.azure.net' },
    });
    expect(preflight.status).toBe(404);
  });

  test('an authenticated source cannot report a cloud registry of another source: the item is rejected with a reason', async () => {
    const res = await postClosed('/webhooks/distribution', distributionPush('ecr-forged', ECR_HOST), {
      authorization: `Bearer ${TOKEN}`,
    });
    expect(res.status).toBe(202);
    const summary = (await res.json()) as { accepted: number; rejected: string[] };
    expect(summary.accepted).toBe(0);
    expect(summary.rejected).toEqual([
      `${ECR_HOST}/payments/api:v1: registry host "${ECR_HOST}" is Amazon ECR; its events are accepted only from ecr, not from distribution`,
    ]);
    expect(
      await closedStore.tagState({ registryHost: ECR_HOST, repository: 'payments/api', tag: 'v1' }),
    ).toBeNull();
  });

  test('a source bound to registry hosts rejects items naming another host', async () => {
    const harbor = (host: string) =>
      JSON.stringify({
        type: 'PUSH_ARTIFACT',
        occur_at: 1763805600,
        operator: 'ci',
        event_data: {
          resources: [
            {
              digest: `sha256:${'b'.repeat(64)}`,
              tag: 'v1',
              resource_url: `${host}/library/api:v1`,
            },
          ],
          repository: { name: 'api', namespace: 'library', repo_full_name: 'library/api' },
        },
      });
    const auth = { authorization: `Bearer ${TOKEN}` };
    const bound = await (await postClosed('/webhooks/harbor', harbor('harbor.example.com'), auth)).json();
    expect(bound).toMatchObject({ accepted: 1, rejected: [] });
    const other = (await (
      await postClosed('/webhooks/harbor', harbor('other.example.com'), auth)
    ).json()) as {
      accepted: number;
      rejected: string[];
    };
    expect(other.accepted).toBe(0);
    expect(other.rejected).toEqual([
      'other.example.com/library/api:v1: registry host "other.example.com" is not one this source is bound to (sources.harbor.registries: harbor.example.com)',
    ]);
  });
});
