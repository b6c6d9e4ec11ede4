import { chmodSync, closeSync, existsSync, mkdirSync, openSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Notifier } from '../../shared/adapters/notify/port';
import type { RegistryResolver } from '../../shared/adapters/registry/port';
import type { SourceAuthConfig } from '../../shared/auth/source-auth';
import { EffectRunner } from '../../shared/guard/effects';
import { type HistoryStore, SqliteHistoryStore } from '../../shared/history';
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
  effectRunner(store: HistoryStore): EffectRunner;
}

export function localRoot(configPath: string | undefined, log: Logger = jsonLogger()): LocalRoot {
  const config = loadLocalConfig(configPath);
  const registries = registriesFor(config.config);
  const notifier = notifierFor(config.config);
  return {
    config,
    log,
    registries,
    notifier,
    auth: sourceAuthFor(config.config),
    effectRunner: (store) =>
      new EffectRunner({
        store,
        registries,
        notifier,
        log,
        policy: config.policy,
        ...runnerSettingsFor(config.config),
      }),
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

/** Makes a file readable and writable by its owner alone; one that is absent or not ours is left be. */
function ownerOnly(file: string): void {
  try {
    chmodSync(file, 0o600);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code !== 'ENOENT' && code !== 'EPERM' && code !== 'EROFS') throw error;
  }
}
