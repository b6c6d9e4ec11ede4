import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import { join } from 'node:path';
import {
  DigestBump,
  SIGNATURE_HEADER,
  verifyBodySignature,
} from '../../shared/contracts/cluster-bump/payload';
import { SqliteHistoryStore } from '../../shared/history';
import { ROOT } from '../support/cli-process';
import { digestOf } from '../support/events';
import { stopProcess } from '../support/processes';
import { type SlackStub, startSlackStub } from '../support/slack-stub';
import { buildCli, collectOutput, eventually, freePort } from '../support/tagwarden';
import { distributionBody } from '../support/webhook-bodies';

const SECRET = 'integration-cluster-secret-42';
const HOST = '127.0.0.1:5000';
const A = digestOf('cluster-int-a');
const B = digestOf('cluster-int-b');
const REF = `${HOST}/payments/api:latest`;
/** Jest gives tests a copy of process.env; children get this one explicitly. */
const ENV = { ...process.env, PROD_CLUSTER_SECRET: SECRET };

/**
 * The CLI runs from a private copy of bin/ and dist/ (another suite's build deletes dist/), and
 * asynchronously: the receiver lives in this process and must answer while `tagwarden retry` runs.
 */
let dir: string;
let bin: string;
let slack: SlackStub;

interface Call {
  headers: IncomingHttpHeaders;
  body: Buffer;
}

/** The cluster endpoint: verifies the signature like the agent does; can be taken down and brought back. */
function clusterReceiver(port: number) {
  const calls: Call[] = [];
  let server: Server | null = null;
  return {
    calls,
    url: `http://127.0.0.1:${port}/bump`,
    up: () =>
      new Promise<void>((resolve, reject) => {
        server = createServer((req, res) => {
          const chunks: Buffer[] = [];
          req.on('data', (chunk: Buffer) => chunks.push(chunk));
          req.on('end', () => {
            const body = Buffer.concat(chunks);
            const auth = verifyBodySignature(
              SECRET,
              body,
              req.headers[SIGNATURE_HEADER.toLowerCase()] as string,
            );
            if (!auth.ok) return res.writeHead(401).end(auth.reason);
            calls.push({ headers: req.headers, body });
            res.writeHead(200).end('{"accepted":true}');
          });
        });
        server.once('error', reject);
        server.listen(port, '127.0.0.1', resolve);
      }),
    down: () =>
      new Promise<void>((resolve) => {
        if (!server) return resolve();
        server.close(() => resolve());
        server.closeAllConnections();
        server = null;
      }),
  };
}

function cli(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [bin, ...args],
      { cwd: dir, env: ENV, timeout: 20_000 },
      (error, stdout, stderr) =>
        resolve({ code: error ? ((error as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

function serve(args: string[]): { child: ChildProcess; output: () => string; stop: () => Promise<void> } {
  const child = spawn(process.execPath, [bin, 'serve', ...args], {
    cwd: dir,
    env: ENV,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const output = collectOutput(child);
  return {
    child,
    output,
    stop: () => stopProcess(child),
  };
}

async function withStore<T>(db: string, work: (store: SqliteHistoryStore) => Promise<T>): Promise<T> {
  const store = new SqliteHistoryStore({ path: db });
  try {
    return await work(store);
  } finally {
    await store.close();
  }
}

beforeAll(async () => {
  buildCli();
  const state = join(ROOT, '.test-state');
  mkdirSync(state, { recursive: true });
  dir = mkdtempSync(join(state, 'cluster-bump-'));
  cpSync(join(ROOT, 'bin'), join(dir, 'bin'), { recursive: true });
  cpSync(join(ROOT, 'dist'), join(dir, 'dist'), { recursive: true });
  bin = join(dir, 'bin', 'tagwarden.js');
  slack = await startSlackStub();
}, 60_000);

afterAll(async () => {
  await slack?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('a cluster receiver down for longer than the retry window', () => {
  let running: ReturnType<typeof serve> | undefined;
  const receiverPort = { value: 0 };
  let receiver: ReturnType<typeof clusterReceiver>;

  afterAll(async () => {
    await running?.stop();
    await receiver?.down();
  });

  test('becomes a dead letter with one Slack alert, shows in history, and `tagwarden retry` delivers it once it is back', async () => {
    receiverPort.value = await freePort();
    receiver = clusterReceiver(receiverPort.value);
    const db = join(dir, 'history.db');
    const config = join(dir, 'tagwarden.yaml');
    writeFileSync(
      config,
      [
        'rules:',
        '  - { match: { tag: latest }, action: allow, bump: true }',
        // A config enables only the sources it names.
        'sources: { distribution: { open: true } }',
        'notify:',
        `  slack: { webhookUrl: "${slack.url}" }`,
        'clusters:',
        `  - { name: prod, url: "${receiver.url}", secret: "\${PROD_CLUSTER_SECRET}", timeoutMs: 1000 }`,
        'effects: { maxAttempts: 3, backoffBaseMs: 50, backoffMaxMs: 200 }',
        '',
      ].join('\n'),
    );
    const port = await freePort();
    running = serve(['--port', String(port), '--db', db, '--config', config]);
    const url = await eventually(
      async () => /Tagwarden listening on (http:\/\/\S+)/.exec(running!.output())?.[1],
      'serve to listen',
    );

    // The receiver is down (nothing listens on its port): latest is pushed, then moved.
    for (const [digest, timestamp] of [
      [A, '2026-12-01T04:00:00Z'],
      [B, '2026-12-01T04:01:00Z'],
    ] as const) {
      const response = await fetch(`${url}/webhooks/distribution`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: distributionBody({ tag: 'latest', digest, timestamp }),
      });
      expect(response.status).toBe(202);
    }

    const dead = await eventually(
      () => withStore(db, async (store) => (await store.failedEffects(10))[0]),
      'the bump to fail for good',
    ).catch((error: Error) => {
      throw new Error(`${error.message}\n${running?.output()}`);
    });
    expect(dead.key).toMatch(/:cluster=prod#bump$/);
    expect(dead.attempts).toBe(3);
    expect(dead.lastError).toMatch(/^cluster "prod" \(127\.0\.0\.1:\d+\): network error \(ECONNREFUSED\)$/);
    const alert = await eventually(async () => slack.messages[0], 'the Slack alert');
    expect(alert.text).toContain('bump FAILED after 3 attempt(s): cluster "prod"');
    expect(alert.text).toContain(`${A} → ${B}`);
    await running.stop();
    running = undefined;
    expect(slack.messages).toHaveLength(1);
    expect(receiver.calls).toHaveLength(0);

    const failed = await cli(['failed', '--db', db]);
    expect(failed.stdout).toContain(`  ${dead.key}  ${REF}  after 3 attempt(s): cluster "prod"`);

    // --wide: the whole error and key (the default view shortens them to fit 120 columns).
    const history = await cli(['history', REF, '--db', db, '--wide']);
    expect(history.code).toBe(0);
    expect(history.stdout).toMatch(/^STATUS\s+EFFECT\s+ATTEMPTS\s+RESULT\s+KEY$/m);
    expect(history.stdout).toMatch(/^done\s+bump\s+1\s+queued for cluster\(s\): prod\s/m);
    expect(history.stdout).toMatch(
      new RegExp(
        `^failed\\s+bump prod\\s+3\\s+cluster "prod" .*ECONNREFUSED\\)\\s+${regexText(dead.key)}$`,
        'm',
      ),
    );
    const json = JSON.parse((await cli(['history', REF, '--db', db, '--json'])).stdout) as {
      effects: { key: string; status: string; cluster: string | null }[];
    };
    expect(json.effects.find((e) => e.key === dead.key)).toMatchObject({ status: 'failed', cluster: 'prod' });

    // Still down: retry runs it once more, says so and exits 1.
    const stillDown = await cli(['retry', '--key', dead.key, '--db', db, '--config', config]);
    expect(stillDown.code).toBe(1);
    expect(stillDown.stdout).toContain(`failed     ${dead.key}: cluster "prod"`);
    expect(stillDown.stderr.trim()).toBe('error: 1 of 1 effect(s) not delivered (see above)');
    // The manual attempt failed for good again, and is alerted again like any final failure.
    expect(slack.messages).toHaveLength(2);

    // Back up: retry delivers it, signed, naming the previous and the new digest.
    await receiver.up();
    const delivered = await cli(['retry', '--key', dead.key, '--db', db, '--config', config]);
    expect(delivered.stderr).toBe('');
    expect(delivered.code).toBe(0);
    expect(delivered.stdout).toMatch(
      new RegExp(
        `^delivered  ${regexText(dead.key)}: delivered to cluster "prod" \\(127\\.0\\.0\\.1:\\d+\\): HTTP 200$`,
        'm',
      ),
    );
    expect(receiver.calls).toHaveLength(1);
    const bump = DigestBump.parse(JSON.parse(receiver.calls[0]!.body.toString()));
    expect(bump).toMatchObject({
      id: dead.key,
      registryHost: HOST,
      repository: 'payments/api',
      tag: 'latest',
      previousDigest: A,
      digest: B,
      reason: 'moved',
    });
    expect(receiver.calls[0]!.headers['x-tagwarden-timestamp']).toBe(bump.timestamp);
    expect(await withStore(db, (store) => store.failedEffects(10))).toEqual([]);

    const again = await cli(['retry', '--all', '--db', db, '--config', config]);
    expect(again).toMatchObject({ code: 0, stdout: 'No failed effects to retry.\n' });
    expect(receiver.calls).toHaveLength(1);
  }, 60_000);
});

describe('tagwarden retry arguments', () => {
  test('needs exactly one of --key and --all, and an effect that exists and failed', async () => {
    const db = join(dir, 'args.db');
    await withStore(db, async () => {});
    const none = await cli(['retry', '--db', db]);
    expect(none).toMatchObject({
      code: 1,
      stderr: 'error: give --key <key> (as `tagwarden failed` lists it) or --all\n',
    });
    const both = await cli(['retry', '--all', '--key', 'x#bump', '--db', db]);
    expect(both.code).toBe(1);
    const unknown = await cli(['retry', '--key', 'nope#bump', '--db', db]);
    expect(unknown).toMatchObject({
      code: 1,
      stderr: 'error: no effect nope#bump in the outbox (`tagwarden failed` lists failed keys)\n',
    });
    const missing = await cli(['retry', '--all', '--db', join(dir, 'missing.db')]);
    expect(missing.stderr).toMatch(/^error: history file .*missing\.db does not exist/);
  });
});

function regexText(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
