import { OciDistributionRegistry } from '../../shared/adapters/registry/oci-distribution';
import { runCli } from '../support/cli-process';
import { type GuardedRegistry, startGuardedRegistry } from '../support/guarded-registry';
import { pushIndexOf, pushPlatformImage } from '../support/images';
import type { RunningRegistry } from '../support/registry';
import type { SlackStub } from '../support/slack-stub';
import { eventually } from '../support/tagwarden';

// A multi-arch publish through a real distribution registry: indexes pushed over the registry API,
// a `revert` rule, the default `harmless: allow`.
const REPO = 'payments/multiarch';
const TAG = 'v3.1.0';
let guarded: GuardedRegistry;
let registry: RunningRegistry;
let slack: SlackStub;
let dbPath: string;
let client: OciDistributionRegistry;

beforeAll(async () => {
  guarded = await startGuardedRegistry({
    rules: `- match: { repository: "payments/*" }
  action: revert
  owners: ["#payments"]`,
  });
  ({ registry, slack, dbPath } = guarded);
  client = new OciDistributionRegistry({ url: registry.url });
}, 60_000);

afterAll(async () => {
  await guarded?.stop();
});

async function transitions(): Promise<string[]> {
  return (await guarded.history(REPO, TAG)).map((h) => h.transition);
}

async function until(count: number, what: string): Promise<void> {
  await eventually(async () => ((await transitions()).length >= count ? true : undefined), what);
}

const outboxSettled = () => guarded.outboxSettled();

/** The tag's effects as `tagwarden history --json` prints them. */
function historyEffects(): Array<{ kind: string; status: string; outcome: string | null }> {
  const result = runCli(['history', `${registry.host}/${REPO}:${TAG}`, '--db', dbPath, '--json']);
  expect(result.status).toBe(0);
  return (
    JSON.parse(result.stdout) as {
      effects: Array<{ kind: string; status: string; outcome: string | null }>;
    }
  ).effects;
}

describe('harmless moves with a real distribution registry', () => {
  it('records a platform added to the index without reverting or alerting, approving it; reverts a changed amd64 image to the grown index, naming it', async () => {
    const amd = await pushPlatformImage(registry.url, REPO, 'amd64 build 1', 'amd64');
    const one = await pushIndexOf(registry.url, REPO, TAG, [amd]);
    await until(1, 'first-seen of the amd64 index');

    const arm = await pushPlatformImage(registry.url, REPO, 'arm64 build 1', 'arm64');
    const grown = await pushIndexOf(registry.url, REPO, TAG, [amd, arm]);
    await until(2, 'the move to the amd64+arm64 index');
    await outboxSettled();

    expect(await transitions()).toEqual(['first-seen', 'overwrite']);
    expect(await client.currentDigest(REPO, TAG)).toBe(grown.digest);
    const effects = historyEffects();
    expect(effects.find((e) => e.kind === 'revert')?.outcome).toMatch(
      /^harmless move, not acted on \(rule harmless: allow\); index-grew, approved as the tag's digest: the index only gained linux\/arm64/,
    );
    expect(effects.find((e) => e.kind === 'alert')?.outcome).toContain('index-grew');
    expect(slack.messages.filter((m) => m.text.includes(TAG))).toEqual([]);

    const amdRebuilt = await pushPlatformImage(registry.url, REPO, 'amd64 build 2', 'amd64');
    const changed = await pushIndexOf(registry.url, REPO, TAG, [amdRebuilt, arm]);
    expect(changed.digest).not.toBe(grown.digest);
    // Reverted to the grown index: the harmless move was approved, so the amd64-only index is not
    // what comes back (arm64 users keep their platform).
    await eventually(
      async () => ((await client.currentDigest(REPO, TAG)) === grown.digest ? true : undefined),
      'the revert of the changed amd64 image',
    );
    expect(grown.digest).not.toBe(one.digest);
    await eventually(
      async () => (slack.messages.some((m) => m.text.includes(TAG)) ? true : undefined),
      'the Slack alert',
    );
    await outboxSettled();
    const alerts = slack.messages.filter((m) => m.text.includes(TAG));
    expect(alerts).toHaveLength(1);
    const text = JSON.stringify(alerts[0]);
    expect(text).toContain('reverted to');
    expect(text).toContain('real overwrite: the image changed for linux/amd64');
    expect(historyEffects().some((e) => e.kind === 'revert' && /linux\/amd64/.test(e.outcome ?? ''))).toBe(
      true,
    );
  });
});
