import { chmodSync, closeSync, existsSync, mkdirSync, openSync } from 'node:fs';
import { dirname } from 'node:path';
import type { ClusterEndpoints } from '../../shared/adapters/cluster/port';
import type { Notifier } from '../../shared/adapters/notify/port';
import type { RegistryClient, RegistryResolver } from '../../shared/adapters/registry/port';
import type { SourceAuthConfig } from '../../shared/auth/source-auth';
import type { ConfigSection } from '../../shared/config/load';
import { EffectRunner } from '../../shared/guard/effects';
import type { EventObserver } from '../../shared/guard/observer';
import { type HistoryStore, SqliteHistoryStore } from '../../shared/history';
import {
  isPostgresUrl,
  PostgresHistoryStore,
  postgresErrorText,
  postgresUrlProblem,
  redactPostgresUrl,
} from '../../shared/history/postgres';
import { jsonLogger, type Logger } from '../../shared/log';
import { CliError } from './cli-io';
import {
  type LocalConfig,
  loadLocalConfig,
  notifierFor,
  registriesFor,
  runnerSettingsFor,
  sourceAuthFor,
} from './dependencies';

/**
 * The local composition root: what every command is built from. Adapters are made from the config
 * once here; the history file is opened by the command that needs it (some refuse a missing file,
 * `serve` creates it), and the effect runner is built over it by `effectRunner`, the only place the
 * local runtime constructs one.
 */
export interface LocalRoot {
  config: LocalConfig;
  log: Logger;
  registries: RegistryResolver;
  notifier: Notifier;
  auth: (source: string) => SourceAuthConfig | null;
  /** The runner over `store`; `observer` is told of every settled attempt (`serve`'s metrics). */
  effectRunner(store: HistoryStore, observer?: Pick<EventObserver, 'effectSettled'>): EffectRunner;
}

/**
 * What a command reads of the config at start: the policy always, and these sections (with their
 * `${VAR}`s); `registries` then only for `registryHosts` when given. Every other notify, cluster or
 * registry setting is read when an effect first uses it, so a cron `sweep` needs neither the Slack URL
 * nor a source token in its environment — and an alert it raises still goes to Slack when it is set.
 * Without `needs`, everything is read at start (serve: a mistake is found before listening).
 */
export interface ConfigNeeds {
  sections: ConfigSection[];
  registryHosts?: string[];
}

export function localRoot(
  configPath: string | undefined,
  log: Logger = jsonLogger(),
  needs?: ConfigNeeds,
): LocalRoot {
  const config = loadLocalConfig(configPath, process.env, needs ?? {});
  const later = (sections: ConfigSection[], registryHosts?: string[]) =>
    loadLocalConfig(config.path ?? undefined, process.env, {
      sections,
      ...(registryHosts ? { registryHosts } : {}),
    }).config;
  const eager = (section: ConfigSection) => !needs || needs.sections.includes(section);
  const readLater = lazyRegistries((host) => registriesFor(later(['registries'], [host])));
  const registries = !eager('registries')
    ? readLater
    : needs?.registryHosts
      ? orLater(registriesFor(config.config), readLater)
      : registriesFor(config.config);
  const notifier = eager('notify')
    ? notifierFor(config.config)
    : lazyNotifier(() => notifierFor(later(['notify'])));
  const settings = runnerSettingsFor(config.config);
  const clusters = eager('clusters')
    ? settings.clusters
    : lazyClusters(() => runnerSettingsFor(later(['clusters'])).clusters);
  return {
    config,
    log,
    registries,
    notifier,
    auth: sourceAuthFor(config.config),
    effectRunner: (store, observer) =>
      new EffectRunner({
        store,
        registries,
        notifier,
        log,
        policy: config.policy,
        ...settings,
        clusters,
        ...(observer && { onSettled: (row, status) => observer.effectSettled(row.kind, status) }),
      }),
  };
}

/** `make` run at the first call (again after a failure: a `${VAR}` set by then is read). */
function once<T>(make: () => T): () => T {
  let made: T | undefined;
  return () => {
    made ??= make();
    return made;
  };
}

/** With only some registries read at start, any other host is read when first asked for. */
function orLater(resolver: RegistryResolver, later: RegistryResolver): RegistryResolver {
  return (host) => resolver(host) ?? later(host);
}

/** One read of the config per host, at its first use. */
function lazyRegistries(make: (host: string) => RegistryResolver): RegistryResolver {
  const made = new Map<string, RegistryClient | null>();
  return (host) => {
    const key = host.toLowerCase();
    if (!made.has(key)) made.set(key, make(key)(key));
    return made.get(key) ?? null;
  };
}

/** Built at first use; a missing `${VAR}` then fails that alert (retried, then dead-lettered), not the command. */
function lazyNotifier(make: () => Notifier): Notifier {
  const get = once(make);
  return {
    get kind() {
      return get().kind;
    },
    send: async (alert) => get().send(alert),
  };
}

function lazyClusters(make: () => ClusterEndpoints): ClusterEndpoints {
  const get = once(make);
  return {
    get count() {
      return get().count;
    },
    namesFor: (ref) => get().namesFor(ref),
    send: async (name, bump) => get().send(name, bump),
  };
}

/**
 * The SQLite history file; with `mustExist`, a missing file is a one-line error instead of a new file.
 * The file keeps raw rejected payloads, so it is the owner's alone: a directory it creates is 0700,
 * and the database and its `-wal`/`-shm` files are 0600 (SQLite gives the latter the mode of the
 * database when it creates them; ones an older version left open to others are tightened).
 */
export function openHistory(
  path: string,
  options: { mustExist?: boolean; backgroundCheckpointMs?: number } = {},
): SqliteHistoryStore {
  if (options.mustExist && !existsSync(path))
    throw new CliError(`history file ${path} does not exist (start tagwarden serve, or pass --db)`);
  if (path !== ':memory:' && !existsSync(path)) {
    mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
    closeSync(openSync(path, 'a', 0o600));
  }
  const store = new SqliteHistoryStore({
    path,
    ...(options.backgroundCheckpointMs ? { backgroundCheckpointMs: options.backgroundCheckpointMs } : {}),
  });
  if (path !== ':memory:') for (const file of [path, `${path}-wal`, `${path}-shm`]) ownerOnly(file);
  return store;
}

/**
 * The history `--db` names: a PostgreSQL URL (`postgres://…`, for several replicas on one database;
 * its schema is migrated on open) or a SQLite file (see `openHistory`). A bad URL or a database that
 * cannot be reached is a one-line CliError that never shows the password.
 */
export async function openStore(
  db: string,
  options: { mustExist?: boolean; backgroundCheckpointMs?: number } = {},
): Promise<HistoryStore> {
  if (!isPostgresUrl(db)) return openHistory(db, options);
  const problem = postgresUrlProblem(db);
  if (problem) throw new CliError(`--db: ${problem}`);
  try {
    return await PostgresHistoryStore.open({ url: db });
  } catch (error) {
    throw new CliError(postgresErrorText(db, error));
  }
}

/** `--db` as it may be shown: a file path as given, a URL without its password. */
export function dbLabel(db: string): string {
  return isPostgresUrl(db) ? redactPostgresUrl(db) : db;
}

/** Makes a file readable and writable by its owner alone; one that is absent or not ours is left be. */
function ownerOnly(file: string): void {
  try {
    chmodSync(file, 0o600);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code !== 'ENOENT' && code !== 'EPERM' && code !== 'EROFS') throw error;
  }
}
