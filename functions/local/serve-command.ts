import { type Command, InvalidArgumentError } from 'commander';
import { hasCredentials } from '../../shared/auth/source-auth';
import { driftLogOf } from '../../shared/history';
import { isPostgresUrl } from '../../shared/history/postgres';
import { SOURCE_PARSERS } from '../../shared/sources';
import { CliError, out } from './cli-io';
import { dbLabel, localRoot, openStore } from './composition';
import { type DbOptions, historyLocation, withDbOptions } from './db-option';
import { clusterSecrets } from './drift-command';
import { serveMetrics } from './metrics';
import { historyReadiness } from './readiness';
import { startLocalService } from './server';
import { slackActionsFor } from './slack-route';

interface ServeOptions extends DbOptions {
  port: number;
  host: string;
  config?: string;
}

function port(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535)
    throw new InvalidArgumentError('expected a port number from 0 to 65535');
  return n;
}

/** The variable `tagwarden init` names for api.token when its --url is beyond loopback. */
export const API_TOKEN_VAR = 'TAGWARDEN_API_TOKEN';

/** 127.0.0.0/8, ::1 and localhost: the addresses only this machine reaches (open sources and the read API may stay open there). */
export function isLoopback(host: string): boolean {
  const bare = host.replace(/^\[(.*)\]$/, '$1').toLowerCase();
  return bare === 'localhost' || bare === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(bare);
}

export function registerServeCommand(program: Command): void {
  withDbOptions(
    program
      .command('serve')
      .description(
        'run Tagwarden locally: webhook endpoints for every source, SQLite history, the effect outbox',
      )
      .option('--port <port>', 'port to listen on', port, 8080)
      .option(
        '--host <host>',
        'address to bind (beyond loopback only when every enabled source has a token or secret, and api.token is set)',
        '127.0.0.1',
      ),
  )
    .option(
      '--config <file>',
      'policy and settings (default: ./tagwarden.yaml if present, else built-in defaults)',
    )
    .action(serve);
}

async function serve(options: ServeOptions): Promise<void> {
  const root = localRoot(options.config);
  const { enabled, open, apiToken } = listenChecks(root, options.host);
  const db = historyLocation(options);
  const store = await openStore(db, { backgroundCheckpointMs: 1000 });
  const observed = serveMetrics(store);
  const service = await startLocalService(
    {
      store,
      policy: root.config.policy,
      log: root.log,
      auth: root.auth,
      effects: root.effectRunner(store, observed.observer),
      apiToken,
      ...observed,
      slack: slackActionsFor(root.config.config, root.log),
      drift: driftLogOf(store) ?? undefined,
      clusterSecret: clusterSecrets(root.config.config?.clusters ?? []),
      ready: historyReadiness(store, isPostgresUrl(db) ? null : db, root.log),
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
  out(
    [
      `Tagwarden listening on http://${options.host}:${service.port} (history ${dbLabel(db)}, alerts to ${root.notifier.kind})`,
      ...(root.config.notice ? [root.config.notice] : []),
      `Webhooks enabled for: ${enabled.length > 0 ? enabled.join(', ') : 'no source (name them under sources: in the config)'}.`,
      ...(open.length > 0
        ? [
            `Webhooks accepted without a token from: ${open.join(', ')} (set sources.<name>.token to require one).`,
          ]
        : []),
    ].join('\n'),
  );
  // `open: true` in the config: said once more, as a warning, where log collectors look.
  if (open.length > 0 && root.config.config !== null)
    root.log.warn('sources open without credentials', { sources: open });
  const shutdown = async (signal: NodeJS.Signals) => {
    root.log.info('stopping: no new connections; finishing the effect in flight', { signal });
    const { finished, released } = await service.stop();
    await store.close();
    // Released effects are due at once: another serve, retry or sweep on this history takes them.
    root.log.info('stopped', { signal, finishedEffects: finished, releasedEffects: released });
    process.exit(0);
  };
  process.once('SIGINT', shutdown);
  process.once('SIGTERM', shutdown);
}

/** Which sources are enabled and open, refusing an address beyond loopback that would expose either. */
function listenChecks(root: ReturnType<typeof localRoot>, host: string) {
  const enabled = [...SOURCE_PARSERS.keys()].filter((s) => root.auth(s) !== null);
  const open = enabled.filter((s) => !hasCredentials(root.auth(s)));
  if (open.length > 0 && !isLoopback(host))
    throw new CliError(
      `refusing to listen on ${host}: ${open.join(', ')} would accept webhooks without credentials; set sources.<name>.token or secret for each (or keep --host 127.0.0.1)`,
    );
  const apiToken = root.config.config?.api?.token;
  if (!apiToken && !isLoopback(host))
    throw new CliError(
      `serve --host ${host} listens beyond loopback: set api.token in the config so GET /api/tags requires it, e.g. api: { token: "\${${API_TOKEN_VAR}}" } with ${API_TOKEN_VAR} exported (\`tagwarden init --url http://<this host>:<port>\` writes both)`,
    );
  return { enabled, open, apiToken };
}
