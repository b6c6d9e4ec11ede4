import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createLocalServer } from '../../functions/local/server';
import type { Policy } from '../../shared/core';
import { buildAlert } from '../../shared/guard/outbox/alert';
import { type HistoryEntry, MemoryHistoryStore } from '../../shared/history';
import { silentLogger } from '../../shared/log';
import { pushImage } from '../support/images';
import { type RunningRegistry, startRegistry } from '../support/registry';
import { eventually } from '../support/tagwarden';

const TOKEN = 'tw-test-token-0123456789';
const policy: Policy = {
  defaults: { action: 'allow', owners: [], bump: false },
  rules: [{ match: { repository: 'guarded/*' }, action: 'revert', owners: ['#payments'], bump: false }],
};

let registry: RunningRegistry;
let server: Server;
let store: MemoryHistoryStore;
let host: string;

beforeAll(async () => {
  store = new MemoryHistoryStore();
  server = createLocalServer({
    store,
    policy,
    log: silentLogger,
    auth: (s) => (s === 'distribution' ? { token: TOKEN, header: 'Authorization' } : null),
    onRecorded: () => {},
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  registry = await startRegistry({
    notifications: {
      url: `http://127.0.0.1:${port}/webhooks/distribution`,
      headers: { Authorization: [`Bearer ${TOKEN}`] },
    },
  });
  host = new URL(registry.url).host;
}, 30_000);

afterAll(async () => {
  await registry?.stop();
  server?.closeAllConnections();
  await new Promise((resolve) => server?.close(resolve));
});

async function rowsOf(
  repository: string,
  tag: string,
  transition: string,
): Promise<HistoryEntry[] | undefined> {
  const rows = await store.history({ registryHost: host, repository, tag });
  return rows.some((r) => r.transition === transition) ? rows : undefined;
}

async function deleteManifest(repository: string, digest: string): Promise<void> {
  const res = await fetch(`${registry.url}/v2/${repository}/manifests/${digest}`, { method: 'DELETE' });
  expect(res.status).toBe(202);
}

describe('a manifest deleted by digest through a real distribution registry', () => {
  it('is recorded against the guarded tag serving it and alerted: the image a revert would restore is gone', async () => {
    const pushed = await pushImage(registry.url, 'guarded/api', 'v1', 'digest-delete');
    await eventually(() => rowsOf('guarded/api', 'v1', 'first-seen'), 'the push in history');
    await deleteManifest('guarded/api', pushed.digest);
    const rows = await eventually(
      () => rowsOf('guarded/api', 'v1', 'digest-deleted'),
      'the delete in history',
    );
    const row = rows.find((r) => r.transition === 'digest-deleted')!;
    expect(row).toMatchObject({ action: 'delete', digest: pushed.digest, tag: 'v1' });
    expect(
      (await store.tagState({ registryHost: host, repository: 'guarded/api', tag: 'v1' }))?.digest,
    ).toBeNull();
    const effects = await store.effectsOf(row.eventId);
    expect(effects.map((e) => e.kind)).toEqual(['alert']);
    const alert = buildAlert(effects[0]!.effect.incident, null, null);
    expect(alert.title).toBe('Image deleted from the registry');
    expect(alert.severity).toBe('critical');
    expect(alert.notes.join(' ')).toContain('The image a revert would restore is gone');
  }, 30_000);

  it('is recorded without an alert against a tag no rule guards', async () => {
    const pushed = await pushImage(registry.url, 'open/api', 'v1', 'digest-delete-open');
    await eventually(() => rowsOf('open/api', 'v1', 'first-seen'), 'the push in history');
    await deleteManifest('open/api', pushed.digest);
    const rows = await eventually(() => rowsOf('open/api', 'v1', 'digest-deleted'), 'the delete in history');
    const row = rows.find((r) => r.transition === 'digest-deleted')!;
    expect(await store.effectsOf(row.eventId)).toEqual([]);
  }, 30_000);
});
