import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createLocalServer } from '../../functions/local/server';
import { diffDrift, type KeyedFinding, type Policy, shortDigest } from '../../shared/core';
import { type HistoryStore, MemoryHistoryStore, SqliteHistoryStore } from '../../shared/history';
import { silentLogger } from '../../shared/log';
import { finding } from '../contract/drift-log.contract';
import { describeHistoryBrowser } from '../contract/history-browser.contract';
import { at, digestOf, pushEvent } from '../support/events';

// The web interface of `serve` over HTTP (issue 17): access, CSRF, headers, escaping, paging, and
// that each page's JSON twin says the same. The browser run is test/e2e/ui.e2e.test.ts.

const TOKEN = 'ui-test-token-0123456789';
const alertAll: Policy = { defaults: { action: 'alert', owners: ['#ops'], bump: false }, rules: [] };
const MARKUP = '<img src=x onerror=alert(1)>';

interface Running {
  base: string;
  server: Server;
  wakes: number;
}

async function start(
  store: HistoryStore,
  apiToken: string | undefined,
  drift?: SqliteHistoryStore['drift'],
): Promise<Running> {
  const running = { base: '', server: null as unknown as Server, wakes: 0 };
  running.server = createLocalServer({
    store,
    drift,
    policy: alertAll,
    log: silentLogger,
    auth: () => null,
    apiToken,
    onRecorded: () => {
      running.wakes++;
    },
  });
  await new Promise<void>((resolve) => running.server.listen(0, '127.0.0.1', resolve));
  running.base = `http://127.0.0.1:${(running.server.address() as AddressInfo).port}`;
  return running;
}

async function stop(running: Running): Promise<void> {
  running.server.closeAllConnections();
  await new Promise<void>((resolve) => running.server.close(() => resolve()));
}

const store = new SqliteHistoryStore({ path: ':memory:' });
let ui: Running;
let cookie: string;
let failedKey: string;

async function signIn(base: string, token = TOKEN, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(`${base}/ui/login`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/x-www-form-urlencoded', ...headers },
    body: new URLSearchParams({ token }).toString(),
    redirect: 'manual',
  });
}

const page = (path: string, headers: Record<string, string> = {}) =>
  fetch(`${ui.base}${path}`, { headers: { Cookie: cookie, ...headers }, redirect: 'manual' });

function csrfOf(html: string): string {
  return /name="csrf" value="([^"]+)"/.exec(html)![1]!;
}

beforeAll(async () => {
  await store.apply(
    pushEvent({ id: 'ui-1', digest: digestOf('a'), timestamp: at(0), actor: MARKUP }),
    alertAll,
    at(0),
  );
  const overwrite = await store.apply(
    pushEvent({ id: 'ui-2', digest: digestOf('b'), timestamp: at(1), actor: 'mallory' }),
    alertAll,
    at(1),
  );
  failedKey = overwrite.effects[0]!.key;
  await store.updateEffect(failedKey, { status: 'failed', error: 'slack said <b>no</b>' }, at(2));
  await driftReports();
  ui = await start(store, TOKEN, store.drift);
  const login = await signIn(ui.base);
  cookie = login.headers.get('set-cookie')!.split(';')[0]!;
});

/** Two reports from cluster prod-eu: a split in a workload named with markup stays open, a stale one clears. */
async function driftReports(): Promise<void> {
  const split = finding({ workload: { kind: 'Deployment', namespace: 'payments', name: MARKUP } });
  const stale = finding({
    kind: 'stale',
    running: [{ digest: digestOf('a'), pods: 2 }],
    tagDigest: digestOf('b'),
  });
  const report = (id: string, found: KeyedFinding[], time: string) =>
    store.drift.applyReport(
      { cluster: 'prod-eu', reportId: id, receivedAt: time, forgetBefore: at(0) },
      (open) => ({
        diff: diffDrift(open, found, false),
        effects: [],
      }),
    );
  await report(
    'r1',
    [
      { key: 'k-split', finding: split },
      { key: 'k-stale', finding: stale },
    ],
    at(3),
  );
  await report('r2', [{ key: 'k-split', finding: split }], at(4));
}

afterAll(async () => {
  await stop(ui);
  await store.close();
});

describe('access to the web interface', () => {
  it('sends a request without a session to the login form, and refuses the API without the token', async () => {
    const res = await fetch(`${ui.base}/ui`, { redirect: 'manual' });
    expect(res.status).toBe(303);
    expect(res.headers.get('location')).toBe('/ui/login');
    const api = await fetch(`${ui.base}/api/tags`);
    expect(api.status).toBe(401);
    expect(((await api.json()) as { error: string }).error).toMatch(/unauthorized/);
    expect(
      (await fetch(`${ui.base}/api/tags`, { headers: { Authorization: `Bearer ${TOKEN}` } })).status,
    ).toBe(200);
  });

  it('refuses a wrong token and keeps the session in an HttpOnly, SameSite=Strict cookie that is not the token', async () => {
    expect((await signIn(ui.base, 'not-the-token')).status).toBe(401);
    const res = await signIn(ui.base);
    const set = res.headers.get('set-cookie')!;
    expect(set).toMatch(/^tagwarden_session=[^;]+; Max-Age=\d+; Path=\/; HttpOnly; SameSite=Strict$/);
    expect(set).not.toContain(TOKEN);
    const secure = await signIn(ui.base, TOKEN, { 'X-Forwarded-Proto': 'https' });
    expect(secure.headers.get('set-cookie')).toMatch(/; Secure$/);
  });

  it('refuses a forged session cookie', async () => {
    const [nonce, expires] = cookie.split('=')[1]!.split('.');
    const forged = `tagwarden_session=${nonce}.${expires}.AAAA`;
    const res = await fetch(`${ui.base}/ui`, { headers: { Cookie: forged }, redirect: 'manual' });
    expect(res.status).toBe(303);
  });

  it('answers every page with a strict CSP and nosniff, and loads nothing from outside', async () => {
    const res = await page('/ui');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-security-policy')).toBe(
      "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    );
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    const html = await res.text();
    expect(html).not.toMatch(/(src|href)="(https?:)?\/\//);
    expect(html).not.toContain('<script');
  });

  it('refuses the interface without api.token, naming the setting, and a retry over the API', async () => {
    const open = await start(new MemoryHistoryStore(), undefined);
    try {
      const res = await fetch(`${open.base}/ui`);
      expect(res.status).toBe(403);
      expect(await res.text()).toContain('api.token');
      const retry = await fetch(`${open.base}/api/effects/x%23alert/retry`, { method: 'POST' });
      expect(retry.status).toBe(403);
    } finally {
      await stop(open);
    }
  });
});

describe('retrying a failed effect', () => {
  it('refuses a POST without the CSRF token and leaves the effect failed', async () => {
    const res = await page('/ui/retry', { 'Content-Type': 'application/x-www-form-urlencoded' });
    expect(res.status).toBe(404); // a GET retries nothing
    const forged = await fetch(`${ui.base}/ui/retry`, {
      method: 'POST',
      headers: { Cookie: cookie, 'Content-Type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ key: failedKey, csrf: 'guess' }).toString(),
      redirect: 'manual',
    });
    expect(forged.status).toBe(403);
    const [effect] = await store.effectsOf(failedKey.split('#')[0]!);
    expect(effect!.status).toBe('failed');
  });

  it('puts it back in the outbox, due now, and wakes the runner', async () => {
    const html = await (await page('/ui')).text();
    expect(html).toContain(failedKey);
    const wakes = ui.wakes;
    const res = await fetch(`${ui.base}/ui/retry`, {
      method: 'POST',
      headers: { Cookie: cookie, 'Content-Type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ key: failedKey, csrf: csrfOf(html) }).toString(),
      redirect: 'manual',
    });
    expect(res.status).toBe(303);
    expect(res.headers.get('location')).toBe(
      `/ui/tag/${encodeURIComponent('127.0.0.1:5000/payments/api:v1.0.0')}`,
    );
    expect(ui.wakes).toBe(wakes + 1);
    const [effect] = await store.effectsOf(failedKey.split('#')[0]!);
    expect(effect!.status).toBe('pending');
    await store.updateEffect(failedKey, { status: 'failed', error: 'slack said <b>no</b>' }, at(3));
  });
});

describe('text from registries and links', () => {
  it('shows an actor, an error and a filter with markup as text', async () => {
    const html = await (await page(`/ui?repository=${encodeURIComponent(`"><script>x</script>`)}`)).text();
    expect(html).not.toContain('<script>x');
    expect(html).toContain('value="&quot;>&lt;script>x&lt;/script>"');
    const timeline = await (
      await page(`/ui/tag/${encodeURIComponent('127.0.0.1:5000/payments/api:v1.0.0')}`)
    ).text();
    expect(timeline).toContain('&lt;img src=x onerror=alert(1)>');
    expect(timeline).not.toContain(MARKUP);
    expect(timeline).toContain('slack said &lt;b>no&lt;/b>');
  });

  it('answers a tag path with markup with a 400 that shows it as text', async () => {
    const res = await page(`/ui/tag/${encodeURIComponent('<svg onload=alert(1)>')}`);
    expect(res.status).toBe(400);
    const html = await res.text();
    expect(html).not.toContain('<svg');
    expect(html).toContain('&lt;svg onload=alert(1)>');
  });

  it('names a bad filter or cursor', async () => {
    expect(await (await page('/ui?transition=nope')).text()).toContain('transition must be one of');
    const api = await fetch(`${ui.base}/api/tags?limit=0`, { headers: { Authorization: `Bearer ${TOKEN}` } });
    expect(api.status).toBe(400);
    expect(((await api.json()) as { error: string }).error).toMatch(/^limit must be/);
  });
});

describe('drift findings', () => {
  it('lists the open finding in words on /ui, with a workload name with markup as text', async () => {
    const html = await (await page('/ui')).text();
    const drift = /<table id="drift">[\s\S]*?<\/table>/.exec(html)?.[0] ?? '';
    expect(drift.match(/<tr data-kind=/g)).toHaveLength(1);
    expect(drift).toContain(
      `Deployment payments/&lt;img src=x onerror=alert(1)> runs ${shortDigest(finding().running[0]!.digest)} on 3 pods`,
    );
    // What the history says the tag serves now (the overwrite's digest), not the agent's guess.
    expect(drift).toContain(`the tag serves ${shortDigest(digestOf('b'))} (cluster prod-eu)`);
    expect(drift).toContain(`href="/ui/tag/${encodeURIComponent('127.0.0.1:5000/payments/api:v1.0.0')}"`);
    expect(html).not.toContain(MARKUP);
  });

  it("shows the tag's drift rows in its timeline, newest first among its events, and in the JSON twin", async () => {
    const ref = encodeURIComponent('127.0.0.1:5000/payments/api:v1.0.0');
    const html = await (await page(`/ui/tag/${ref}`)).text();
    const order = [...html.matchAll(/<li class="(?:event|drift)" data-(?:transition|drift)="([^"]+)"/g)].map(
      (m) => m[1],
    );
    expect(order).toEqual(['cleared', 'opened', 'opened', 'overwrite', 'first-seen']);
    expect(html).toContain('stale cleared in cluster prod-eu');
    expect(html).toContain('split found in cluster prod-eu');
    expect(html).not.toContain(MARKUP);
    const json = (await (
      await fetch(`${ui.base}/api/tags/${ref}/timeline`, { headers: { Authorization: `Bearer ${TOKEN}` } })
    ).json()) as { drift: { change: string; kind: string; cluster: string; text: string }[] };
    expect(json.drift.map((d) => [d.change, d.kind, d.cluster])).toEqual([
      ['cleared', 'stale', 'prod-eu'],
      ['opened', 'stale', 'prod-eu'],
      ['opened', 'split', 'prod-eu'],
    ]);
    expect(json.drift[2]!.text).toContain(`Deployment payments/${MARKUP} runs`);
  });
});

describe('JSON twins', () => {
  const api = async (path: string) =>
    (await fetch(`${ui.base}${path}`, { headers: { Authorization: `Bearer ${TOKEN}` } })).json() as Promise<
      Record<string, unknown>
    >;

  it('lists the same tags, effects and timeline as the pages', async () => {
    const tags = (await api('/api/tags')) as { tags: { tagRef: string; digest: string }[]; next: null };
    expect(tags.tags.map((t) => [t.tagRef, t.digest])).toEqual([
      ['127.0.0.1:5000/payments/api:v1.0.0', digestOf('b')],
    ]);
    const failed = (await api('/api/effects?state=failed')) as { effects: { key: string }[] };
    expect(failed.effects.map((e) => e.key)).toEqual([failedKey]);
    const ref = encodeURIComponent('127.0.0.1:5000/payments/api:v1.0.0');
    const timeline = (await api(`/api/tags/${ref}/timeline`)) as {
      entries: { transition: string; digest: string; effects: { key: string }[] }[];
    };
    expect(timeline.entries.map((e) => [e.transition, e.digest])).toEqual([
      ['overwrite', digestOf('b')],
      ['first-seen', digestOf('a')],
    ]);
    expect(timeline.entries[0]!.effects.map((e) => e.key)).toContain(failedKey);
  });
});

// The paging behind the pages, on every store serve runs on (PostgreSQL: history-store.postgres.test.ts).
describeHistoryBrowser('sqlite', async () => new SqliteHistoryStore({ path: ':memory:' }));
describeHistoryBrowser('memory', async () => new MemoryHistoryStore());
