import { type Command, InvalidArgumentError } from 'commander';
import { SOURCE_PARSERS } from '../../shared/sources';
import { CliError, out } from './cli-io';
import { localRoot, openHistory } from './composition';
import { DEFAULT_DB_PATH } from './dependencies';
import { startLocalService } from './server';

interface ServeOptions {
  port: number;
  host: string;
  db: string;
  config?: string;
}

function port(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535)
    throw new InvalidArgumentError('expected a port number from 0 to 65535');
  return n;
}

export function registerServeCommand(program: Command): void {
  program
    .command('serve')
    .description(
      'run Tagwarden locally: webhook endpoints for every source, SQLite history, the effect outbox',
    )
    .option('--port <port>', 'port to listen on', port, 8080)
    .option(
      '--host <host>',
      'address to bind (keep 127.0.0.1 unless a token is set for every source)',
      '127.0.0.1',
    )
    .option('--db <file>', 'SQLite history file', DEFAULT_DB_PATH)
    .option(
      '--config <file>',
      'policy and settings (default: ./tagwarden.yaml if present, else built-in defaults)',
    )
    .action(serve);
}

/** Addresses only this machine can reach: the read API may stay open on them. */
export function isLoopback(host: string): boolean {
  const bare = host.replace(/^\[|\]$/g, '').toLowerCase();
  return bare === 'localhost' || bare === '::1' || /^127(\.\d{1,3}){3}$/.test(bare);
}

async function serve(options: ServeOptions): Promise<void> {
  const root = localRoot(options.config);
  const apiToken = root.config.config?.api?.token;
  if (!apiToken && !isLoopback(options.host))
    throw new CliError(
      `serve --host ${options.host} listens beyond loopback: set api.token in the config so GET /api/tags requires it`,
    );
  const store = openHistory(options.db, { backgroundCheckpointMs: 1000 });
  const service = await startLocalService(
    {
      store,
      policy: root.config.policy,
      log: root.log,
      auth: root.auth,
      effects: root.effectRunner(store),
      apiToken,
    },
    options,
  ).catch((error: NodeJS.ErrnoException) => {
    throw new CliError(
      error.code === 'EADDRINUSE'
        ? `port ${options.port} on ${options.host} is already in use; pick another with --port`
        : error.message,
    );
  });
  // One write, so a reader of the first line has the rest too.
  const open = [...SOURCE_PARSERS.keys()].filter((s) => !root.auth(s));
  out(
    [
      `Tagwarden listening on http://${options.host}:${service.port} (history ${options.db}, alerts to ${root.notifier.kind})`,
      ...(root.config.notice ? [root.config.notice] : []),
      ...(open.length > 0
        ? [
            `Webhooks accepted without a token from: ${open.join(', ')} (set sources.<name>.token to require one).`,
          ]
        : []),
    ].join('\n'),
  );
  const shutdown = async () => {
    await service.stop();
    await store.close();
    process.exit(0);
  };
  process.once('SIGINT', shutdown);
  process.once('SIGTERM', shutdown);
}
