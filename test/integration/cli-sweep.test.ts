import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli, useCliSnapshot } from '../support/cli-process';
import { pushImage } from '../support/images';
import { type RunningRegistry, startRegistry } from '../support/registry';
import { buildCli } from '../support/tagwarden';

const dir = mkdtempSync(join(tmpdir(), 'tagwarden-cli-sweep-'));
const db = join(dir, 'history.db');
const config = join(dir, 'tagwarden.yaml');
let registry: RunningRegistry;
let dropSnapshot: () => void;

beforeAll(async () => {
  buildCli();
  dropSnapshot = useCliSnapshot();
  registry = await startRegistry();
  writeFileSync(config, `registries:\n  "${registry.host}": { url: "${registry.url}" }\n`);
}, 60_000);
afterAll(async () => {
  dropSnapshot?.();
  await registry?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('sweep and baseline of a repository', () => {
  it.each(['sweep', 'baseline'])(
    '%s of a repository the registry does not know: exit 2, one line naming it',
    (command) => {
      const result = runCli([command, `${registry.host}/nope/nope`, '--db', db, '--config', config]);
      expect(result.status).toBe(2);
      expect(result.stdout).toBe('');
      expect(result.stderr).toBe(
        `error: ${registry.host} does not know the repository nope/nope (GET tags/list answered 404 NAME_UNKNOWN)\n`,
      );
    },
  );

  it('baseline prints one summary line, no line per tag and no "difference" warnings', async () => {
    for (const tag of ['v1', 'v2', 'v3']) await pushImage(registry.url, 'team/app', tag, `cli-sweep-${tag}`);
    const result = runCli(['baseline', `${registry.host}/team/app`, '--db', db, '--config', config]);
    expect(result.status).toBe(0);
    expect(result.stdout).toBe(
      `${registry.host}/team/app: baseline of 3 tags: 3 recorded, 0 already in history\n`,
    );
    expect(result.stderr).not.toContain('difference');
  });
});
