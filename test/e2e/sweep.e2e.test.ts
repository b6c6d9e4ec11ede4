import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { OciDistributionRegistry } from '../../shared/adapters/registry/oci-distribution';
import { SqliteHistoryStore } from '../../shared/history';
import { pushImage } from '../support/images';
import { type RunningRegistry, startRegistry } from '../support/registry';
import { buildCli } from '../support/tagwarden';

// A registry that sends no notifications at all: only `baseline` and `sweep` can see what happens.
const dir = mkdtempSync(join(tmpdir(), 'tagwarden-sweep-'));
const db = join(dir, 'history.db');
const config = join(dir, 'tagwarden.yaml');
let registry: RunningRegistry;

beforeAll(async () => {
  buildCli();
  registry = await startRegistry();
  writeFileSync(
    config,
    `defaults: { action: revert }\nrules:\n  - match: { tag: latest }\n    action: allow\nregistries:\n  "${registry.host}": { url: "${registry.url}" }\n`,
  );
}, 60_000);
afterAll(async () => {
  await registry?.stop();
  rmSync(dir, { recursive: true, force: true });
});

function tagwarden(...args: string[]) {
  const result = spawnSync(
    process.execPath,
    [join(__dirname, '..', '..', 'bin', 'tagwarden.js'), ...args, '--db', db, '--config', config],
    {
      encoding: 'utf8',
      timeout: 60_000,
    },
  );
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

async function historyOf(tag: string) {
  const store = new SqliteHistoryStore({ path: db });
  try {
    return (await store.history({ registryHost: registry.host, repository: 'payments/api', tag })).map(
      (r) => r.transition,
    );
  } finally {
    await store.close();
  }
}

describe('tagwarden baseline and sweep against a real registry', () => {
  it('baselines every tag, then finds an overwrite no event reported and reverts it', async () => {
    const v1 = await pushImage(registry.url, 'payments/api', 'v1.0.0', 'sweep-a');
    await pushImage(registry.url, 'payments/api', 'latest', 'sweep-l');

    const baseline = tagwarden('baseline', `${registry.host}/payments/api`);
    expect(baseline.stderr).not.toContain('error:');
    expect(baseline.status).toBe(0);
    expect(baseline.stdout).toBe(
      `${registry.host}/payments/api: baseline of 2 tags: 2 recorded, 0 already in history\n`,
    );
    expect(await historyOf('v1.0.0')).toEqual(['first-seen']);
    // Running it again records nothing new.
    expect(tagwarden('baseline', `${registry.host}/payments/api`).stdout).toContain(
      'baseline of 2 tags: 0 recorded, 2 already in history',
    );

    const b = await pushImage(registry.url, 'payments/api', 'v1.0.0', 'sweep-b');
    // baseline only seeds tags history has never seen: a known tag that moved is left to sweep.
    expect(tagwarden('baseline', `${registry.host}/payments/api`).stdout).toContain(
      'baseline of 2 tags: 0 recorded, 2 already in history',
    );
    expect(await historyOf('v1.0.0')).toEqual(['first-seen']);
    const sweep = tagwarden('sweep', `${registry.host}/payments/api`);
    expect(sweep.status).toBe(0);
    expect(sweep.stdout).toContain('v1.0.0 overwrite');
    expect(await historyOf('v1.0.0')).toEqual(['first-seen', 'overwrite']);
    const client = new OciDistributionRegistry({ url: registry.url });
    expect(await client.currentDigest('payments/api', 'v1.0.0')).toBe(v1.digest);
    expect((await client.getManifest('payments/api', b.digest))?.digest).toBe(b.digest);
  });

  it('says which registry is missing from the config, in one line', () => {
    const result = tagwarden('sweep', 'registry.example.com/payments/api');
    expect(result.status).toBe(1);
    expect(result.stderr.trim()).toBe(
      'error: no registry is configured for registry.example.com; add registries."registry.example.com".url to the config',
    );
  });
});
