import { execFileSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
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
