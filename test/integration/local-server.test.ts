import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { request as httpRequest, type Server } from 'node:http';
import { type AddressInfo, connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { createLocalServer } from '../../functions/local/server';
import { DEFAULT_POLICY, type Policy, type RegistryEvent } from '../../shared/core';
import { type ApplyResult, MemoryHistoryStore, SqliteHistoryStore } from '../../shared/history';
import { silentLogger } from '../../shared/log';
import { MAX_BODY_BYTES } from '../../shared/sources';
import { runCli } from '../support/cli-process';
import { digestOf } from '../support/events';
import { rawRequest } from '../support/raw-http';
import { buildCli, eventually, freePort, type RunningTagwarden, startTagwarden } from '../support/tagwarden';
import { distributionBody, distributionEnvelope, distributionItem } from '../support/webhook-bodies';

const TOKEN = 'tw-test-token-0123456789';
const HOST = '127.0.0.1:5000';
const dir = mkdtempSync(join(tmpdir(), 'tagwarden-server-'));
let store: SqliteHistoryStore;
let server: Server;
let base: string;
let port: number;
let wakes = 0;

async function listen(s: Server): Promise<number> {
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  return (s.address() as AddressInfo).port;
}

async function close(s: Server | undefined): Promise<void> {
  if (!s?.listening) return;
  s.closeAllConnections();
  await new Promise<void>((resolve) => s.close(() => resolve()));
}

beforeAll(async () => {
  store = new SqliteHistoryStore({ path: join(dir, 'history.db') });
  server = createLocalServer({
    store,
    policy: DEFAULT_POLICY,
    log: silentLogger,
    // distribution with a token, acr explicitly open, every other source not enabled.
    auth: (s) =>
      s === 'distribution' ? { token: TOKEN, header: 'Authorization' } : s === 'acr' ? { open: true } : null,
    onRecorded: () => {
      wakes++;
    },
  });
  port = await listen(server);
  base = `http://127.0.0.1:${port}`;
});

afterAll(async () => {
  await close(server);
  await store?.close();
  rmSync(dir, { recursive: true, force: true });
});

function postWebhook(source: string, body: string, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(`${base}/webhooks/${source}`, {
    method: 'POST',
    body,
    headers: { 'Content-Type': 'application/json', ...headers },
  });
}

function postDistribution(body: string): Promise<Response> {
  return postWebhook('distribution', body, { Authorization: `Bearer ${TOKEN}` });
}

const ref = (repository: string, tag: string) => ({ registryHost: HOST, repository, tag });

async function json(res: Response): Promise<Record<string, unknown>> {
  return (await res.json()) as Record<string, unknown>;
}

async function healthy(url: string): Promise<number> {
  return (await fetch(`${url}/healthz`)).status;
}

/** `{"events":[{..., "target": {..., "deep": [[[…]]]}}]}` whose deepest nesting is exactly `depth`. */
function envelopeNested(depth: number, tag: string): string {
  // events object (1), events array (2), event object (3), target object (4): the rest are arrays.
  const arrays = depth - 4;
  const item = distributionItem({ repository: 'depth/api', tag });
  const text = JSON.stringify(distributionEnvelope(item));
  const deep = `${'['.repeat(arrays)}${']'.repeat(arrays)}`;
  return text.replace('"target":{', `"target":{"deep":${deep},`);
}

describe('POST /webhooks/distribution with a token configured', () => {
  it('accepts a valid push with the right Bearer token, records it and wakes the outbox', async () => {
    const before = wakes;
    const digest = digestOf('auth-ok');
    const res = await postDistribution(distributionBody({ repository: 'auth/api', tag: 'v1', digest }));
    expect(res.status).toBe(202);
    const body = await json(res);
    expect(body.accepted).toBe(1);
    expect(body.transitions).toEqual([
      { id: expect.any(String), tagRef: `${HOST}/auth/api:v1`, transition: 'first-seen' },
    ]);
    expect(body.rejected).toEqual([]);
    const history = await store.history(ref('auth/api', 'v1'));
    expect(history.map((h) => [h.transition, h.digest])).toEqual([['first-seen', digest]]);
    expect(wakes).toBe(before + 1);
  });

  it.each([
    ['no Authorization header', {}],
    ['a wrong Bearer token', { Authorization: 'Bearer wrong-token-000000000000' }],
    [
      'Basic credentials carrying the right token',
      { Authorization: `Basic ${Buffer.from(`user:${TOKEN}`).toString('base64')}` },
    ],
    ['the bare token without the Bearer scheme', { Authorization: TOKEN }],
  ])('answers 401 to %s, without revealing the token, and records nothing', async (_name, headers) => {
    const before = wakes;
    const failuresBefore = (await store.failures(1000)).length;
    const res = await postWebhook(
      'distribution',
      distributionBody({ repository: 'auth/denied', tag: 'v1' }),
      headers as Record<string, string>,
    );
    expect(res.status).toBe(401);
    const text = await res.text();
    expect(JSON.parse(text).error).toMatch(/^unauthorized: /);
    expect(text).not.toContain(TOKEN);
    expect(await store.history(ref('auth/denied', 'v1'))).toEqual([]);
    expect(await store.tagState(ref('auth/denied', 'v1'))).toBeNull();
    expect(await store.failures(1000)).toHaveLength(failuresBefore);
    expect(wakes).toBe(before);
  });

  it('checks the token before looking at the body: a bad body without a token is 401, not 400', async () => {
    const res = await postWebhook('distribution', '{not json');
    expect(res.status).toBe(401);
  });
});

describe('a source explicitly open without a token (acr)', () => {
  it('accepts webhooks without any Authorization header: 202 for a valid body, 400 for a malformed one', async () => {
    const digest = digestOf('acr-open');
    const valid = JSON.stringify({
      id: 'acr-open-1',
      timestamp: '2026-11-22T10:00:00Z',
      action: 'push',
      target: {
        mediaType: 'application/vnd.oci.image.manifest.v1+json',
        digest,
        repository: 'open/api',
        tag: 'v1',
      },
      request: { host: 'myregistry.azurecr.io' },
    });
    const ok = await postWebhook('acr', valid);
    expect(ok.status).toBe(202);
    expect((await json(ok)).accepted).toBe(1);
    const state = await store.tagState({
      registryHost: 'myregistry.azurecr.io',
      repository: 'open/api',
      tag: 'v1',
    });
    expect(state?.digest).toBe(digest);

    const bad = await postWebhook('acr', '{}');
    expect(bad.status).toBe(400);
    expect(String((await json(bad)).error)).toContain('not an ACR webhook event');
  });
});

describe('body limits', () => {
  it('answers 413 to a Content-Length over 1 MiB without waiting for the body', async () => {
    const before = (await store.failures(1000)).length;
    const res = await rawRequest(
      port,
      [
        'POST /webhooks/distribution HTTP/1.1',
        'Host: 127.0.0.1',
        `Authorization: Bearer ${TOKEN}`,
        'Content-Type: application/json',
        `Content-Length: ${MAX_BODY_BYTES + 1}`,
      ].join('\r\n'),
      { timeoutMs: 5_000 },
    );
    // No body byte was sent: the answer came from the declared length alone.
    expect(res.written).toBe(0);
    expect(res.status).toBe(413);
    expect(JSON.parse(res.body).error).toContain(String(MAX_BODY_BYTES));
    expect(await store.failures(1000)).toHaveLength(before);
    expect(await healthy(base)).toBe(200);
  });

  it('answers 413 to a chunked body (no Content-Length) once it passes 1 MiB, and keeps serving', async () => {
    const chunk = 64 * 1024;
    const res = await rawRequest(
      port,
      [
        'POST /webhooks/distribution HTTP/1.1',
        'Host: 127.0.0.1',
        `Authorization: Bearer ${TOKEN}`,
        'Content-Type: application/json',
        'Transfer-Encoding: chunked',
      ].join('\r\n'),
      // 256 MiB offered: the server must answer long before it has all of it.
      { chunks: { size: chunk, count: 4096 } },
    );
    expect(res.status).toBe(413);
    expect(JSON.parse(res.body).error).toContain(String(MAX_BODY_BYTES));
    expect(res.written).toBeGreaterThan(MAX_BODY_BYTES);
    expect(res.written).toBeLessThan(4096 * chunk);
    expect(await healthy(base)).toBe(200);
  });

  it('accepts a body just under 1 MiB (padding in an ignored field)', async () => {
    const item = distributionItem({ repository: 'limits/api', tag: 'under' });
    const text = JSON.stringify(distributionEnvelope({ ...item, padding: '' }));
    const body = text.replace('"padding":""', `"padding":"${'x'.repeat(MAX_BODY_BYTES - text.length - 10)}"`);
    expect(Buffer.byteLength(body)).toBeLessThanOrEqual(MAX_BODY_BYTES);
    const res = await postDistribution(body);
    expect(res.status).toBe(202);
  });
});

describe('bad requests', () => {
  it('answers 400 with a reason to malformed JSON', async () => {
    const res = await postDistribution('{"events": [');
    expect(res.status).toBe(400);
    expect(String((await json(res)).error)).toMatch(/^body is not valid JSON: /);
  });

  it('keeps the 400 reason on one line when the malformed body holds control characters', async () => {
    const res = await postDistribution('nope\n\u0007');
    expect(res.status).toBe(400);
    const error = String((await json(res)).error);
    expect(error).toMatch(/^body is not valid JSON: /);
    expect(error).not.toContain('\n');
    expect(error).not.toContain('\u0007');
    expect(error).toContain('\\n');
  });

  it('answers 400 naming the depth limit to JSON nested 33 deep', async () => {
    const res = await postDistribution(envelopeNested(33, 'deep33'));
    expect(res.status).toBe(400);
    expect((await json(res)).error).toBe('JSON nests deeper than 32 levels');
    expect(await store.history(ref('depth/api', 'deep33'))).toEqual([]);
  });

  it('does not reject JSON nested exactly 32 deep for depth (the event is accepted)', async () => {
    const res = await postDistribution(envelopeNested(32, 'deep32'));
    expect(res.status).toBe(202);
    expect((await json(res)).accepted).toBe(1);
    expect(await store.history(ref('depth/api', 'deep32'))).toHaveLength(1);
  });

  it('answers 400 to an empty body', async () => {
    const res = await postDistribution('');
    expect(res.status).toBe(400);
    expect((await json(res)).error).toBe('body is empty; expected JSON');
  });

  it("answers 400 with the parser's reason to JSON of the wrong shape", async () => {
    const res = await postDistribution('{"foo":1}');
    expect(res.status).toBe(400);
    const error = String((await json(res)).error);
    expect(error).toMatch(/^not a distribution notification envelope: /);
    expect(error).toContain('events');
  });
});

describe('routing', () => {
  it('answers 404 listing the known sources to an unknown source', async () => {
    const res = await postWebhook('nope', '{}');
    expect(res.status).toBe(404);
    const error = String((await json(res)).error);
    expect(error).toContain('unknown source "nope"');
    for (const source of ['distribution', 'ecr', 'acr']) expect(error).toContain(source);
  });

  it('answers 405 to a GET on a webhook', async () => {
    const res = await fetch(`${base}/webhooks/distribution`);
    expect(res.status).toBe(405);
    expect((await json(res)).error).toBe('use POST');
  });

  it('answers 404 to an unknown path', async () => {
    const res = await fetch(`${base}/no/such/path`);
    expect(res.status).toBe(404);
    expect(String((await json(res)).error)).toContain('/no/such/path');
  });

  it('answers 200 on /healthz', async () => {
    const res = await fetch(`${base}/healthz`);
    expect(res.status).toBe(200);
    expect(await json(res)).toEqual({ status: 'ok' });
  });
});

describe('batches and duplicates', () => {
  it('accepts the good item of a batch, rejects the one with a bad digest and keeps it as a failed record', async () => {
    const good = distributionItem({ repository: 'batch/api', tag: 'good', digest: digestOf('batch-good') });
    const bad = distributionItem({ repository: 'batch/api', tag: 'bad', digest: 'sha256:not-a-digest' });
    const failuresBefore = (await store.failures(1000)).length;
    const res = await postDistribution(JSON.stringify(distributionEnvelope(good, bad)));
    expect(res.status).toBe(202);
    const body = await json(res);
    expect(body.accepted).toBe(1);
    expect(body.rejected).toEqual([expect.stringMatching(/^events\[1\]: target\.digest /)]);
    expect(await store.history(ref('batch/api', 'good'))).toHaveLength(1);
    expect(await store.history(ref('batch/api', 'bad'))).toEqual([]);
    const failures = await store.failures(1000);
    expect(failures).toHaveLength(failuresBefore + 1);
    expect(failures[0]).toMatchObject({
      source: 'distribution',
      reason: (body.rejected as string[])[0],
    });
    expect(failures[0]!.payload).toContain('sha256:not-a-digest');
  });

  it('classifies the same event delivered twice as duplicate and keeps one history row', async () => {
    const body = distributionBody({
      id: 'dup-event-1',
      repository: 'dup/api',
      tag: 'v1',
      digest: digestOf('dup'),
    });
    const first = await json(await postDistribution(body));
    const second = await postDistribution(body);
    expect(second.status).toBe(202);
    expect((first.transitions as { transition: string }[])[0]!.transition).toBe('first-seen');
    expect(((await json(second)).transitions as { transition: string }[])[0]!.transition).toBe('duplicate');
    expect(await store.history(ref('dup/api', 'v1'))).toHaveLength(1);
  });
});

describe('GET /api/tags', () => {
  const digest1 = digestOf('api-1');
  const digest2 = digestOf('api-2');

  beforeAll(async () => {
    for (const [digest, timestamp] of [
      [digest1, '2026-11-22T10:00:00Z'],
      [digest2, '2026-11-22T10:05:00Z'],
    ] as const) {
      const res = await postDistribution(
        distributionBody({ repository: 'query/api', tag: 'v1', digest, timestamp }),
      );
      expect(res.status).toBe(202);
    }
  });

  it('answers 200 with the current digest and the history of a known tag', async () => {
    const res = await fetch(`${base}/api/tags/${HOST}/query/api:v1`);
    expect(res.status).toBe(200);
    const body = await json(res);
    expect(body.tagRef).toBe(`${HOST}/query/api:v1`);
    expect(body.current).toBe(digest2);
    expect(
      (body.history as { transition: string; digest: string }[]).map((h) => [h.transition, h.digest]),
    ).toEqual([
      ['first-seen', digest1],
      ['overwrite', digest2],
    ]);
  });

  it('accepts the tag reference URL-encoded as one path segment', async () => {
    const res = await fetch(`${base}/api/tags/${encodeURIComponent(`${HOST}/query/api:v1`)}`);
    expect(res.status).toBe(200);
    expect((await json(res)).current).toBe(digest2);
  });

  it('answers 400 with the expected form to a malformed reference', async () => {
    const res = await fetch(`${base}/api/tags/not-a-reference`);
    expect(res.status).toBe(400);
    expect(String((await json(res)).error)).toContain('expected /api/tags/<registryHost>/<repository>:<tag>');
  });

  it('answers 404 to a tag it has never seen', async () => {
    const res = await fetch(`${base}/api/tags/${HOST}/query/api:never`);
    expect(res.status).toBe(404);
    expect((await json(res)).error).toBe(`no history for ${HOST}/query/api:never`);
  });
});

describe('load', () => {
  it('records all of 200 concurrent pushes of distinct tags (no event lost)', async () => {
    const responses = await Promise.all(
      Array.from({ length: 200 }, (_, i) =>
        postDistribution(
          distributionBody({ repository: 'load/api', tag: `t${i}`, digest: digestOf(`load-${i}`) }),
        ),
      ),
    );
    expect(responses.map((r) => r.status)).toEqual(Array(200).fill(202));
    const bodies = await Promise.all(responses.map((r) => json(r)));
    expect(bodies.every((b) => b.accepted === 1)).toBe(true);
    const rows = store.db
      .prepare("SELECT COUNT(DISTINCT tag) AS tags, COUNT(*) AS n FROM history WHERE repository = 'load/api'")
      .get() as { tags: number; n: number };
    expect(rows).toEqual({ tags: 200, n: 200 });
  });
});

/** A store that fails while `failing` is set, as a locked or unreachable database would. */
class FlakyStore extends MemoryHistoryStore {
  failing = true;
  override async apply(event: RegistryEvent, policy: Policy, receivedAt: string): Promise<ApplyResult> {
    if (this.failing) throw new Error('database is locked');
    return super.apply(event, policy, receivedAt);
  }
}

describe('a failing history store', () => {
  const flaky = new FlakyStore();
  let flakyServer: Server;
  let flakyBase: string;
  let flakyWakes = 0;

  beforeAll(async () => {
    flakyServer = createLocalServer({
      store: flaky,
      policy: DEFAULT_POLICY,
      log: silentLogger,
      auth: () => ({ open: true }),
      onRecorded: () => {
        flakyWakes++;
      },
    });
    flakyBase = `http://127.0.0.1:${await listen(flakyServer)}`;
  });

  afterAll(async () => {
    await close(flakyServer);
  });

  it('answers 503 so the sender retries, and keeps serving: the retry succeeds once the store is back', async () => {
    const body = distributionBody({ id: 'flaky-1', repository: 'flaky/api', tag: 'v1' });
    const res = await fetch(`${flakyBase}/webhooks/distribution`, { method: 'POST', body });
    expect(res.status).toBe(503);
    const text = await res.text();
    expect(JSON.parse(text).error).toBe('history store unavailable; retry later');
    expect(text).not.toContain('database is locked');
    expect(flakyWakes).toBe(0);
    expect(await healthy(flakyBase)).toBe(200);

    flaky.failing = false;
    const retry = await fetch(`${flakyBase}/webhooks/distribution`, { method: 'POST', body });
    expect(retry.status).toBe(202);
    expect(((await json(retry)).transitions as { transition: string }[])[0]!.transition).toBe('first-seen');
    expect(flakyWakes).toBe(1);
  });
});

describe('raw node:http client', () => {
  it('gets a JSON 202 for a valid push sent with node:http', async () => {
    const body = distributionBody({ repository: 'raw/api', tag: 'v1' });
    const { status, text } = await new Promise<{ status: number; text: string }>((resolve, reject) => {
      const req = httpRequest(
        {
          host: '127.0.0.1',
          port,
          path: '/webhooks/distribution',
          method: 'POST',
          headers: { Authorization: `Bearer ${TOKEN}`, 'Content-Length': Buffer.byteLength(body) },
        },
        (res) => {
          let text = '';
          res.on('data', (c: Buffer) => {
            text += c.toString();
          });
          res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
        },
      );
      req.on('error', reject);
      req.end(body);
    });
    expect(status).toBe(202);
    expect(JSON.parse(text).accepted).toBe(1);
  });
});

describe('a body of many rejected items, on a real `tagwarden serve`', () => {
  const serveDir = mkdtempSync(join(tmpdir(), 'tagwarden-serve-rejected-'));
  const db = join(serveDir, 'history.db');
  let tagwarden: RunningTagwarden | undefined;

  /**
   * What the history holds on disk: the write-ahead log is first folded into the database and
   * truncated (a TRUNCATE checkpoint from a second connection), so a page counts once, not once in
   * the log and again in the file, whenever the server's own checkpoint happened to run.
   */
  const bytesOnDisk = () => {
    if (existsSync(db)) {
      const connection = new Database(db);
      try {
        connection.pragma('wal_checkpoint(TRUNCATE)');
      } finally {
        connection.close();
      }
    }
    return [db, `${db}-wal`].reduce((sum, file) => sum + (existsSync(file) ? statSync(file).size : 0), 0);
  };
  // A distribution envelope of `{}` events: the format, every item invalid. (A bare array of `{}` is
  // not ECR's format at all and is refused whole, so it no longer reaches the failure log.)
  const itemsBody = (count: number) => `{"events":[${Array.from({ length: count }, () => '{}').join(',')}]}`;

  beforeAll(async () => {
    buildCli();
    tagwarden = await startTagwarden(['--port', String(await freePort()), '--db', db]);
  }, 60_000);

  afterAll(async () => {
    await tagwarden?.stop();
    rmSync(serveDir, { recursive: true, force: true });
  });

  /** The answer's status, its rejected count, and how many reasons it lists and how large it is. */
  async function postItems(body: string) {
    const res = await fetch(`${tagwarden!.url}/webhooks/distribution`, {
      method: 'POST',
      body,
      headers: { 'Content-Type': 'application/json' },
    });
    const text = await res.text();
    const answer = JSON.parse(text) as { rejected?: string[]; rejectedCount?: number };
    return {
      status: res.status,
      rejected: answer.rejectedCount,
      listed: answer.rejected?.length,
      small: text.length < 16 * 1024,
    };
  }

  it.each([
    ['5,000 `{}` items (15 KB)', 5000],
    ['a ~1 MiB body of `{}` items', Math.floor((MAX_BODY_BYTES - 13) / 3)],
  ])('keeps %s as one failed record: the file grows by under 2 MiB', async (_, count) => {
    const body = itemsBody(count);
    expect(body.length).toBeLessThanOrEqual(MAX_BODY_BYTES);
    const before = bytesOnDisk();
    // The answer lists the first 20 reasons with the count: a small body cannot buy a 20 MB answer.
    expect(await postItems(body)).toEqual({ status: 202, rejected: count, listed: 20, small: true });
    expect(bytesOnDisk() - before).toBeLessThan(2 * 1024 * 1024);
    const reader = new SqliteHistoryStore({ path: db });
    try {
      const [newest] = await reader.failures(10);
      expect(newest!.source).toBe('distribution');
      expect(newest!.payload === body).toBe(true);
      expect(newest!.reason).toMatch(
        new RegExp(`^${count} items rejected: events\\[0\\]: .*; and ${count - 20} more$`),
      );
      expect(newest!.reason.length).toBeLessThan(20 * 202 + 100);
    } finally {
      await reader.close();
    }
  });

  it('holds one record per request, which `tagwarden failed` lists with its count', () => {
    const result = runCli(['failed', '--db', db]);
    expect(result.status).toBe(0);
    expect(result.stdout).toContain('Rejected events (2):');
    expect(result.stdout).toMatch(/ {2}#1 {2}\S+ {2}distribution: 5000 items rejected: events\[0\]: /);
  });
});

describe('the read API behind api.token, and the edge log', () => {
  const API_TOKEN = 'tw-api-token-0123456789';
  const lines: { level: string; message: string; fields: Record<string, unknown> }[] = [];
  const capture =
    (level: string) =>
    (message: string, fields: Record<string, unknown> = {}) =>
      void lines.push({ level, message, fields });
  let guarded: Server;
  let guardedPort: number;

  beforeAll(async () => {
    guarded = createLocalServer({
      store,
      policy: DEFAULT_POLICY,
      log: { info: capture('info'), warn: capture('warn'), error: capture('error'), debug: capture('debug') },
      auth: (s) => (s === 'distribution' ? { token: TOKEN, header: 'Authorization' } : null),
      onRecorded: () => {},
      apiToken: API_TOKEN,
    });
    guardedPort = await listen(guarded);
  });
  afterAll(() => close(guarded));

  const tags = (headers: Record<string, string> = {}) =>
    fetch(`http://127.0.0.1:${guardedPort}/api/tags/${HOST}/nothing/here:v1`, { headers });

  it('answers 401 to GET /api/tags without the token or with a wrong one, and serves it with the token', async () => {
    const missing = await tags();
    expect(missing.status).toBe(401);
    expect(missing.headers.get('www-authenticate')).toContain('Bearer');
    expect((await tags({ Authorization: 'Bearer wrong-token-0123456789' })).status).toBe(401);
    expect((await tags({ Authorization: `Bearer ${API_TOKEN}` })).status).toBe(404);
  });

  it('answers 400, not 500, to a path that is not valid percent-encoding', async () => {
    const res = await rawRequest(
      guardedPort,
      ['POST /webhooks/% HTTP/1.1', 'Host: 127.0.0.1', 'Content-Length: 2'].join('\r\n'),
    );
    expect(res.status).toBe(400);
    expect(JSON.parse(res.body).error).toContain('percent-encoding');
    expect(lines.filter((l) => l.level === 'error')).toEqual([]);
  });

  it('logs a 401 at warn without token material, once per source, reason and address', async () => {
    lines.length = 0;
    for (let i = 0; i < 3; i++)
      await fetch(`http://127.0.0.1:${guardedPort}/webhooks/distribution`, {
        method: 'POST',
        body: '{}',
        headers: { Authorization: 'Bearer not-the-token-0123456789' },
      });
    const warned = lines.filter((l) => l.level === 'warn');
    expect(warned).toHaveLength(1);
    expect(warned[0]!.fields).toEqual({
      source: 'distribution',
      reason: 'unauthorized: invalid credentials',
      remoteAddress: '127.0.0.1',
    });
    expect(JSON.stringify(lines)).not.toContain('not-the-token');
  });

  it('logs an aborted upload at debug, not at error', async () => {
    lines.length = 0;
    await new Promise<void>((resolve) => {
      const socket = connect(guardedPort, '127.0.0.1', () => {
        socket.write(
          [
            'POST /webhooks/distribution HTTP/1.1',
            'Host: 127.0.0.1',
            `Authorization: Bearer ${TOKEN}`,
            'Content-Length: 1000',
            '',
            '{"ev',
          ].join('\r\n'),
          () => setTimeout(() => socket.destroy(), 50),
        );
      });
      socket.on('close', () => resolve());
    });
    const debug = await eventually(async () => lines.find((l) => l.level === 'debug'), 'a debug line');
    expect(debug.message).toBe('upload aborted by the client');
    expect(lines.filter((l) => l.level === 'error')).toEqual([]);
  });
});
