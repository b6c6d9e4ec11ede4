import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { signBody } from '../../shared/contracts/cluster-bump/signature';
import type { DriftReport } from '../../shared/contracts/drift-report/payload';
import { PostgresHistoryStore } from '../../shared/history/postgres';
import { finding } from '../contract/drift-log.contract';
import { runCli, type ServeProcess, spawnServe, useCliSnapshot } from '../support/cli-process';
import { digestOf } from '../support/events';
import { PG_PASSWORD, type RunningPostgres, startPostgres } from '../support/postgres';
import { type SlackStub, startSlackStub } from '../support/slack-stub';
import { buildCli, eventually } from '../support/tagwarden';
import { distributionEnvelope, distributionItem } from '../support/webhook-bodies';

let pg: RunningPostgres;
let slack: SlackStub;
let dir: string;
let dropSnapshot: () => void;

beforeAll(async () => {
  buildCli();
  dropSnapshot = useCliSnapshot();
  dir = mkdtempSync(join(tmpdir(), 'tagwarden-replicas-'));
  [pg, slack] = await Promise.all([startPostgres(), startSlackStub()]);
}, 90_000);
afterAll(async () => {
  dropSnapshot?.();
  await slack?.close();
  await pg?.stop();
  rmSync(dir, { recursive: true, force: true });
});

/** A serve on the database, and the base URL it listens on. */
async function startServe(db: string, config: string): Promise<{ serve: ServeProcess; base: string }> {
  const serve = spawnServe(['--port', '0', '--db', db, '--config', config], dir);
  const base = await eventually(
    async () => serve.output().match(/listening on (http:\/\/127\.0\.0\.1:\d+)/)?.[1],
    `serve listening: ${serve.output()}`,
    30_000,
  );
  return { serve, base };
}

async function deliver(base: string, item: Record<string, unknown>): Promise<number> {
  const response = await fetch(`${base}/webhooks/distribution`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify(distributionEnvelope(item)),
  });
  await response.text();
  return response.status;
}

describe('two tagwarden serve processes on one PostgreSQL database', () => {
  it('record every event once and send every alert once, deliveries alternated and duplicated', async () => {
    const db = await pg.createDatabase('replicas');
    const config = join(dir, 'tagwarden.yaml');
    writeFileSync(
      config,
      `defaults: { action: alert }\nsources: { distribution: { open: true } }\nnotify:\n  slack: { webhookUrl: "${slack.url}" }\n`,
    );
    const replicas = await Promise.all([startServe(db, config), startServe(db, config)]);
    try {
      const tags = Array.from({ length: 6 }, (_, i) => `t${i}`);
      // Per tag: a first push, then an overwrite (one alert each).
      const rounds = [0, 1].map((round) =>
        tags.map((tag) =>
          distributionItem({
            id: `${tag}-${round}`,
            tag,
            digest: digestOf(`${tag}-${round}`),
            timestamp: `2026-11-22T10:00:0${round}Z`,
          }),
        ),
      );
      for (const items of rounds) {
        // Each event to one replica in turn, and at the same time to the other as a duplicate.
        const statuses = await Promise.all(
          items.flatMap((item, i) => [
            deliver(replicas[i % 2]!.base, item),
            deliver(replicas[(i + 1) % 2]!.base, item),
          ]),
        );
        expect(new Set(statuses)).toEqual(new Set([202]));
      }
      const store = await PostgresHistoryStore.open({ url: db });
      try {
        // Every alert settled: done effects are never claimed again, so the count below is final.
        await eventually(async () => {
          const { rows } = await store.pool.query<{ n: string }>(
            "SELECT count(*) AS n FROM outbox WHERE status <> 'done'",
          );
          return rows[0]!.n === '0' ? true : undefined;
        }, 'every effect done');
        const { rows } = await store.pool.query<{ n: string }>('SELECT count(*) AS n FROM outbox');
        expect(Number(rows[0]!.n)).toBe(tags.length);
        expect(slack.messages).toHaveLength(tags.length);
        for (const tag of tags) {
          const history = await store.history({
            registryHost: '127.0.0.1:5000',
            repository: 'payments/api',
            tag,
          });
          expect(history.map((r) => [r.eventId, r.transition])).toEqual([
            [`distribution:${tag}-0`, 'first-seen'],
            [`distribution:${tag}-1`, 'overwrite'],
          ]);
        }
      } finally {
        await store.close();
      }
      // Either replica lists what both recorded, newest first, and its outbox gauge reads the database.
      for (const { base } of replicas) {
        const listed = (await (await fetch(`${base}/api/tags`)).json()) as { tags: { tag: string }[] };
        expect(listed.tags.map((t) => t.tag).sort()).toEqual(tags);
        const metrics = await (await fetch(`${base}/metrics`)).text();
        expect(metrics).toMatch(/^tagwarden_outbox_pending_effects 0$/m);
      }
    } finally {
      const exits = await Promise.all(replicas.map(({ serve }) => serve.stop()));
      expect(exits).toEqual([
        { code: 0, signal: null },
        { code: 0, signal: null },
      ]);
      for (const { serve } of replicas) expect(serve.output()).not.toContain(PG_PASSWORD);
    }
  }, 120_000);

  it('shows the database without its password when serving', async () => {
    const db = await pg.createDatabase('shown');
    const config = join(dir, 'open.yaml');
    writeFileSync(config, 'defaults: { action: alert }\nsources: { distribution: { open: true } }\n');
    const { serve } = await startServe(db, config);
    await serve.stop();
    expect(serve.output()).toContain(`(history ${db.replace(PG_PASSWORD, '***')},`);
    expect(serve.output()).not.toContain(PG_PASSWORD);
  }, 60_000);
});

const DRIFT_SECRET = 'prod-eu-drift-secret-0123';

/** A drift report of prod-eu, signed with its secret, to a serve's agent webhook. */
async function report(base: string, body: string, report: DriftReport): Promise<number> {
  const response = await fetch(`${base}/webhooks/agent`, {
    method: 'POST',
    headers: {
      'X-Tagwarden-Cluster': report.cluster,
      'X-Tagwarden-Timestamp': report.timestamp,
      'X-Tagwarden-Signature': signBody(DRIFT_SECRET, body),
    },
    body,
  });
  await response.text();
  return response.status;
}

describe('drift reports to two tagwarden serve processes on one PostgreSQL database', () => {
  it('record a report both received at once one time, send its alert once, and list it to tagwarden drift', async () => {
    const db = await pg.createDatabase('drift_replicas');
    const config = join(dir, 'drift.yaml');
    writeFileSync(
      config,
      [
        'defaults: { action: alert }',
        `notify:\n  slack: { webhookUrl: "${slack.url}" }`,
        `clusters:\n  - { name: prod-eu, url: "http://127.0.0.1:9/bump", secret: "${DRIFT_SECRET}" }`,
      ].join('\n'),
    );
    const before = slack.messages.length;
    const replicas = await Promise.all([startServe(db, config), startServe(db, config)]);
    try {
      const sent: DriftReport = {
        id: 'report-1',
        cluster: 'prod-eu',
        timestamp: new Date().toISOString(),
        namespaces: null,
        findings: [finding(), finding({ kind: 'risky', container: 'sidecar' })],
        truncated: false,
      };
      const body = JSON.stringify(sent);
      const statuses = await Promise.all(replicas.map(({ base }) => report(base, body, sent)));
      expect(statuses.sort()).toEqual([200, 409]);
      // The same findings in a new report to each: both find them open already.
      const again = await Promise.all(
        replicas.map(({ base }, i) => {
          const next = { ...sent, id: `report-again-${i}`, timestamp: new Date().toISOString() };
          return report(base, JSON.stringify(next), next);
        }),
      );
      expect(again).toEqual([200, 200]);
      await eventually(
        async () => (slack.messages.length >= before + 2 ? true : undefined),
        'the drift alerts sent',
      );
      const store = await PostgresHistoryStore.open({ url: db });
      try {
        await eventually(async () => {
          const { rows } = await store.pool.query<{ n: string }>(
            "SELECT count(*) AS n FROM outbox WHERE status <> 'done'",
          );
          return rows[0]!.n === '0' ? true : undefined;
        }, 'every effect done');
      } finally {
        await store.close();
      }
      expect(slack.messages.length - before).toBe(2);
      const listed = runCli(['drift', '--db', db, '--json']);
      expect(listed.stderr).toBe('');
      expect(JSON.parse(listed.stdout).clusters['prod-eu']).toHaveLength(2);
      expect(listed.stdout).not.toContain(PG_PASSWORD);
    } finally {
      await Promise.all(replicas.map(({ serve }) => serve.stop()));
    }
  }, 120_000);
});

describe('--db with a PostgreSQL URL that does not work', () => {
  it('says in one line that the password was refused, without the password', () => {
    const wrong = 'Wr0ng-pa55word-Q7';
    const result = runCli(['history', '--db', pg.url().replace(PG_PASSWORD, wrong), '127.0.0.1:5000/a:b']);
    expect(result.status).not.toBe(0);
    expect(result.stderr.trim().split('\n')).toHaveLength(1);
    expect(result.stderr).toMatch(
      /cannot open the PostgreSQL history at postgres:\/\/tagwarden:\*\*\*@.*password authentication failed/,
    );
    expect(result.stderr).not.toContain(wrong);
  });

  it('names a URL without a database or a host, or not a URL at all, in one line, before connecting', () => {
    for (const [db, problem] of [
      [`postgres://tagwarden:${PG_PASSWORD}@127.0.0.1:1`, 'names no database'],
      ['postgres:///tagwarden', 'names no host'],
      [`postgresql://tagwarden:${PG_PASSWORD}@/tagwarden`, 'is not a valid URL'],
    ] as const) {
      const result = runCli(['failed', '--db', db]);
      expect(result.status).not.toBe(0);
      expect(result.stderr.trim().split('\n')).toEqual([expect.stringContaining(problem)]);
      expect(result.stderr).not.toContain(PG_PASSWORD);
    }
  });

  it('reads the password from PGPASSWORD when the URL has none', async () => {
    const db = (await pg.createDatabase('from_env')).replace(`:${PG_PASSWORD}@`, '@');
    const before = process.env.PGPASSWORD;
    process.env.PGPASSWORD = PG_PASSWORD;
    try {
      const result = runCli(['failed', '--db', db]);
      expect(result.stderr).toBe('');
      expect(result.stdout).toContain('Failed effects (0):');
    } finally {
      if (before === undefined) delete process.env.PGPASSWORD;
      else process.env.PGPASSWORD = before;
    }
  });

  it('says in one line that nothing listens there', () => {
    const result = runCli(['failed', '--db', `postgres://tagwarden:${PG_PASSWORD}@127.0.0.1:1/tagwarden`]);
    expect(result.status).not.toBe(0);
    expect(result.stderr.trim().split('\n')).toEqual([expect.stringMatching(/ECONNREFUSED/)]);
    expect(result.stderr).not.toContain(PG_PASSWORD);
  });
});
