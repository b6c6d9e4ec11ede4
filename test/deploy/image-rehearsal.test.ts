import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import {
  chmodSync,
  chownSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { AGENT_SECRET } from '../support/agent';
import { type RuntimeStage, readRuntimeStage } from '../support/dockerfile';
import { digestOf } from '../support/events';
import { type FakeKubernetes, startFakeKubernetes } from '../support/fake-kubernetes';
import { loadManifests, type Manifest } from '../support/k8s-manifests';
import { copyInstall, installedPackage } from '../support/package';
import { stopProcess } from '../support/processes';
import { collectOutput, eventually } from '../support/tagwarden';
import { distributionBody } from '../support/webhook-bodies';

/**
 * Issue 18, item 1: nothing here can build or run a container, so this rehearses the image's runtime
 * stage. The Dockerfile's last stage is read (ENV, USER, WORKDIR, VOLUME, ENTRYPOINT, CMD, and where it
 * copies the installed package to), a directory is laid out as that stage would be (the packed tarball
 * installed globally under the same prefix, the volume owned by the image's user, the policy from the
 * ConfigMap where the CMD reads it), and `serve` (the CMD) and `agent` (infra/k8s/deployment.yaml's
 * args) are run from it as the image's non-root uid, with the image's environment and no capabilities.
 * Paths the image names are mapped into the layout; the listen address is loopback and the port 0.
 * The tests run as root (setpriv changes the user), as CI and this project's machines do.
 */
const stage: RuntimeStage = readRuntimeStage();
const work = mkdtempSync(join(tmpdir(), 'tagwarden-image-'));
const layout = join(work, 'image');
const APP_DIR = stage.copiedFrom.find((c) => c.stage === 'build')?.destination ?? '';
/** The image's own directories: the installed package, its volumes, its config directory. */
const CONFIG_PATH = stage.cmd.find((a) => a.startsWith('--config='))?.slice('--config='.length) ?? '';
const imageDirs = [APP_DIR, ...stage.volumes, dirname(CONFIG_PATH)];

/** An absolute path the image names, as it is in the layout. */
const inLayout = (path: string) =>
  imageDirs.some((dir) => path === dir || path.startsWith(`${dir}/`)) ? join(layout, path) : path;
/** `--flag=/abs/path` and plain values mapped into the layout; other values kept. */
const mapArg = (arg: string) =>
  arg.replace(/^(--[a-z-]+=)?(\/.*)$/, (_, flag = '', path) => flag + inLayout(path));

/** The image's environment: ENV with its paths in the layout, this machine's node on PATH last. */
function imageEnvironment(extra: Record<string, string>): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(stage.env))
    env[key] = value
      .split(':')
      .map((part) => (part.startsWith('/') ? inLayout(part) : part))
      .join(':');
  env.PATH = `${env.PATH ?? ''}:${dirname(process.execPath)}`;
  return { ...env, ...extra };
}

/** Runs the image's entrypoint with `args` as its uid/gid, no capabilities, no new privileges. */
function runAsImageUser(args: string[], extraEnv: Record<string, string>): ChildProcess {
  const { uid, gid } = stage.user;
  return spawn(
    'setpriv',
    [
      `--reuid=${uid}`,
      `--regid=${gid}`,
      '--clear-groups',
      '--no-new-privs',
      '--inh-caps=-all',
      '--bounding-set=-all',
      '--',
      ...stage.entrypoint,
      ...args.map(mapArg),
    ],
    { cwd: inLayout(stage.workdir), env: imageEnvironment(extraEnv), stdio: ['ignore', 'pipe', 'pipe'] },
  );
}

/** Every file and directory of the layout (relative), with its modification time. */
function snapshot(dir = layout, into = new Map<string, number>()): Map<string, number> {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    into.set(relative(layout, path), statSync(path).mtimeMs);
    if (entry.isDirectory()) snapshot(path, into);
  }
  return into;
}

/** Starts a command of the image, waits for "listening on http://…:<port>" and returns its base URL. */
async function start(args: string[], env: Record<string, string>) {
  const child = runAsImageUser(args, env);
  const output = collectOutput(child);
  const exited = new Promise<never>((_, reject) =>
    child.once('exit', (code, signal) =>
      reject(new Error(`${args[0]} exited (${code ?? signal}) before listening: ${output()}`)),
    ),
  );
  exited.catch(() => {});
  const port = await Promise.race([
    eventually(
      async () => /listening on http:\/\/[^:]+:(\d+)/.exec(output())?.[1],
      `${args[0]} to start (output: ${output()})`,
      60_000,
    ),
    exited,
  ]);
  return { child, output, url: `http://127.0.0.1:${port}` };
}

/** Replaces `--host`/`--port` with loopback and port 0, keeping every other argument. */
const onLoopback = (args: string[]) => [
  ...args.filter((a) => !/^--(host|port)=/.test(a)),
  '--host=127.0.0.1',
  '--port=0',
];

const manifests = loadManifests().map(({ object }) => object);
const named = (kind: string, name: string) =>
  manifests.find((m) => m.kind === kind && m.metadata.name === name) as Manifest;
/** serve's environment in the pod: the Secret's keys (filled here) and the agent secret. */
const serveSecrets = (): Record<string, string> => {
  const env: Record<string, string> = { TAGWARDEN_AGENT_SECRET: AGENT_SECRET };
  for (const key of Object.keys(named('Secret', 'tagwarden-serve').stringData))
    env[key] = key.endsWith('_URL')
      ? 'https://hooks.slack.com/services/T000/B000/rehearsal'
      : `${key}-rehearsal-0123456789`;
  return env;
};

beforeAll(async () => {
  chmodSync(work, 0o755);
  mkdirSync(join(layout, dirname(APP_DIR)), { recursive: true });
  // As the Dockerfile copies the build stage's install: the shared install copied to the image's prefix.
  copyInstall(await installedPackage(), join(layout, APP_DIR));
  for (const volume of stage.volumes) {
    // As the runtime stage makes it: parents root's and traversable, the volume the user's alone.
    mkdirSync(join(layout, volume), { recursive: true });
    chownSync(join(layout, volume), stage.user.uid, stage.user.gid);
    chmodSync(join(layout, volume), 0o700);
  }
  mkdirSync(join(layout, dirname(CONFIG_PATH)), { recursive: true });
  const configMap = named('ConfigMap', 'tagwarden-config');
  writeFileSync(join(layout, CONFIG_PATH), configMap.data[CONFIG_PATH.split('/').pop()!]);
  mkdirSync(inLayout(stage.workdir), { recursive: true });
}, 900_000);

afterAll(() => rmSync(work, { recursive: true, force: true }));

it('declares a non-root numeric user, tagwarden as the entrypoint, serve as the command, a volume it owns', () => {
  expect(stage.name).toBe('runtime');
  expect(stage.user.uid).toBeGreaterThan(0);
  expect(stage.user.gid).toBeGreaterThan(0);
  expect(stage.entrypoint).toEqual(['tagwarden']);
  expect(stage.cmd[0]).toBe('serve');
  expect(stage.volumes).toEqual(['/var/lib/tagwarden']);
  expect(stage.env.HOME).toBe(stage.volumes[0]);
  expect(stage.cmd).toContain(`--db=${stage.volumes[0]}/history.db`);
  expect(stage.instructions.some((line) => /^HEALTHCHECK\s/i.test(line))).toBe(false);
  expect(APP_DIR).toBe('/opt/tagwarden');
});

it("leaves the installed package unwritable by the image's user", () => {
  const probe = (path: string) =>
    spawnSync('setpriv', [
      `--reuid=${stage.user.uid}`,
      `--regid=${stage.user.gid}`,
      '--clear-groups',
      'test',
      '-w',
      path,
    ]).status;
  const pkg = join(layout, APP_DIR, 'lib', 'node_modules', 'tagwarden');
  expect(statSync(join(pkg, 'dist', 'cli.js')).isFile()).toBe(true);
  expect([probe(join(layout, APP_DIR)), probe(pkg), probe(join(pkg, 'dist', 'cli.js'))]).toEqual([1, 1, 1]);
  expect(probe(join(layout, stage.volumes[0]!))).toBe(0);
});

it('runs serve (the image CMD) as the image user on the ConfigMap policy, records into the volume, writes nowhere else', async () => {
  const before = snapshot();
  const env = serveSecrets();
  const serve = await start(onLoopback(stage.cmd), env);
  try {
    expect((await fetch(`${serve.url}/healthz`)).status).toBe(200);
    // The Deployment's readiness probe: the history in the volume answers.
    expect((await fetch(`${serve.url}/readyz`)).status).toBe(200);
    const push = await fetch(`${serve.url}/webhooks/distribution`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        authorization: `Bearer ${env.TAGWARDEN_DISTRIBUTION_TOKEN}`,
      },
      body: distributionBody({
        host: 'registry.example.com',
        repository: 'shop/api',
        tag: 'v1',
        digest: digestOf('1'),
      }),
    });
    expect(push.status).toBe(202);
    expect(await push.json()).toMatchObject({ accepted: 1 });
  } finally {
    await stopProcess(serve.child);
  }
  const volume = relative(layout, join(layout, stage.volumes[0]!));
  const changed = [...snapshot()].filter(([path, mtime]) => before.get(path) !== mtime).map(([path]) => path);
  expect(changed).toContain(join(volume, 'history.db'));
  expect(changed.filter((path) => path !== volume && !path.startsWith(`${volume}/`))).toEqual([]);
  expect(statSync(join(layout, volume, 'history.db')).uid).toBe(stage.user.uid);
}, 120_000);

describe('the agent from the same image', () => {
  let kube: FakeKubernetes;
  beforeAll(async () => {
    kube = await startFakeKubernetes();
  });
  afterAll(() => kube.close());

  it("runs infra/k8s/deployment.yaml's args as the image user and answers /healthz and /readyz", async () => {
    const kubeconfig = join(work, 'kubeconfig');
    writeFileSync(kubeconfig, kube.kubeconfig(), { mode: 0o644 });
    const container = named('Deployment', 'tagwarden-agent').spec.template.spec.containers[0] as Manifest;
    const secretEnv = (container.env as Manifest[])[0]!.name as string;
    const before = snapshot();
    // In a pod the service account names the cluster; here a kubeconfig names the fake API server.
    const agent = await start([...onLoopback(container.args), `--kubeconfig=${kubeconfig}`], {
      [secretEnv]: AGENT_SECRET,
    });
    try {
      expect((await fetch(`${agent.url}/healthz`)).status).toBe(200);
      const ready = await fetch(`${agent.url}/readyz`);
      expect([ready.status, agent.output()]).toEqual([200, expect.stringContaining('mode patch')]);
    } finally {
      await stopProcess(agent.child);
    }
    expect([...snapshot()].filter(([path, mtime]) => before.get(path) !== mtime)).toEqual([]);
  }, 120_000);
});
