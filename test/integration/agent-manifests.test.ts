import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createAgentServer } from '../../functions/local/agent';
import { manifestWorkloadClient } from '../../functions/local/agent-manifests';
import type { DigestBump } from '../../shared/contracts/cluster-bump/payload';
import { silentLogger } from '../../shared/log';
import { AGENT_SECRET, type AgentAnswer, bump, sendBump } from '../support/agent';
import { runCli, useCliSnapshot } from '../support/cli-process';
import { stopProcess } from '../support/processes';
import { buildCli, collectOutput } from '../support/tagwarden';

/**
 * Issue 13, item 6: `tagwarden agent --dry-run --manifests <dir|file…>` plans bumps against workloads
 * read from files (multi-document YAML, JSON, `List` kinds), with no API server at all.
 */
const FIXTURES = join(__dirname, '..', 'fixtures', 'agent-manifests');
const OLD = `sha256:${'a'.repeat(64)}`;
const NEW = `sha256:${'b'.repeat(64)}`;
const IMAGE = 'registry.example/shop/api';
const bumpOf = (): DigestBump =>
  bump({
    registryHost: 'registry.example',
    repository: 'shop/api',
    tag: '1.4.2',
    previousDigest: OLD,
    digest: NEW,
  });

/** What the fixtures' workloads that follow the tag would become, in file order (list, more/, shop). */
const WOULD_PATCH = [
  ['StatefulSet', 'shop', 'db', 'migrate'],
  ['CronJob', 'default', 'nightly', 'report'],
  ['DaemonSet', 'kube-system', 'logs', 'agent'],
  ['Deployment', 'shop', 'web', 'app'],
].map(([kind, namespace, name, container]) => ({
  kind,
  namespace,
  name,
  changes: [expect.objectContaining({ container, from: `${IMAGE}:1.4.2`, to: `${IMAGE}:1.4.2@${NEW}` })],
}));

async function inProcessAgent(paths: string[], namespaces: string[] | null = null) {
  const server: Server = createAgentServer({
    secret: AGENT_SECRET,
    client: manifestWorkloadClient(paths),
    log: silentLogger,
    mode: 'patch',
    namespaces,
    dryRun: true,
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    send: (b: DigestBump) => sendBump(`${url}/bump`, AGENT_SECRET, b),
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

describe('the agent in manifests mode (in process)', () => {
  it('answers a bump with what it would patch, the unparsable image and dryRun, from a directory of manifests', async () => {
    const agent = await inProcessAgent([FIXTURES]);
    try {
      const answer = await agent.send(bumpOf());
      expect(answer.status).toBe(200);
      expect(answer.body).toMatchObject({ dryRun: true, mode: 'patch', unchanged: 0, patched: WOULD_PATCH });
      expect((answer.body as AgentAnswer & { unparsable: unknown[] }).unparsable).toEqual([
        expect.objectContaining({
          kind: 'CronJob',
          namespace: 'default',
          name: 'nightly',
          container: 'broken',
        }),
      ]);
      const ready = await fetch(`${agent.url}/readyz`);
      expect([ready.status, await ready.json()]).toEqual([
        200,
        { status: 'ready', source: 'manifests', detail: `manifests mode: 5 workload(s) from ${FIXTURES}` },
      ]);
    } finally {
      await agent.stop();
    }
  });

  it('reads single files too, and keeps to the allowed namespaces', async () => {
    const agent = await inProcessAgent([join(FIXTURES, 'shop.yaml'), join(FIXTURES, 'list.yaml')], ['shop']);
    try {
      const answer = await agent.send(bumpOf());
      expect(answer.status).toBe(200);
      expect(answer.body.patched).toEqual([WOULD_PATCH[3], WOULD_PATCH[0]]);
    } finally {
      await agent.stop();
    }
  });

  it('reads the files again for every bump, and says not ready when one stops parsing', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tagwarden-manifests-'));
    const file = join(dir, 'app.yaml');
    const deployment = (image: string) =>
      `kind: Deployment\nmetadata: { name: web }\nspec:\n  template:\n    spec:\n      containers:\n        - { name: app, image: "${image}" }\n`;
    writeFileSync(file, deployment('registry.example/other:1.4.2'));
    const agent = await inProcessAgent([dir]);
    try {
      expect((await agent.send(bumpOf())).body.patched).toEqual([]);
      writeFileSync(file, deployment(`${IMAGE}:1.4.2`));
      expect((await agent.send(bumpOf())).body.patched).toHaveLength(1);
      writeFileSync(file, 'kind: Deployment\nmetadata: {name: web\n');
      const ready = await fetch(`${agent.url}/readyz`);
      expect(ready.status).toBe(503);
      expect(await ready.json()).toMatchObject({ status: 'not ready', source: 'manifests', problem: null });
    } finally {
      await agent.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('tagwarden agent --dry-run --manifests (the real CLI process)', () => {
  let removeSnapshot: () => void;
  beforeAll(() => {
    buildCli();
    removeSnapshot = useCliSnapshot();
  }, 120_000);
  afterAll(() => removeSnapshot());

  it('starts without a kubeconfig or cluster, says so, and answers bumps with what it would patch', async () => {
    const env: NodeJS.ProcessEnv = { ...process.env, AGENT_TEST_SECRET: AGENT_SECRET };
    delete env.KUBERNETES_SERVICE_HOST;
    const args = [
      'agent',
      '--port',
      '0',
      '--secret-env',
      'AGENT_TEST_SECRET',
      '--dry-run',
      '--manifests',
      FIXTURES,
    ];
    const child: ChildProcess = spawn(
      process.execPath,
      [join(__dirname, '..', '..', 'bin', 'tagwarden.js'), ...args],
      {
        env,
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    const output = collectOutput(child);
    try {
      const url = await new Promise<string>((resolve, reject) => {
        child.stdout!.on('data', () => {
          const match = /listening on (http:\/\/\S+)/.exec(output());
          if (match) resolve(match[1]!);
        });
        child.once('exit', (code) => reject(new Error(`agent exited with ${code}:\n${output()}`)));
      });
      expect(output()).toContain(
        `(manifests ${FIXTURES}: 5 workload(s), mode patch, namespaces all, dry run)`,
      );
      const answer = await sendBump(`${url}/bump`, AGENT_SECRET, bumpOf());
      expect(answer.status).toBe(200);
      expect(answer.body).toMatchObject({ dryRun: true, patched: WOULD_PATCH });
      expect(output()).toContain('"message":"would patch workload (dry run)"');
    } finally {
      await stopProcess(child);
    }
  });

  it('refuses --manifests without --dry-run, with --kubeconfig, a missing path or bad YAML, in one line each', () => {
    process.env.AGENT_GOOD_SECRET = 'a-secret-long-enough-for-hmac';
    const dir = mkdtempSync(join(tmpdir(), 'tagwarden-manifests-'));
    const bad = join(dir, 'bad.yaml');
    writeFileSync(bad, 'kind: Deployment\nmetadata:\n  name: web\n  labels: [unclosed\n');
    const agent = (...more: string[]) => runCli(['agent', '--secret-env', 'AGENT_GOOD_SECRET', ...more]);
    try {
      const cases: [string[], string | RegExp][] = [
        [['--manifests', FIXTURES], 'error: --manifests needs --dry-run: files are read, never patched'],
        [
          ['--dry-run', '--manifests', FIXTURES, '--kubeconfig', '/nonexistent'],
          'error: --manifests and --kubeconfig exclude each other: pick one source',
        ],
        [
          ['--dry-run', '--manifests', join(dir, 'nope')],
          `error: cannot read manifests ${join(dir, 'nope')}: ENOENT`,
        ],
        [['--dry-run', '--manifests', bad], new RegExp(`^error: ${bad}: line \\d+: not YAML: `)],
      ];
      for (const [args, expected] of cases) {
        const result = agent(...args);
        expect(result.status).toBe(1);
        expect(result.stderr.trim().split('\n')).toHaveLength(1);
        if (typeof expected === 'string') expect(result.stderr.trim()).toBe(expected);
        else expect(result.stderr.trim()).toMatch(expected);
      }
    } finally {
      delete process.env.AGENT_GOOD_SECRET;
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
