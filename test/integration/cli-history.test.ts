import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { encodeOutcome } from '../../shared/guard/outbox/outcome';
import { SqliteHistoryStore } from '../../shared/history';
import { ROOT, runCli, useCliSnapshot } from '../support/cli-process';
import { pushEvent } from '../support/events';
import { buildCli } from '../support/tagwarden';

const REF = '127.0.0.1:5000/payments/api:v1.0.0';
const ref = { registryHost: '127.0.0.1:5000', repository: 'payments/api', tag: 'v1.0.0' };
const hex = (start: string) => `sha256:${start.padEnd(64, '0')}`;
/** The sample in docs/cli.md: an overwrite by bob, put back by Tagwarden. */
const FIRST = hex('5d2f3a9c01be7d44');
const SECOND = hex('91be07f2c3a85e10');
const REVERT = { defaults: { action: 'revert' as const, owners: [], bump: false }, rules: [] };

let dir: string;
let dropSnapshot: () => void;

beforeAll(() => {
  buildCli();
  dropSnapshot = useCliSnapshot();
  dir = mkdtempSync(join(tmpdir(), 'tagwarden-cli-history-'));
}, 60_000);
afterAll(() => {
  dropSnapshot?.();
  rmSync(dir, { recursive: true, force: true });
});

async function readmeHistory(
  path: string,
  actor = (name: string) => name,
  id = (n: string) => n,
): Promise<void> {
  const store = new SqliteHistoryStore({ path });
  const push = (eventId: string, digest: string, time: string, who: string | null) =>
    store.apply(
      pushEvent({ ...ref, id: id(eventId), digest, timestamp: time, actor: who && actor(who) }),
      REVERT,
      time,
    );
  await push('8a1c5e2e-4f0b-4d8e-9b1a-2f3c4d5e6f70', FIRST, '2026-11-22T10:00:00.000Z', 'alice');
  await push('f3d9a7c4-1e2b-4c3d-8e9f-0a1b2c3d4e5f', SECOND, '2026-11-22T10:05:00.000Z', 'bob');
  await store.markPendingRestore(ref, { digest: FIRST, from: SECOND, until: '2026-11-22T10:15:00.000Z' });
  await push('0c7e9b1d-2a3f-4b5c-9d8e-7f6a5b4c3d2e', FIRST, '2026-11-22T10:05:00.031Z', null);
  const overwrite = id('f3d9a7c4-1e2b-4c3d-8e9f-0a1b2c3d4e5f');
  const reverted = {
    kind: 'reverted' as const,
    restored: FIRST,
    offending: SECOND,
    keptAs: 'tagwarden-keep-91be07f2c3a8',
  };
  await store.updateEffect(
    `${overwrite}#revert`,
    { status: 'done', outcome: encodeOutcome(reverted) },
    '2026-11-22T10:05:00.040Z',
  );
  await store.updateEffect(
    `${overwrite}#alert`,
    { status: 'done', outcome: encodeOutcome({ kind: 'alerted', via: 'slack' }) },
    '2026-11-22T10:05:00.090Z',
  );
  await store.close();
}

/** The output block that follows docs/cli.md's `history` command. */
function readmeSample(): string {
  const readme = readFileSync(join(ROOT, 'docs', 'cli.md'), 'utf8');
  const match =
    /node bin\/tagwarden\.js history 127\.0\.0\.1:5000\/payments\/api:v1\.0\.0\n```\n```\n([\s\S]*?)```/.exec(
      readme,
    );
  if (!match) throw new Error('docs/cli.md has no `tagwarden history` sample');
  return match[1]!;
}

describe('tagwarden history', () => {
  it('prints exactly the sample in docs/cli.md', async () => {
    const db = join(dir, 'readme.db');
    await readmeHistory(db);
    const result = runCli(['history', REF, '--db', db]);
    expect(result.stderr).toBe('');
    expect(result.stdout).toBe(readmeSample());
  });

  it('fits 120 columns with long actors and event ids; --wide prints everything in full', async () => {
    const db = join(dir, 'long.db');
    const longActor = (name: string) => `${name}@ci-runner-7f3a9c-build-pipeline-payments.example.com`;
    const longId = (id: string) => `distribution:${id}`;
    await readmeHistory(db, longActor, longId);
    const result = runCli(['history', REF, '--db', db]);
    expect(result.status).toBe(0);
    const lines = result.stdout.trimEnd().split('\n');
    for (const line of lines) expect(line.length).toBeLessThanOrEqual(120);
    expect(lines[2]).toMatch(
      /^2026-11-22T10:00:00\.000Z {2}first-seen {2}push {4}sha256:5d2f3a9c01be {2}- {2}.*alice@.*… {2}distribution:.*…$/,
    );
    expect(result.stdout).not.toContain(FIRST);

    const wide = runCli(['history', REF, '--db', db, '--wide']);
    expect(wide.status).toBe(0);
    expect(wide.stdout).toContain(`${REF}  serves ${FIRST}`);
    expect(wide.stdout).toMatch(
      new RegExp(
        `${SECOND}\\s+${FIRST}\\s+${longActor('bob')}\\s+${longId('f3d9a7c4-1e2b-4c3d-8e9f-0a1b2c3d4e5f')}\n`,
      ),
    );
    expect(wide.stdout).not.toContain('…');
  });
});
