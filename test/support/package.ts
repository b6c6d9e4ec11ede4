import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { ROOT } from './cli-process';

/**
 * The package as a user (or the image's build stage) installs it: `npm pack`, then `npm install -g` of
 * the tarball into a prefix. npm takes what it can from its cache (`--prefer-offline`: the project's own
 * install filled it), and better-sqlite3 builds as it does for a user (`--allow-scripts`, as the README
 * and the Dockerfile say). A global install never installs devDependencies.
 */
export function npm(args: string[], cwd: string): string {
  return execFileSync('npm', args, {
    cwd,
    encoding: 'utf8',
    env: { ...process.env, npm_config_loglevel: 'error', npm_config_update_notifier: 'false' },
    stdio: ['ignore', 'pipe', 'pipe'],
    maxBuffer: 64 * 1024 * 1024,
  });
}

/** Packs the project into `into` (which must hold no other tarball) and returns the tarball's path. */
export function packProject(into: string): string {
  npm(['pack', '--pack-destination', into], ROOT);
  const packed = readdirSync(into).find((name) => name.endsWith('.tgz'));
  if (!packed) throw new Error(`npm pack wrote no tarball into ${into}`);
  return join(into, packed);
}

/** Installs the tarball globally under `prefix`: the command is then `<prefix>/bin/tagwarden`. */
export function installTarball(tarball: string, prefix: string, cwd: string): void {
  npm(
    [
      'install',
      '--global',
      '--prefix',
      prefix,
      '--prefer-offline',
      '--no-audit',
      '--no-fund',
      '--allow-scripts=better-sqlite3',
      tarball,
    ],
    cwd,
  );
}

export interface InstalledPackage {
  /** The packed tarball (the cache's copy: read it, never change it). */
  tarball: string;
  /** The global prefix it is installed under: `<prefix>/bin/tagwarden`. Shared: never write into it. */
  prefix: string;
}

const CACHE = join(ROOT, '.test-state', 'package');
const LOCK = join(CACHE, 'lock');

/**
 * The project packed and installed once per change of the package: every test file that needs the
 * installed command shares one install (better-sqlite3 compiles in it, for minutes). Under a lock file
 * (so two jest workers never pack or build at once) the project is packed; the install is kept under
 * `.test-state/package/<sha256 of the tarball>/`, made in a scratch directory and renamed into place
 * when complete, and reused while the tarball's bytes are the same (npm pack writes fixed timestamps).
 * Installs of other tarballs are removed then. A lock whose process is gone is taken over.
 */
export async function installedPackage(): Promise<InstalledPackage> {
  mkdirSync(CACHE, { recursive: true });
  await acquireLock();
  try {
    // A run killed mid-install leaves its scratch directory: no one else works in one while we hold the lock.
    for (const left of readdirSync(CACHE).filter((name) => name.startsWith('pack-')))
      rmSync(join(CACHE, left), { recursive: true, force: true });
    const scratch = mkdtempSync(join(CACHE, 'pack-'));
    try {
      const packed = packProject(scratch);
      const sha = createHash('sha256').update(readFileSync(packed)).digest('hex');
      const dir = join(CACHE, sha);
      if (!existsSync(dir)) {
        installTarball(packed, join(scratch, 'prefix'), scratch);
        renameSync(packed, join(scratch, 'package.tgz'));
        for (const old of readdirSync(CACHE).filter((name) => /^[0-9a-f]{64}$/.test(name)))
          rmSync(join(CACHE, old), { recursive: true, force: true });
        renameSync(scratch, dir);
      }
      return { tarball: join(dir, 'package.tgz'), prefix: join(dir, 'prefix') };
    } finally {
      rmSync(scratch, { recursive: true, force: true });
    }
  } finally {
    rmSync(LOCK, { force: true });
  }
}

/** Copies the shared install to `prefix` (symlinks as they are, modes and times kept), for a test that lays it out. */
export function copyInstall(from: InstalledPackage, prefix: string): void {
  cpSync(from.prefix, prefix, { recursive: true, verbatimSymlinks: true, preserveTimestamps: true });
}

/** Takes the lock file (O_EXCL), waiting while a live process holds it; a dead holder's lock is taken over. */
async function acquireLock(): Promise<void> {
  for (;;) {
    try {
      writeFileSync(LOCK, String(process.pid), { flag: 'wx' });
      return;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    if (!holderAlive()) {
      rmSync(LOCK, { force: true });
      continue;
    }
    await delay(500);
  }
}

function holderAlive(): boolean {
  let pid: number;
  try {
    const text = readFileSync(LOCK, 'utf8');
    if (text === '') return true; // being written: look again
    pid = Number(text);
  } catch {
    return true; // just released: look again
  }
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
