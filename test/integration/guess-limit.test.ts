import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Registry } from 'prom-client';
import { GUESS_LIMITS, GuessLimiter } from '../../functions/local/guess-limit';
import { AgentMetrics } from '../../functions/local/metrics-agent';
import { createLocalServer } from '../../functions/local/server';
import type { Policy } from '../../shared/core';
import { SqliteHistoryStore } from '../../shared/history';
import { type Logger, silentLogger } from '../../shared/log';
import { idleAgent } from '../support/edge-servers';
import { buildCli, freePort, type RunningTagwarden, startTagwarden } from '../support/tagwarden';

// Guessing `api.token` on a real `serve` server (port 0): after 10 wrong tokens within a minute from
// one address, that address is answered 429 with Retry-After, the right token included, until the
// window passes; another address keeps its own budget. Linux routes all of 127.0.0.0/8 to loopback,
// so the second client connects from 127.0.0.2. The limiter's clock is a variable: no sleeps.

const TOKEN = 'guess-test-token-0123456789';
const policy: Policy = { defaults: { action: 'alert', owners: ['#ops'], bump: false }, rules: [] };

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

let server: Server;
let port: number;
const clock = { now: 1_700_000_000_000 };
const store = new SqliteHistoryStore({ path: ':memory:' });

function call(
  method: string,
  path: string,
  options: { headers?: Record<string, string>; body?: string; from?: string; port?: number } = {},
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port: options.port ?? port,
        method,
        path,
        headers: { Connection: 'close', ...options.headers },
        ...(options.from ? { localAddress: options.from } : {}),
      },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          body += chunk;
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
      },
    );
    req.on('error', reject);
    req.end(options.body);
  });
}

const login = (token: string, from?: string) =>
  call('POST', '/ui/login', {
    headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ token }).toString(),
    ...(from ? { from } : {}),
  });

/** A login whose headers go first (`Expect: 100-continue`); its body only on `send()`. */
function headersFirst(token: string) {
  const body = new URLSearchParams({ token }).toString();
  let send = () => {};
  let continued!: Promise<void>;
  const answer = new Promise<Answer>((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port,
        method: 'POST',
        path: '/ui/login',
        headers: {
          Connection: 'close',
          Expect: '100-continue',
          'Content-Type': 'application/x-www-form-urlencoded',
          'Content-Length': Buffer.byteLength(body),
        },
      },
      (res) => {
        res.resume();
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: '' }));
      },
    );
    req.on('error', reject);
    continued = new Promise((go) => req.once('continue', () => go()));
    send = () => req.end(body);
  });
  return { continued, answer, send: () => send() };
}

const bearer = (path: string, token: string, headers: Record<string, string> = {}, from?: string) =>
  call('GET', path, { headers: { Authorization: `Bearer ${token}`, ...headers }, ...(from ? { from } : {}) });

describe('on a server', () => {
  beforeEach(async () => {
    server = createLocalServer({
      store,
      policy,
      log: silentLogger,
      auth: () => null,
      apiToken: TOKEN,
      metrics: new Registry(),
      onRecorded: () => {},
      guesses: new GuessLimiter(GUESS_LIMITS, () => clock.now),
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
  });

  afterEach(async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  afterAll(() => store.close());

  async function failLogins(count: number, from?: string): Promise<void> {
    for (let i = 0; i < count; i++) expect((await login(`wrong-${i}`, from)).status).toBe(401);
  }

  describe('guessing api.token at the login form', () => {
    it('answers the 11th wrong token within a minute 429 with Retry-After, and the right one too until the window passes', async () => {
      await failLogins(10);
      const eleventh = await login('wrong-11');
      expect(eleventh.status).toBe(429);
      expect(eleventh.headers['retry-after']).toBe('60');
      expect(eleventh.body).toContain('too many wrong api.token attempts from this address');

      clock.now += 30_000;
      const right = await login(TOKEN);
      expect(right.status).toBe(429);
      expect(right.headers['retry-after']).toBe('30');
      expect(right.headers['set-cookie']).toBeUndefined();

      clock.now += 30_000;
      const after = await login(TOKEN);
      expect(after.status).toBe(303);
      expect(String(after.headers['set-cookie'])).toContain('tagwarden_session=');
    });

    it('leaves another address its own budget', async () => {
      await failLogins(10);
      expect((await login(TOKEN)).status).toBe(429);
      expect((await login('wrong', '127.0.0.2')).status).toBe(401);
      expect((await login(TOKEN, '127.0.0.2')).status).toBe(303);
      expect((await login(TOKEN)).status).toBe(429);
    });

    it('does not reset a count on success, and does not trust X-Forwarded-For', async () => {
      await failLogins(9);
      expect((await login(TOKEN)).status).toBe(303);
      await failLogins(1);
      const spoofed = await call('POST', '/ui/login', {
        headers: { 'Content-Type': 'application/x-www-form-urlencoded', 'X-Forwarded-For': '203.0.113.9' },
        body: new URLSearchParams({ token: TOKEN }).toString(),
      });
      expect(spoofed.status).toBe(429);
    });

    it('does not let wrong tokens sent at once past the budget (each is counted before the next is judged)', async () => {
      // Every request's headers are in (the server said 100 Continue) before any body is sent: a check
      // made only before the body is read would let all 20 guesses through.
      const guesses = Array.from({ length: 20 }, (_, i) => headersFirst(`wrong-${i}`));
      await Promise.all(guesses.map((g) => g.continued));
      for (const g of guesses) g.send();
      const statuses = (await Promise.all(guesses.map((g) => g.answer))).map((a) => a.status);
      expect(statuses.filter((s) => s === 401)).toHaveLength(10);
      expect(statuses.filter((s) => s === 429)).toHaveLength(10);
    });
  });

  describe('guessing api.token as a Bearer token on the read API', () => {
    it('answers the 11th wrong token 429 with Retry-After on every token-checked route, then lets the right one in after the window', async () => {
      for (let i = 0; i < 10; i++) expect((await bearer('/api/tags', `wrong-${i}`)).status).toBe(401);
      const eleventh = await bearer('/api/tags', 'wrong-11');
      expect(eleventh.status).toBe(429);
      expect(eleventh.headers['retry-after']).toBe('60');
      expect(JSON.parse(eleventh.body)).toEqual({
        error: 'too many wrong api.token attempts from this address; try again in 60 s',
      });
      for (const path of ['/api/tags', '/metrics', '/api/drift', '/api/tags/registry.example/app:1'])
        expect((await bearer(path, TOKEN)).status).toBe(429);
      expect((await bearer('/api/tags', TOKEN, {}, '127.0.0.2')).status).toBe(200);

      clock.now += 60_000;
      expect((await bearer('/api/tags', TOKEN)).status).toBe(200);
      expect((await bearer('/metrics', TOKEN)).status).toBe(200);
    });

    it('counts the login form and the API against one budget', async () => {
      await failLogins(5);
      for (let i = 0; i < 5; i++) expect((await bearer('/metrics', `wrong-${i}`)).status).toBe(401);
      expect((await login(TOKEN)).status).toBe(429);
    });

    it('does not count a request that presents no token at all', async () => {
      for (let i = 0; i < 15; i++) expect((await call('GET', '/api/tags')).status).toBe(401);
      expect((await bearer('/api/tags', TOKEN)).status).toBe(200);
    });
  });
});

describe('tagwarden serve (the built CLI)', () => {
  let tagwarden: RunningTagwarden;
  let cliPort: number;
  const dir = mkdtempSync(join(tmpdir(), 'tagwarden-guess-'));

  beforeAll(async () => {
    buildCli();
    const config = join(dir, 'tagwarden.yaml');
    writeFileSync(config, `defaults: { action: allow }\napi:\n  token: "${TOKEN}"\n`);
    cliPort = await freePort();
    tagwarden = await startTagwarden([
      '--port',
      String(cliPort),
      '--db',
      join(dir, 'h.db'),
      '--config',
      config,
    ]);
  }, 60_000);

  afterAll(async () => {
    await tagwarden?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('locks out an address after 10 wrong tokens, the right one included, and logs the lock-out once', async () => {
    const metrics = (token: string, from?: string) =>
      call('GET', '/metrics', {
        headers: { Authorization: `Bearer ${token}` },
        port: cliPort,
        ...(from ? { from } : {}),
      });
    for (let i = 0; i < 10; i++) expect((await metrics(`wrong-${i}`)).status).toBe(401);
    const locked = await metrics(TOKEN);
    expect(locked.status).toBe(429);
    expect(Number(locked.headers['retry-after'])).toBeGreaterThan(0);
    expect((await metrics(TOKEN, '127.0.0.2')).status).toBe(200);
    const warnings = tagwarden.output().match(/api\.token guessed wrong too often/g) ?? [];
    expect(warnings).toHaveLength(1);
    expect(tagwarden.output()).toContain('"remoteAddress":"127.0.0.1"');
  });
});

describe("the agent's GET /metrics behind TAGWARDEN_METRICS_TOKEN", () => {
  let agent: Server;
  const warnings: string[] = [];
  const log: Logger = {
    info: () => {},
    error: () => {},
    warn: (message, fields) => void warnings.push(`${message} ${JSON.stringify(fields ?? {})}`),
  };

  async function startAgent(guesses?: GuessLimiter): Promise<void> {
    agent = idleAgent({ log, metrics: new AgentMetrics(TOKEN), ...(guesses ? { guesses } : {}) });
    await new Promise<void>((resolve) => agent.listen(0, '127.0.0.1', resolve));
    port = (agent.address() as AddressInfo).port;
  }

  afterEach(async () => {
    agent.closeAllConnections();
    await new Promise<void>((resolve) => agent.close(() => resolve()));
    warnings.length = 0;
  });

  it('answers the 11th wrong token within a minute 429 with Retry-After, the right one too, until the window passes', async () => {
    await startAgent(new GuessLimiter(GUESS_LIMITS, () => clock.now));
    for (let i = 0; i < 10; i++) expect((await bearer('/metrics', `wrong-${i}`)).status).toBe(401);
    const eleventh = await bearer('/metrics', 'wrong-11');
    expect(eleventh.status).toBe(429);
    expect(eleventh.headers['retry-after']).toBe('60');
    expect(JSON.parse(eleventh.body)).toEqual({
      error: 'too many wrong TAGWARDEN_METRICS_TOKEN attempts from this address; try again in 60 s',
    });
    expect((await bearer('/metrics', TOKEN)).status).toBe(429);
    expect((await bearer('/metrics', TOKEN, {}, '127.0.0.2')).status).toBe(200);

    clock.now += 60_000;
    expect((await bearer('/metrics', TOKEN)).status).toBe(200);
  });

  it('has a limiter of its own without one injected, and logs each lock-out once', async () => {
    await startAgent();
    for (let i = 0; i < 10; i++) expect((await bearer('/metrics', `wrong-${i}`)).status).toBe(401);
    for (let i = 0; i < 3; i++) expect((await bearer('/metrics', TOKEN)).status).toBe(429);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain('TAGWARDEN_METRICS_TOKEN guessed wrong too often');
    expect(warnings[0]).toContain('"remoteAddress":"127.0.0.1"');
  });
});
