// `npm run demo`: a real registry (Debian's docker-registry) wired to `tagwarden serve` with a revert
// rule, two different images pushed under one tag, and what Tagwarden did about it. Everything runs
// on loopback from a temporary directory, removed (with both processes stopped) on exit or Ctrl-C.
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pushImage, servedDigest } from './demo-push.mjs';

const ROOT = join(import.meta.dirname, '..');
const BIN = join(ROOT, 'bin', 'tagwarden.js');
const REPOSITORY = 'demo/app';
const TAG = 'v1.0.0';
const DEADLINE_MS = 20_000;

const children = [];
let dir = null;
let interrupted = false;

function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer().once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/** Starts a process; its output is kept (and shown if the demo fails). */
function start(command, args) {
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], env: demoEnv() });
  const proc = { child, output: '', exited: new Promise((resolve) => child.once('exit', resolve)) };
  for (const stream of [child.stdout, child.stderr]) stream.on('data', (chunk) => (proc.output += chunk));
  children.push(proc);
  return proc;
}

/** REGISTRY_* variables would override the registry's config file: keep the caller's out. */
function demoEnv() {
  return Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.startsWith('REGISTRY_')));
}

async function until(what, check, proc) {
  const deadline = Date.now() + DEADLINE_MS;
  for (;;) {
    const value = await check().catch(() => null);
    if (value) return value;
    if (Date.now() > deadline || proc?.child.exitCode != null)
      throw new Error(
        `${what} did not happen within ${DEADLINE_MS / 1000} s${proc ? `:\n${proc.output}` : ''}`,
      );
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

async function cleanUp() {
  for (const { child, exited } of children.splice(0)) {
    if (child.exitCode !== null || child.signalCode !== null) continue;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 3000);
    await exited;
    clearTimeout(timer);
  }
  if (dir) rmSync(dir, { recursive: true, force: true });
  dir = null;
}

function writeConfigs(registryHost, tagwardenPort, token) {
  const tagwardenConfig = join(dir, 'tagwarden.yaml');
  writeFileSync(
    tagwardenConfig,
    [
      'defaults: { action: alert }',
      'rules:',
      '  - match: { tag: "v*" }',
      '    action: revert',
      'sources:',
      `  distribution: { token: "\${DEMO_TOKEN}" }`,
      'registries:',
      `  "${registryHost}": { url: "http://${registryHost}" }`,
      '',
    ].join('\n'),
  );
  const registryConfig = join(dir, 'registry.yml');
  const endpoint = {
    name: 'tagwarden',
    url: `http://127.0.0.1:${tagwardenPort}/webhooks/distribution`,
    headers: { Authorization: [`Bearer ${token}`] },
    timeout: '2s',
    threshold: 5,
    backoff: '1s',
    ignore: { actions: ['pull'] },
  };
  // YAML is a superset of JSON; version 0.1 is the config format docker-registry reads.
  const registry = {
    version: '0.1',
    log: { level: 'error', accesslog: { disabled: true } },
    storage: { filesystem: { rootdirectory: join(dir, 'registry') }, delete: { enabled: true } },
    http: { addr: registryHost, secret: randomBytes(16).toString('hex') },
    notifications: { endpoints: [endpoint] },
  };
  writeFileSync(registryConfig, JSON.stringify(registry, null, 2));
  return { tagwardenConfig, registryConfig };
}

async function startBoth() {
  const [registryPort, tagwardenPort] = [await freePort(), await freePort()];
  const registryHost = `127.0.0.1:${registryPort}`;
  const token = randomBytes(24).toString('base64url');
  process.env.DEMO_TOKEN = token;
  const { tagwardenConfig, registryConfig } = writeConfigs(registryHost, tagwardenPort, token);
  const db = join(dir, 'history.db');
  const serve = start(process.execPath, [
    BIN,
    'serve',
    '--port',
    String(tagwardenPort),
    '--config',
    tagwardenConfig,
    '--db',
    db,
  ]);
  await until('tagwarden serve listening', async () => serve.output.includes('listening on'), serve);
  const registry = start('docker-registry', ['serve', registryConfig]);
  const registryUrl = `http://${registryHost}`;
  await until('docker-registry answering', async () => (await fetch(`${registryUrl}/v2/`)).ok, registry);
  return { serve, registryHost, registryUrl, db, tagwardenPort };
}

const short = (digest) => `${digest.slice(0, 19)}…`;

async function demo() {
  dir = mkdtempSync(join(tmpdir(), 'tagwarden-demo-'));
  const { serve, registryHost, registryUrl, db, tagwardenPort } = await startBoth();
  console.log(
    `Registry  http://${registryHost}  (docker-registry, notifications to Tagwarden, pulls ignored)`,
  );
  console.log(`Tagwarden http://127.0.0.1:${tagwardenPort}  (rule: tags v* are reverted when overwritten)\n`);
  const first = await pushImage(registryUrl, REPOSITORY, TAG, 'the first image');
  console.log(`pushed ${REPOSITORY}:${TAG}  ${short(first)}  (first image)`);
  const second = await pushImage(registryUrl, REPOSITORY, TAG, 'a different image');
  const pushed = Date.now();
  console.log(`pushed ${REPOSITORY}:${TAG}  ${short(second)}  (a different image, same tag)`);
  await until('the revert', async () => (await servedDigest(registryUrl, REPOSITORY, TAG)) === first, serve);
  console.log(`Tagwarden put the first image back ${Date.now() - pushed} ms after the push returned.\n`);
  const alert = await until(
    'the alert',
    async () => serve.output.split('\n').find((l) => l.startsWith('ALERT')),
    serve,
  );
  const ref = `${registryHost}/${REPOSITORY}:${TAG}`;
  const history = spawnSync(process.execPath, [BIN, 'history', ref, '--db', db], { encoding: 'utf8' });
  console.log(`History of the tag (tagwarden history ${ref}):\n${history.stdout || history.stderr}`);
  console.log(`The alert (printed to the console; notify.slack sends it to Slack):\n${alert}\n`);
  const served = await servedDigest(registryUrl, REPOSITORY, TAG);
  console.log(`The registry serves the first image again (HEAD /v2/${REPOSITORY}/manifests/${TAG}):`);
  console.log(
    `Docker-Content-Digest: ${served}  ${served === first ? '= the first image' : '≠ the first image'}`,
  );
  if (served !== first) throw new Error('the registry does not serve the first image');
}

async function main() {
  if (spawnSync('docker-registry', ['--version'], { stdio: 'ignore' }).error) {
    console.error(
      'npm run demo needs docker-registry: install it with `sudo apt-get install -y docker-registry` (Debian/Ubuntu)',
    );
    process.exit(1);
  }
  if (!existsSync(join(ROOT, 'dist', 'cli.js')))
    spawnSync(process.execPath, [join(ROOT, 'scripts', 'build.mjs')], { cwd: ROOT, stdio: 'inherit' });
  for (const signal of ['SIGINT', 'SIGTERM'])
    process.once(signal, () => {
      interrupted = true;
      console.error('\nInterrupted: stopping the registry and Tagwarden, removing the temporary directory.');
      cleanUp().then(() => process.exit(130));
    });
  try {
    await demo();
    await cleanUp();
    console.log('\nDemo done: stopped the registry and Tagwarden, removed the temporary directory.');
  } catch (error) {
    if (interrupted) return; // the signal handler cleans up and exits
    await cleanUp();
    console.error(`demo failed: ${error instanceof Error ? error.message : error}`);
    process.exit(1);
  }
}

await main();
