import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Policy } from '../../shared/core';
import { SqliteHistoryStore } from '../../shared/history';
import { spawnServe, useCliSnapshot } from '../support/cli-process';
import { at, digestOf, pushEvent } from '../support/events';
import { buildCli, eventually } from '../support/tagwarden';

const REVERT: Policy = { defaults: { action: 'revert', owners: [], bump: false }, rules: [] };

let dir: string;
let dropSnapshot: () => void;
beforeAll(() => {
  buildCli();
  dropSnapshot = useCliSnapshot();
  dir = mkdtempSync(join(tmpdir(), 'tagwarden-serve-stop-'));
}, 60_000);
afterAll(() => {
  dropSnapshot?.();
  rmSync(dir, { recursive: true, force: true });
});

/** A registry that holds every request until told to answer (404). */
async function holdingRegistry() {
  const held: ServerResponse[] = [];
  const server = createServer((_req: IncomingMessage, res: ServerResponse) => held.push(res));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    host: `127.0.0.1:${(server.address() as AddressInfo).port}`,
    held,
    answerAll: () => {
      for (const res of held.splice(0)) res.writeHead(404).end();
    },
    stop: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

describe('tagwarden serve on SIGTERM', () => {
  it('stops accepting, finishes the effect in flight, releases the claimed rest, logs it and exits 0', async () => {
    const registry = await holdingRegistry();
    const db = join(dir, 'history.db');
    const store = new SqliteHistoryStore({ path: db });
    for (const tag of ['v1', 'v2']) {
      const event = (id: string, seed: string, t: number) =>
        pushEvent({
          id: `${tag}-${id}`,
          registryHost: registry.host,
          tag,
          digest: digestOf(seed),
          timestamp: at(t),
        });
      await store.apply(event('a', `${tag}-a`, 0), REVERT, at(1));
      await store.apply(event('b', `${tag}-b`, 10), REVERT, at(11));
    }
    await store.close();
    const config = join(dir, 'tagwarden.yaml');
    writeFileSync(
      config,
      `defaults: { action: revert }\nregistries:\n  "${registry.host}": { url: "http://${registry.host}" }\n`,
    );
    const serve = spawnServe(['--port', '0', '--db', db, '--config', config], dir);
    try {
      await eventually(
        async () => (registry.held.length > 0 ? true : undefined),
        `a revert in flight: ${serve.output()}`,
      );
      serve.child.kill('SIGTERM');
      await eventually(
        async () => (serve.output().includes('"stopping') ? true : undefined),
        'the stopping line',
      );
      registry.answerAll();
      expect(await serve.exited).toEqual({ code: 0, signal: null });
    } finally {
      registry.answerAll();
      await serve.stop();
      await registry.stop();
    }
    const stopped = serve
      .output()
      .split('\n')
      .filter((l) => l.includes('"message":"stopped"'))
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(stopped).toMatchObject([{ signal: 'SIGTERM', finishedEffects: 1, releasedEffects: 3 }]);
    // Released: another process can claim them now, not after the 30 s lease.
    const after = new SqliteHistoryStore({ path: db });
    const soon = new Date(Date.now() + 5000).toISOString();
    const claimable = (
      await after.claimDueEffects(soon, new Date(Date.now() + 60_000).toISOString(), 50)
    ).map((e) => e.key);
    await after.close();
    expect(claimable).toEqual(expect.arrayContaining(['v1-b#alert', 'v2-b#revert', 'v2-b#alert']));
  }, 30_000);
});
