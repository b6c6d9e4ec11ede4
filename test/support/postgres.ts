import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { chmodSync, chownSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client, type Pool } from 'pg';
import { stopProcess } from './processes';
import { freePort } from './tagwarden';

export const PG_USER = 'tagwarden';
/** Asserted absent from logs and errors: it must be distinctive. */
export const PG_PASSWORD = 'pw-Zq81-never-logged';

export interface RunningPostgres {
  /** `postgres://tagwarden:…@127.0.0.1:<port>/<database>`. */
  url(database?: string): string;
  /** Creates an empty database, for a test that wants one of its own. */
  createDatabase(name: string): Promise<string>;
  /** Creates an empty schema and returns a URL whose connections use it: cheaper than a database. */
  createSchema(name: string): Promise<string>;
  stop(): Promise<void>;
}

/** Debian keeps the server binaries off PATH; `pg_config --bindir` names them. */
function binDir(): string {
  const found = spawnSync('pg_config', ['--bindir'], { encoding: 'utf8' });
  if (found.error || found.status !== 0)
    throw new Error('PostgreSQL is not installed: run scripts/setup.sh --test (it installs postgresql)');
  return found.stdout.trim();
}

/** initdb and postgres refuse to run as root: as root, run them as the `postgres` OS user. */
function asServerUser(command: string, args: string[]): [string, string[]] {
  return process.getuid?.() === 0 ? ['runuser', ['-u', 'postgres', '--', command, ...args]] : [command, args];
}

/**
 * A PostgreSQL server of the test's own: a fresh cluster in a temp dir (password auth, C locale), on
 * a free loopback port with its socket in that dir, ready when a client connects. `stop` ends it and
 * removes the dir.
 */
export async function startPostgres({ readyWithinMs = 30_000 } = {}): Promise<RunningPostgres> {
  const bin = binDir();
  const dir = mkdtempSync(join(tmpdir(), 'tagwarden-pg-'));
  const data = join(dir, 'data');
  writeFileSync(join(dir, 'pw'), PG_PASSWORD);
  if (process.getuid?.() === 0) {
    const [uid, gid] = ['-u', '-g'].map((f) =>
      Number(spawnSync('id', [f, 'postgres'], { encoding: 'utf8' }).stdout),
    );
    chownSync(dir, uid!, gid!);
    chownSync(join(dir, 'pw'), uid!, gid!);
  }
  chmodSync(dir, 0o700);
  const [initCmd, initArgs] = asServerUser(join(bin, 'initdb'), [
    ...['-D', data, '-U', PG_USER, '--pwfile', join(dir, 'pw')],
    ...['--auth', 'scram-sha-256', '--locale', 'C', '-E', 'UTF8', '--no-sync'],
  ]);
  const init = spawnSync(initCmd, initArgs, { encoding: 'utf8' });
  if (init.status !== 0) throw new Error(`initdb failed: ${init.stderr || init.error}`);
  const port = await freePort();
  const [cmd, args] = asServerUser(join(bin, 'postgres'), [
    ...['-D', data, '-k', dir, '-p', String(port), '-c', 'listen_addresses=127.0.0.1'],
    ...['-c', 'fsync=off', '-c', 'max_connections=100'],
  ]);
  const child: ChildProcess = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  for (const stream of [child.stdout!, child.stderr!])
    stream.on('data', (c: Buffer) => (output += c.toString()));
  const url = (database = 'postgres') => `postgres://${PG_USER}:${PG_PASSWORD}@127.0.0.1:${port}/${database}`;
  const stop = async () => {
    await stopProcess(child);
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await connectedWithin(url(), readyWithinMs, child, () => output);
  } catch (error) {
    await stop();
    throw error;
  }
  return {
    url,
    createDatabase: async (name) => {
      await withClient(url(), (client) => client.query(`CREATE DATABASE "${name}"`));
      return url(name);
    },
    createSchema: async (name) => {
      await withClient(url(), (client) => client.query(`CREATE SCHEMA "${name}"`));
      return `${url()}?options=${encodeURIComponent(`-c search_path=${name}`)}`;
    },
    stop,
  };
}

async function withClient<T>(url: string, work: (client: Client) => Promise<T>): Promise<T> {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

/** Connects until it works, the server exits, or the deadline passes. */
async function connectedWithin(url: string, ms: number, child: ChildProcess, output: () => string) {
  const deadline = Date.now() + ms;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`postgres exited (${child.exitCode}): ${output()}`);
    try {
      await withClient(url, (client) => client.query('SELECT 1'));
      return;
    } catch (error) {
      if (Date.now() > deadline) throw new Error(`postgres not ready within ${ms} ms: ${error}\n${output()}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
}

/** Runs `between` once, when a connection of `pool` is about to send its first statement matching `sql`. */
export function beforeNext(pool: Pool, sql: RegExp, between: () => Promise<unknown>): void {
  let armed = true;
  const hooked = new WeakSet<object>();
  // On every checkout: the pool keeps the connections opening the store made, idle.
  pool.on('acquire', (client) => {
    if (hooked.has(client)) return;
    hooked.add(client);
    const query = client.query.bind(client) as (...args: unknown[]) => Promise<unknown>;
    (client as unknown as { query: (...args: unknown[]) => Promise<unknown> }).query = async (...args) => {
      if (armed && typeof args[0] === 'string' && sql.test(args[0].trim())) {
        armed = false;
        await between();
      }
      return query(...args);
    };
  });
}
