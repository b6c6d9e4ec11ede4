import { OciDistributionRegistry } from '../../shared/adapters/registry/oci-distribution';
import { SqliteHistoryStore } from '../../shared/history';
import { type GuardedRegistry, startGuardedRegistry } from '../support/guarded-registry';
import { pushImage } from '../support/images';
import type { RunningRegistry } from '../support/registry';
import type { SlackStub } from '../support/slack-stub';
import { eventually, type RunningTagwarden } from '../support/tagwarden';
import { distributionBody } from '../support/webhook-bodies';

const TOKEN = 'e2e-token-0123456789abcdef';
let guarded: GuardedRegistry;
let registry: RunningRegistry;
let tagwarden: RunningTagwarden;
let slack: SlackStub;
let dbPath: string;
let client: OciDistributionRegistry;

beforeAll(async () => {
  guarded = await startGuardedRegistry({
    token: TOKEN,
    rules: `- match: { repository: "payments/*", tag: "v*" }
  action: revert
  owners: ["#payments", "@alice"]
- match: { repository: "billing/*" }
  action: alert
  owners: ["#billing"]
- match: { repository: "web/*" }
  action: allow`,
  });
  ({ registry, tagwarden, slack, dbPath } = guarded);
  client = new OciDistributionRegistry({ url: registry.url });
}, 60_000);

afterAll(async () => {
  await guarded?.stop();
});

const historyOf = (repository: string, tag: string) => guarded.history(repository, tag);

async function transitionsOf(repository: string, tag: string): Promise<string[]> {
  return (await historyOf(repository, tag)).map((h) => h.transition);
}

/** Waits until the outbox holds nothing pending: every effect of every recorded event has settled. */
const outboxSettled = () => guarded.outboxSettled();

function alertsAbout(tag: string) {
  return slack.messages.filter((m) => m.text.includes(tag));
}

describe('tagwarden serve with a real distribution registry', () => {
  it('reverts payments/api:v1.0.0 when it is pushed again with a new digest, and alerts once', async () => {
    const a = await pushImage(registry.url, 'payments/api', 'v1.0.0', 'image-a');
    await eventually(
      async () => ((await transitionsOf('payments/api', 'v1.0.0')).includes('first-seen') ? true : undefined),
      'first-seen of A',
    );
    const b = await pushImage(registry.url, 'payments/api', 'v1.0.0', 'image-b');
    expect(b.digest).not.toBe(a.digest);

    await eventually(
      async () => ((await client.currentDigest('payments/api', 'v1.0.0')) === a.digest ? true : undefined),
      'the registry to serve A again',
    );
    // B stays reachable by digest (and referenced by a keep tag, so garbage collection spares it).
    expect((await client.getManifest('payments/api', b.digest))?.digest).toBe(b.digest);
    // The revert's own echo is recognized as restored, not as a new overwrite.
    await eventually(
      async () => ((await transitionsOf('payments/api', 'v1.0.0')).includes('restored') ? true : undefined),
      'the restore echo',
    );
    await outboxSettled();
    expect(await transitionsOf('payments/api', 'v1.0.0')).toEqual(['first-seen', 'overwrite', 'restored']);

    await eventually(
      async () => (alertsAbout('payments/api:v1.0.0').length > 0 ? true : undefined),
      'the Slack alert',
    );
    const alerts = alertsAbout('payments/api:v1.0.0');
    expect(alerts).toHaveLength(1);
    const text = JSON.stringify(alerts[0]);
    expect(text).toContain(a.digest);
    expect(text).toContain(b.digest);
    expect(text).toContain('reverted to');
    expect(text).toContain('#payments');
  });

  it('leaves an overwrite under an alert rule in place and alerts once', async () => {
    await pushImage(registry.url, 'billing/api', 'v2', 'billing-a');
    await eventually(
      async () => ((await transitionsOf('billing/api', 'v2')).length === 1 ? true : undefined),
      'first push recorded',
    );
    const b = await pushImage(registry.url, 'billing/api', 'v2', 'billing-b');
    await eventually(
      async () => (alertsAbout('billing/api:v2').length > 0 ? true : undefined),
      'the Slack alert',
    );
    await outboxSettled();
    expect(await client.currentDigest('billing/api', 'v2')).toBe(b.digest);
    expect(await transitionsOf('billing/api', 'v2')).toEqual(['first-seen', 'overwrite']);
    expect(alertsAbout('billing/api:v2')).toHaveLength(1);
    expect(JSON.stringify(alertsAbout('billing/api:v2')[0])).toContain('alerted only');
  });

  it('records an overwrite under an allow rule and alerts nothing', async () => {
    await pushImage(registry.url, 'web/site', 'latest', 'web-a');
    await eventually(
      async () => ((await transitionsOf('web/site', 'latest')).length === 1 ? true : undefined),
      'first push recorded',
    );
    const b = await pushImage(registry.url, 'web/site', 'latest', 'web-b');
    await eventually(
      async () => ((await transitionsOf('web/site', 'latest')).includes('overwrite') ? true : undefined),
      'the overwrite',
    );
    await outboxSettled();
    expect(await client.currentDigest('web/site', 'latest')).toBe(b.digest);
    expect(alertsAbout('web/site')).toHaveLength(0);
  });

  it('refuses a webhook without the token and one with a wrong token, and records nothing from them', async () => {
    // A real push: had either request been let in, it would be in history.
    const body = distributionBody({ host: registry.host, repository: 'payments/refused', tag: 'v9.9.9' });
    const none = await fetch(`${tagwarden.url}/webhooks/distribution`, { method: 'POST', body });
    const wrong = await fetch(`${tagwarden.url}/webhooks/distribution`, {
      method: 'POST',
      body,
      headers: { Authorization: 'Bearer wrong-token-0123456789' },
    });
    expect([none.status, wrong.status]).toEqual([401, 401]);
    expect(await wrong.text()).not.toContain(TOKEN);
    expect(await historyOf('payments/refused', 'v9.9.9')).toEqual([]);
    const store = new SqliteHistoryStore({ path: dbPath });
    try {
      expect(
        await store.tagState({ registryHost: registry.host, repository: 'payments/refused', tag: 'v9.9.9' }),
      ).toBeNull();
      expect((await store.failures(100)).map((f) => f.payload)).not.toContainEqual(
        expect.stringContaining('payments/refused'),
      );
    } finally {
      await store.close();
    }
  });
});
