// One set-up for the end-to-end tests: a real docker-registry whose notifications go to `tagwarden serve`
// (the built CLI, a child process), with Slack's incoming webhook played by a stub that records what it is sent.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SqliteHistoryStore } from '../../shared/history';
import { type RunningRegistry, startRegistry } from './registry';
import { type SlackStub, startSlackStub } from './slack-stub';
import { buildCli, eventually, freePort, type RunningTagwarden, startTagwarden } from './tagwarden';

/** What the config's extra parts may be built from (they are written once both are running). */
export interface GuardedParts {
  registry: RunningRegistry;
  slack: SlackStub;
}

export interface GuardedRegistryOptions {
  /** The policy's `rules:` entries, as YAML (none when absent). */
  rules?: string;
  /** The policy's `defaults:` (default `{ action: alert }`). */
  defaults?: string;
  /** The webhook token: the registry sends it as a Bearer header, the config reads it as `${TAGWARDEN_SOURCE_TOKEN}`. */
  token?: string;
  /** Prefix of the temporary folder that holds the config and the history file. */
  name?: string;
  /** The entries under `sources:` (default: distribution with the token). */
  sources?: string;
  /** More lines under `notify.slack:` besides `webhookUrl` (signingSecret, responseUrlBase). */
  slack?: (parts: GuardedParts) => string;
  /** Other hosts `registries:` points at the registry (e.g. docker.io); `false`: no `registries:` at all. */
  aliases?: string[] | false;
  /** One cluster, named `e2e`, that serve bumps at `url` and whose agent signs with `secret`. */
  cluster?: { url: string; secret: string };
  /** YAML appended to the config (api, effects). */
  extra?: string;
  /** More environment for serve (secrets the config names). */
  env?: Record<string, string>;
  /** Whether the registry notifies serve of its pushes (default true). */
  notifications?: boolean;
}

export interface GuardedRegistry extends GuardedParts {
  tagwarden: RunningTagwarden;
  /** The source token serve accepts (the one the registry's notifications carry). */
  token: string;
  /** The temporary folder (removed by stop). */
  dir: string;
  configPath: string;
  /** Serve's SQLite history file. */
  dbPath: string;
  /** The tag's history rows as `GET /api/tags/<host>/<repository>:<tag>` answers them; [] while it is 404. */
  history<Row = { transition: string; digest: string | null }>(
    repository: string,
    tag: string,
  ): Promise<Row[]>;
  /** Waits until the outbox holds nothing pending: every effect of every recorded event has settled. */
  outboxSettled(): Promise<void>;
  /** Stops serve, the registry and the stub, and removes the folder. */
  stop(): Promise<void>;
}

const SOURCE_TOKEN_VARIABLE = 'TAGWARDEN_SOURCE_TOKEN';
const CLUSTER_SECRET_VARIABLE = 'E2E_CLUSTER_SECRET';
const DEFAULT_TOKEN = 'e2e-source-token-0123456789';

/**
 * Builds the CLI, then starts the stub, the registry and serve on the config the options describe.
 * When one of them fails to start, what did start is stopped before the error is thrown.
 */
export async function startGuardedRegistry(options: GuardedRegistryOptions): Promise<GuardedRegistry> {
  buildCli();
  const token = options.token ?? DEFAULT_TOKEN;
  const dir = mkdtempSync(join(tmpdir(), `tagwarden-${options.name ?? 'e2e'}-`));
  const dbPath = join(dir, 'history.db');
  const configPath = join(dir, 'tagwarden.yaml');
  const stoppers: (() => Promise<void>)[] = [async () => rmSync(dir, { recursive: true, force: true })];
  const stop = async () => {
    for (const stopOne of stoppers.splice(0).reverse()) await stopOne();
  };
  try {
    const slack = await startSlackStub();
    stoppers.push(() => slack.close());
    const port = options.notifications === false ? 0 : await freePort();
    const registry = await startRegistry(
      options.notifications === false
        ? {}
        : {
            notifications: {
              url: `http://127.0.0.1:${port}/webhooks/distribution`,
              headers: { Authorization: [`Bearer ${token}`] },
            },
          },
    );
    stoppers.push(() => registry.stop());
    writeFileSync(configPath, configText(options, { registry, slack }));
    const tagwarden = await startTagwarden(['--port', String(port), '--db', dbPath, '--config', configPath], {
      SLACK_WEBHOOK_URL: slack.url,
      [SOURCE_TOKEN_VARIABLE]: token,
      ...(options.cluster ? { [CLUSTER_SECRET_VARIABLE]: options.cluster.secret } : {}),
      ...options.env,
    });
    stoppers.push(() => tagwarden.stop());
    const history = async <Row>(repository: string, tag: string) => {
      const res = await fetch(`${tagwarden.url}/api/tags/${registry.host}/${repository}:${tag}`);
      if (res.status === 404) return [];
      return ((await res.json()) as { history: Row[] }).history;
    };
    const settled = () => outboxSettled(dbPath);
    return {
      registry,
      slack,
      tagwarden,
      token,
      dir,
      configPath,
      dbPath,
      history,
      outboxSettled: settled,
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}

function configText(options: GuardedRegistryOptions, parts: GuardedParts): string {
  const { registry } = parts;
  const slack = options.slack ? `\n${indent(options.slack(parts), 4)}` : '';
  const sources = options.sources ?? `distribution: { token: "\${${SOURCE_TOKEN_VARIABLE}}" }`;
  const hosts = options.aliases === false ? [] : [registry.host, ...(options.aliases ?? [])];
  const registries = hosts.length
    ? `registries:\n${hosts.map((host) => `  "${host}": { url: "${registry.url}" }\n`).join('')}`
    : '';
  const clusters = options.cluster
    ? `clusters:\n  - name: e2e\n    url: "${options.cluster.url}"\n    secret: "\${${CLUSTER_SECRET_VARIABLE}}"\n`
    : '';
  const rules = options.rules ? `rules:\n${indent(options.rules, 2)}\n` : '';
  return `defaults: ${options.defaults ?? '{ action: alert }'}
${rules}notify:
  slack:
    webhookUrl: "\${SLACK_WEBHOOK_URL}"${slack}
sources:
${indent(sources, 2)}
${registries}${clusters}${options.extra ? `${options.extra.trim()}\n` : ''}`;
}

const indent = (text: string, spaces: number) =>
  text
    .trim()
    .split('\n')
    .map((line) => `${' '.repeat(spaces)}${line}`)
    .join('\n');

async function outboxSettled(dbPath: string): Promise<void> {
  await eventually(async () => {
    const store = new SqliteHistoryStore({ path: dbPath });
    try {
      const row = store.db.prepare("SELECT COUNT(*) AS n FROM outbox WHERE status = 'pending'").get() as {
        n: number;
      };
      return row.n === 0 ? true : undefined;
    } finally {
      await store.close();
    }
  }, 'the outbox to settle');
}
