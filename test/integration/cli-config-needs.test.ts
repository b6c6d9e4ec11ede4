// Cron-friendly commands (issue 13, item 3): sweep, baseline and retry resolve only the ${VAR}s they use.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { localRoot } from '../../functions/local/composition';
import { SqliteHistoryStore } from '../../shared/history';
import { silentLogger } from '../../shared/log';
import { runCli, useCliSnapshot } from '../support/cli-process';
import { pushImage } from '../support/images';
import { type RunningRegistry, startRegistry } from '../support/registry';
import { buildCli } from '../support/tagwarden';

const dir = mkdtempSync(join(tmpdir(), 'tagwarden-needs-'));
let registry: RunningRegistry;
let restore: () => void;

/** A config whose every section but the swept registry names a variable nobody set. */
function writeConfig(name: string, sweptRegistry: string): string {
  const path = join(dir, name);
  writeFileSync(
    path,
    [
      'defaults: { action: alert }',
      'notify:',
      `  slack: { webhookUrl: "\${TW_TEST_UNSET_SLACK_URL}" }`,
      'sources:',
      `  distribution: { token: "\${TW_TEST_UNSET_SOURCE_TOKEN}" }`,
      `api: { token: "\${TW_TEST_UNSET_API_TOKEN}" }`,
      'clusters:',
      `  - { name: prod, url: "https://cluster.example.com/bump", secret: "\${TW_TEST_UNSET_CLUSTER_SECRET}" }`,
      'registries:',
      `  "${registry.host}": ${sweptRegistry}`,
      `  "other.example.com": { url: "https://other.example.com", password: "\${TW_TEST_UNSET_OTHER}", username: u }`,
      '',
    ].join('\n'),
  );
  return path;
}

beforeAll(async () => {
  buildCli();
  restore = useCliSnapshot();
  registry = await startRegistry();
  await pushImage(registry.url, 'payments/api', 'v1.0.0', 'needs-a');
}, 60_000);
afterAll(async () => {
  restore?.();
  await registry?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('sweep and baseline read only the settings they use', () => {
  it.each(['sweep', 'baseline'])(
    '%s runs without the Slack URL, source and API tokens, cluster secrets or other registries',
    (command) => {
      const config = writeConfig(`${command}.yaml`, `{ url: "${registry.url}" }`);
      const db = join(dir, `${command}.db`);
      const result = runCli([command, `${registry.host}/payments/api`, '--config', config, '--db', db]);
      expect(result.stderr).not.toContain('error:');
      // sweep reports what it checked; baseline what it recorded (one summary line per repository).
      const summary = command === 'sweep' ? '1 tags checked' : 'baseline of 1 tags: 1 recorded';
      expect(result.stdout).toContain(`${registry.host}/payments/api: ${summary}`);
      expect(result.status).toBe(0);
    },
  );

  it('still refuses a swept registry whose credential is missing, naming the variable', () => {
    const config = writeConfig(
      'missing.yaml',
      `{ url: "${registry.url}", username: u, password: "\${TW_TEST_UNSET_REGISTRY_PASSWORD}" }`,
    );
    const result = runCli([
      'sweep',
      `${registry.host}/payments/api`,
      '--config',
      config,
      '--db',
      join(dir, 'm.db'),
    ]);
    expect(result.status).toBe(1);
    expect(result.stderr).toContain('environment variable TW_TEST_UNSET_REGISTRY_PASSWORD is not set');
    expect(result.stderr).not.toContain('TW_TEST_UNSET_SLACK_URL');
    expect(result.stderr.trim().split('\n')).toHaveLength(1);
  });

  it('says that no config file was found, and where it looked, instead of a missing registry', () => {
    const empty = mkdtempSync(join(dir, 'empty-'));
    const result = runCli(['sweep', `${registry.host}/payments/api`, '--db', join(empty, 'h.db')], {
      cwd: empty,
    });
    expect(result.status).toBe(1);
    expect(result.stderr.trim()).toBe(
      `error: no config file was found (looked for ${join(empty, 'tagwarden.yaml')}; pass --config <file>), so no registry is configured for ${registry.host}`,
    );
  });
});

describe('settings a command reads later (retry, and the effects of a sweep)', () => {
  it('builds the root without them, and an alert names the missing variable when it is sent', async () => {
    const config = writeConfig('retry.yaml', `{ url: "${registry.url}" }`);
    const root = localRoot(config, silentLogger, { sections: ['effects'] });
    expect(root.registries(registry.host)).not.toBeNull();
    await expect(root.notifier.send({} as never)).rejects.toThrow(
      'environment variable TW_TEST_UNSET_SLACK_URL is not set',
    );
    expect(() => root.registries('other.example.com')).toThrow('TW_TEST_UNSET_OTHER');
  });

  it('reads everything at start without declared needs (serve), naming the first missing variable', () => {
    const config = writeConfig('serve.yaml', `{ url: "${registry.url}" }`);
    expect(() => localRoot(config, silentLogger)).toThrow('TW_TEST_UNSET_SLACK_URL');
  });

  /** A history file with one alert that failed for good. */
  async function failedAlert(db: string): Promise<string> {
    const store = new SqliteHistoryStore({ path: db });
    const now = new Date().toISOString();
    const incident = {
      eventId: 'distribution:needs-1',
      ref: { registryHost: registry.host, repository: 'payments/api', tag: 'v1.0.0' },
      from: `sha256:${'a'.repeat(64)}`,
      to: `sha256:${'b'.repeat(64)}`,
      restoreTo: null,
      actor: null,
      eventTime: now,
      ruleAction: 'alert' as const,
      ruleSource: 'defaults',
      owners: [],
    };
    await store.enqueueEffects(incident.eventId, [{ kind: 'alert', incident, after: null }], now);
    const [effect] = await store.effectsOf(incident.eventId);
    await store.updateEffect(effect!.key, { status: 'failed', error: 'Slack was down' }, now);
    await store.close();
    return effect!.key;
  }

  it('retry delivers an alert without the cluster secret, source and API tokens set', async () => {
    const config = writeConfig('retry-console.yaml', `{ url: "${registry.url}" }`);
    // No notify section: alerts go to the console.
    writeFileSync(config, readFileSync(config, 'utf8').replace(/^notify:\n.*\n/m, ''));
    const db = join(dir, 'retry-console.db');
    const key = await failedAlert(db);
    const result = runCli(['retry', '--all', '--config', config, '--db', db]);
    expect(result.stderr).toMatch(/^ALERT tag overwritten: \S+\/payments\/api:v1\.0\.0 /);
    expect(result.stderr).not.toContain('error:');
    expect(result.stdout.trim()).toBe(`delivered  ${key}: sent via console`);
    expect(result.status).toBe(0);
  });

  it('retry of an alert whose Slack URL is unset reports the variable for that effect', async () => {
    const config = writeConfig('retry-slack.yaml', `{ url: "${registry.url}" }`);
    const db = join(dir, 'retry-slack.db');
    const key = await failedAlert(db);
    const result = runCli(['retry', '--key', key, '--config', config, '--db', db]);
    expect(result.stdout).toContain(`${key}: `);
    expect(result.stdout).toContain('environment variable TW_TEST_UNSET_SLACK_URL is not set');
    expect(result.stderr.trim()).toBe('error: 1 of 1 effect(s) not delivered (see above)');
    expect(result.status).toBe(1);
  });

  it('retry runs (nothing to retry) with none of the secrets set', () => {
    const config = writeConfig('retry-cli.yaml', `{ url: "${registry.url}" }`);
    const db = join(dir, 'retry.db');
    expect(runCli(['baseline', `${registry.host}/payments/api`, '--config', config, '--db', db]).status).toBe(
      0,
    );
    const result = runCli(['retry', '--all', '--config', config, '--db', db]);
    expect(result.stdout.trim()).toBe('No failed effects to retry.');
    expect(result.status).toBe(0);
  });
});
