import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { type Browser, chromium, type Page } from 'playwright-core';
import { type GuardedRegistry, startGuardedRegistry } from '../support/guarded-registry';
import { pushImage } from '../support/images';
import type { RunningRegistry } from '../support/registry';
import type { SlackStub } from '../support/slack-stub';
import { eventually, type RunningTagwarden } from '../support/tagwarden';
import { distributionBody } from '../support/webhook-bodies';

// The web interface in a real browser (issue 17): Debian's chromium driven by playwright-core, after
// a real push sequence against docker-registry. Screenshots go to .test-state/screenshots/.

const SOURCE_TOKEN = 'ui-e2e-source-token-0123456789';
const UI_TOKEN = 'ui-e2e-api-token-0123456789';
const MARKUP = '<img src=x onerror="document.title=1">';
const SHOTS = join(__dirname, '..', '..', '.test-state', 'screenshots');
let guarded: GuardedRegistry;
let registry: RunningRegistry;
let tagwarden: RunningTagwarden;
let slack: SlackStub;
let browser: Browser;
let digests: { a: string; b: string };

beforeAll(async () => {
  mkdirSync(SHOTS, { recursive: true });
  guarded = await startGuardedRegistry({
    name: 'ui-e2e',
    token: SOURCE_TOKEN,
    rules: `- match: { repository: "payments/*", tag: "v*" }
  action: revert
  owners: ["#payments"]`,
    extra: `api: { token: "${UI_TOKEN}" }
effects: { maxAttempts: 1 }`,
  });
  ({ registry, tagwarden, slack } = guarded);
  // launch() gives the browser a fresh, temporary --user-data-dir of its own (and refuses one passed in).
  browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--no-first-run',
    ],
  });
  // First push, overwrite (reverted by Tagwarden), with Slack down for the alert: it fails for good.
  slack.failNext = [500];
  const a = await pushImage(registry.url, 'payments/api', 'v1.0.0', 'image-a');
  await eventually(async () => ((await timeline()).includes('first-seen') ? true : undefined), 'first-seen');
  const b = await pushImage(registry.url, 'payments/api', 'v1.0.0', 'image-b');
  digests = { a: a.digest, b: b.digest };
  await eventually(
    async () => ((await timeline()).includes('restored') ? true : undefined),
    'the restore echo',
  );
  await eventually(async () => ((await failedKeys()).length > 0 ? true : undefined), 'the alert to fail');
}, 90_000);

afterAll(async () => {
  await browser?.close();
  await guarded?.stop();
});

const bearer = { Authorization: `Bearer ${UI_TOKEN}` };
const refPath = () => encodeURIComponent(`${registry.host}/payments/api:v1.0.0`);

async function timeline(): Promise<string[]> {
  const res = await fetch(`${tagwarden.url}/api/tags/${refPath()}/timeline`, { headers: bearer });
  if (res.status === 404) return [];
  return ((await res.json()) as { entries: { transition: string }[] }).entries.map((e) => e.transition);
}

async function failedKeys(): Promise<string[]> {
  const res = await fetch(`${tagwarden.url}/api/effects?state=failed`, { headers: bearer });
  return ((await res.json()) as { effects: { key: string }[] }).effects.map((e) => e.key);
}

async function signedIn(width: number, height: number): Promise<Page> {
  const page = await browser.newPage({ viewport: { width, height } });
  await page.goto(`${tagwarden.url}/ui`);
  expect(new URL(page.url()).pathname).toBe('/ui/login');
  await page.fill('input[name=token]', UI_TOKEN);
  await Promise.all([page.waitForURL(/\/ui$/), page.click('button[type=submit]')]);
  return page;
}

const shot = (page: Page, name: string) =>
  page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true });

describe('the web interface in chromium', () => {
  it('refuses a browser and a script without the token', async () => {
    const page = await browser.newPage();
    await page.goto(`${tagwarden.url}/ui/tag/${refPath()}`);
    expect(new URL(page.url()).pathname).toBe('/ui/login');
    await page.fill('input[name=token]', 'wrong-token');
    await page.click('button[type=submit]');
    await expect(page.locator('[role=alert]').textContent()).resolves.toContain('not the api.token');
    await shot(page, 'login');
    await page.close();
    expect((await fetch(`${tagwarden.url}/api/tags`)).status).toBe(401);
  });

  it('lists the tag with what it serves and what is approved', async () => {
    const page = await signedIn(1280, 800);
    const row = page.locator('#tags tbody tr', { hasText: 'payments/api:v1.0.0' });
    await expect(row.count()).resolves.toBe(1);
    const full = await row
      .locator('details.digest input')
      .evaluateAll((inputs) => inputs.map((i) => (i as unknown as { value: string }).value));
    expect(full).toEqual([digests.a, digests.a]);
    await shot(page, 'overview');
    await page.close();
  });

  it('shows the timeline first-seen → overwrite → restored with the right digests', async () => {
    const page = await signedIn(1280, 800);
    await page.click(`#tags a:has-text("payments/api:v1.0.0")`);
    await page.waitForURL(/\/ui\/tag\//);
    const events = await page.locator('li.event').evaluateAll((items) =>
      items.map((li) => ({
        transition: li.getAttribute('data-transition'),
        digests: [...li.querySelectorAll('.digests input')].map(
          (i) => (i as unknown as { value: string }).value,
        ),
      })),
    );
    expect(events.reverse()).toEqual([
      { transition: 'first-seen', digests: [digests.a] },
      { transition: 'overwrite', digests: [digests.a, digests.b] },
      { transition: 'restored', digests: [digests.b, digests.a] },
    ]);
    await shot(page, 'timeline');
    await page.close();
  });

  it('retries the failed alert from the page, and it is delivered', async () => {
    const [key] = await failedKeys();
    const page = await signedIn(1280, 800);
    await page.goto(`${tagwarden.url}/ui/tag/${refPath()}`);
    const effect = page.locator(`li.effect[data-key="${key}"]`);
    await expect(effect.locator('.t').textContent()).resolves.toBe('failed');
    await Promise.all([
      page.waitForURL(/\/ui\/tag\//),
      effect.locator('button', { hasText: 'Retry' }).click(),
    ]);
    await eventually(async () => {
      await page.reload();
      return (await effect.locator('.t').textContent()) === 'done' ? true : undefined;
    }, 'the retried alert to be delivered');
    expect(slack.messages.some((m) => m.text.includes('payments/api:v1.0.0'))).toBe(true);
    expect(await failedKeys()).not.toContain(key);
    await page.close();
  });

  it('shows markup from a webhook and from a link as text, injecting no element', async () => {
    const body = distributionBody({ host: registry.host, repository: 'web/site', tag: 'v1', actor: MARKUP });
    const res = await fetch(`${tagwarden.url}/webhooks/distribution`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${SOURCE_TOKEN}`, 'Content-Type': 'application/json' },
      body,
    });
    expect(res.status).toBe(202);
    const page = await signedIn(1280, 800);
    await page.goto(`${tagwarden.url}/ui/tag/${encodeURIComponent(`${registry.host}/web/site:v1`)}`);
    await expect(page.locator('li.event .actor').textContent()).resolves.toBe(MARKUP);
    await page.goto(`${tagwarden.url}/ui?repository=${encodeURIComponent(MARKUP)}`);
    await expect(page.inputValue('input[name=repository]')).resolves.toBe(MARKUP);
    expect(await page.locator('img').count()).toBe(0);
    expect(await page.title()).not.toBe('1');
    await page.close();
  });

  it('reads on a phone (390 px) without a horizontal scroll of the page', async () => {
    const page = await signedIn(390, 844);
    await shot(page, 'overview-phone');
    await page.goto(`${tagwarden.url}/ui/tag/${refPath()}`);
    const overflow = await page.evaluate(() => {
      const root = (globalThis as unknown as { document: { documentElement: { scrollWidth: number } } })
        .document;
      return root.documentElement.scrollWidth;
    });
    expect(overflow).toBeLessThanOrEqual(390);
    await shot(page, 'timeline-phone');
    await page.close();
  });
});
