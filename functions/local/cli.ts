import { existsSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import Database from 'better-sqlite3';
import { Command, InvalidArgumentError } from 'commander';
import { OciDistributionRegistry } from '../../shared/adapters/registry/oci-distribution';
import {
  errorMessage,
  formatTagRef,
  hostProblem,
  parseTagRef,
  type RegistryEvent,
  repositoryProblem,
  ruleFor,
  tagRefOf,
} from '../../shared/core';
import { EffectRunner } from '../../shared/guard/effects';
import { decodeRecord, queueExportBodies } from '../../shared/guard/queue-envelope';
import { policyPlanner } from '../../shared/guard/record';
import { reconcile } from '../../shared/guard/sweep';
import { type HistoryEntry, MemoryHistoryStore, SqliteHistoryStore } from '../../shared/history';
import { jsonLogger } from '../../shared/log';
import {
  orderedEvent,
  parseJsonBody,
  parseNormalizedEvent,
  parserFor,
  SOURCE_PARSERS,
} from '../../shared/sources';
import { registerAgentCommand } from './agent-command';
import { registerAzureCommands } from './azure-setup-command';
import {
  DEFAULT_DB_PATH,
  loadLocalConfig,
  notifierFor,
  registriesFor,
  runnerSettingsFor,
  sourceAuthFor,
} from './dependencies';
import { readInput } from './read-input';
import { registerRetryCommand } from './retry-command';
import { createLocalServer } from './server';
import { effectsOfTag, effectsTable } from './tag-effects';
import { alignedTable } from './text-table';

/** A failure the user can fix: printed as one `error: …` line, exit 1, no stack trace. */
class CliError extends Error {}

const out = (line: string) => process.stdout.write(`${line}\n`);
const err = (line: string) => process.stderr.write(`${line}\n`);

function port(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535)
    throw new InvalidArgumentError('expected a port number from 0 to 65535');
  return n;
}

export function buildProgram(): Command {
  const program = new Command('tagwarden')
    .description(
      'Guards container image tags: detects overwrites from registry events and allows, alerts, locks or reverts by policy.',
    )
    .version(process.env.npm_package_version ?? '0.1.0')
    .showHelpAfterError('(run with --help for usage)');

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

  program
    .command('normalize')
    .description('print the normalized events of a registry event body, one JSON object per line')
    .requiredOption('--source <source>', `wire format: ${[...SOURCE_PARSERS.keys()].join(', ')}`)
    .argument('<file>', 'the body, or - for standard input')
    .action(normalize);

  program
    .command('replay')
    .description(
      'dry run: feed normalized events (normalize output) through history and policy, print what would happen',
    )
    .requiredOption('--config <file>', 'policy to simulate')
    .option('--db <file>', 'start from this history (it is copied, never changed)')
    .argument(
      '<events>',
      'JSON lines of normalize output, or a dead-letter-queue export (aws sqs receive-message output); - for standard input',
    )
    .action(replay);

  program
    .command('history')
    .description('print the digest history of a tag')
    .argument('<tagRef>', '<registryHost>/<repository>:<tag>')
    .option('--db <file>', 'SQLite history file', DEFAULT_DB_PATH)
    .option('--json', 'print JSON instead of a table')
    .action(history);

  for (const [name, description] of [
    ['sweep', 'compare every tag the registry serves with history and act on differences events missed'],
    [
      'baseline',
      'seed history with every tag the registry serves now, so the first overwrite after install is detected',
    ],
  ] as const) {
    program
      .command(name)
      .description(description)
      .argument(
        '<repositories...>',
        '<registryHost>/<repository>, each a registry configured under registries',
      )
      .option('--db <file>', 'SQLite history file', DEFAULT_DB_PATH)
      .option('--config <file>', 'policy and registries (default: ./tagwarden.yaml)')
      .action((repositories: string[], options: { db: string; config?: string }) =>
        sweep(repositories, options, name === 'baseline'),
      );
  }

  program
    .command('failed')
    .description('list effects that failed for good and events that were rejected')
    .option('--db <file>', 'SQLite history file', DEFAULT_DB_PATH)
    .option('--limit <n>', 'how many of each', (v) => Number.parseInt(v, 10), 50)
    .action(failed);

  registerRetryCommand(program);

  registerAgentCommand(program);

  registerAzureCommands(program);

  return program;
}

async function serve(options: { port: number; host: string; db: string; config?: string }): Promise<void> {
  const log = jsonLogger();
  const local = loadLocalConfig(options.config);
  const store = new SqliteHistoryStore({ path: options.db, backgroundCheckpointMs: 1000 });
  const notifier = notifierFor(local.config);
  const runner = new EffectRunner({
    store,
    registries: registriesFor(local.config),
    notifier,
    log,
    plan: policyPlanner(local.policy),
    ...runnerSettingsFor(local.config),
  });
  const auth = sourceAuthFor(local.config);
  const server = createLocalServer({
    store,
    policy: local.policy,
    log,
    auth,
    onRecorded: () => runner.wake(),
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (error: NodeJS.ErrnoException) =>
      reject(
        new CliError(
          error.code === 'EADDRINUSE'
            ? `port ${options.port} on ${options.host} is already in use; pick another with --port`
            : error.message,
        ),
      ),
    );
    server.listen(options.port, options.host, resolve);
  });
  const { port: bound } = server.address() as AddressInfo;
  out(
    `Tagwarden listening on http://${options.host}:${bound} (history ${options.db}, alerts to ${notifier.kind})`,
  );
  if (local.notice) out(local.notice);
  const open = [...SOURCE_PARSERS.keys()].filter((s) => !auth(s));
  if (open.length > 0)
    out(
      `Webhooks accepted without a token from: ${open.join(', ')} (set sources.<name>.token to require one).`,
    );
  runner.start();
  const shutdown = async () => {
    server.close();
    await runner.stop();
    await store.close();
    process.exit(0);
  };
  process.once('SIGINT', shutdown);
  process.once('SIGTERM', shutdown);
}

async function normalize(file: string, options: { source: string }): Promise<void> {
  const parser = parserFor(options.source);
  if (!parser)
    throw new CliError(
      `unknown source "${options.source}"; known sources: ${[...SOURCE_PARSERS.keys()].join(', ')}`,
    );
  const body = await readBody(file);
  const json = parseJsonBody(body.toString('utf8'), body.length);
  if (!json.ok) throw new CliError(json.reason);
  const parsed = parser.parse(json.value);
  if (!parsed.ok) throw new CliError(parsed.reason);
  for (const item of parsed.items) {
    if (item.kind === 'event') out(JSON.stringify(orderedEvent(item.event)));
    else err(`${item.kind}: ${item.reason}`);
  }
}

const REPLAY_BATCH = 1000;

async function replay(file: string, options: { config: string; db?: string }): Promise<void> {
  // A simulation reads only the policy: no Slack URL, tokens or registry credentials are needed.
  const local = loadLocalConfig(options.config, process.env, { policyOnly: true });
  if (options.db && !existsSync(options.db)) throw new CliError(`history file ${options.db} does not exist`);
  // A dry run works on an in-memory copy: the history file is never changed.
  const store = options.db
    ? new SqliteHistoryStore({
        path: ':memory:',
        database: new Database(inMemoryImage(options.db)),
      })
    : new MemoryHistoryStore();
  const plan = policyPlanner(local.policy);
  const text = (await readBody(file)).toString('utf8');
  const events: RegistryEvent[] = [];
  let bad = 0;
  const dlq = queueExport(text);
  if (dlq) {
    // A dead-letter-queue export: each message is ECR's EventBridge event or events a webhook queued.
    for (const [index, body] of dlq.entries()) {
      const decoded = decodeRecord(body);
      if (!decoded.ok) {
        bad += 1;
        err(`message ${index + 1}: ${decoded.reason}`);
        continue;
      }
      for (const reason of decoded.rejected) err(`message ${index + 1}: rejected: ${reason}`);
      for (const event of decoded.events) {
        if (event.action === 'push' && event.digest === null)
          err(
            `message ${index + 1}: ${event.id} has no digest yet (Docker Hub, Quay); it is resolved when deployed, not in a dry run`,
          );
        else events.push(event);
      }
    }
  }
  for (const [index, line] of (dlq ? [] : text.split('\n')).entries()) {
    if (line.trim() === '') continue;
    const event = parseLine(line, index + 1);
    if (typeof event === 'string') {
      bad += 1;
      err(event);
    } else events.push(event);
  }
  // Batches of events commit together (a dry run needs no per-event durability); output stays in order.
  for (let start = 0; start < events.length; start += REPLAY_BATCH) {
    const batch = events.slice(start, start + REPLAY_BATCH);
    const results = await store.applyAll(batch, plan, new Date().toISOString());
    const printed = batch.map((event, i) => {
      const result = results[i]!;
      const rule = ruleFor(local.policy, event);
      const action = result.effects.length === 0 ? 'none' : rule.action === 'allow' ? 'bump' : rule.action;
      return JSON.stringify({
        id: event.id,
        tagRef: formatTagRef(event),
        transition: result.transition.kind,
        previousDigest: result.previousDigest,
        digest: event.digest,
        action,
      });
    });
    process.stdout.write(`${printed.join('\n')}\n`);
  }
  await store.close();
  if (bad > 0) throw new CliError(`${bad} item(s) could not be replayed (see above)`);
}

/**
 * A copy of a history file to open in memory. The file is in WAL mode, and SQLite cannot open a
 * WAL-mode image in memory ("unable to open database file"): mark the copy as a rollback-journal
 * database (header bytes 18 and 19). The file itself is only read.
 */
function inMemoryImage(path: string): Buffer {
  const source = new Database(path, { readonly: true, fileMustExist: true });
  try {
    const image = source.serialize();
    image[18] = 1;
    image[19] = 1;
    return image;
  } finally {
    source.close();
  }
}

/** The bodies of a DLQ export, when the whole input is one (a JSON lines file is not). */
function queueExport(text: string): string[] | null {
  const trimmed = text.trim();
  if (!trimmed.startsWith('{') || trimmed.includes('\n{')) return null;
  const json = parseJsonBody(trimmed, Buffer.byteLength(trimmed));
  return json.ok ? queueExportBodies(json.value) : null;
}

function parseLine(line: string, number: number): RegistryEvent | string {
  const json = parseJsonBody(line, Buffer.byteLength(line));
  if (!json.ok) return `line ${number}: ${json.reason}`;
  const parsed = parseNormalizedEvent(json.value);
  return 'problem' in parsed ? `line ${number}: ${parsed.problem}` : parsed.event;
}

async function history(text: string, options: { db: string; json?: boolean }): Promise<void> {
  const ref = parseTagRef(text);
  if ('problem' in ref) throw new CliError(ref.problem);
  const store = openExisting(options.db);
  const [state, rows] = [await store.tagState(ref), await store.history(ref)];
  const effects = await effectsOfTag(store, ref, rows);
  await store.close();
  if (rows.length === 0) throw new CliError(`no history for ${formatTagRef(ref)} in ${options.db}`);
  if (options.json) {
    out(
      JSON.stringify(
        { tagRef: formatTagRef(ref), current: state?.digest ?? null, history: rows, effects },
        null,
        2,
      ),
    );
    return;
  }
  out(
    `${formatTagRef(ref)}  serves ${state?.digest ?? '(deleted)'}${state?.pendingRestore ? `  (restoring ${state.pendingRestore.digest})` : ''}`,
  );
  out(table(rows));
  if (effects.length > 0)
    out(`Effects (failed ones are retried with tagwarden retry --key <KEY>):\n${effectsTable(effects)}`);
}

function table(rows: HistoryEntry[]): string {
  const header = ['EVENT TIME', 'TRANSITION', 'ACTION', 'DIGEST', 'PREVIOUS', 'ACTOR', 'EVENT ID'];
  const body = rows.map((r) => [
    r.eventTime,
    r.transition,
    r.action,
    r.digest ?? '-',
    r.previousDigest ?? '-',
    r.actor ?? '-',
    r.eventId,
  ]);
  return alignedTable(header, body);
}

async function sweep(
  targets: string[],
  options: { db: string; config?: string },
  baseline: boolean,
): Promise<void> {
  const local = loadLocalConfig(options.config);
  const registries = registriesFor(local.config);
  const parsed = targets.map((target) => {
    const slash = target.indexOf('/');
    const registryHost = target.slice(0, slash);
    const repository = target.slice(slash + 1);
    const problem =
      slash <= 0
        ? `"${target}" is not <registryHost>/<repository>`
        : (hostProblem(registryHost) ?? repositoryProblem(repository));
    if (problem) throw new CliError(problem);
    const registry = registries(registryHost);
    if (!(registry instanceof OciDistributionRegistry)) {
      throw new CliError(
        `no registry is configured for ${registryHost}; add registries."${registryHost}".url to the config`,
      );
    }
    return { registryHost, repository, registry };
  });
  const log = jsonLogger();
  const store = new SqliteHistoryStore({ path: options.db });
  const runner = new EffectRunner({
    store,
    registries,
    notifier: notifierFor(local.config),
    log,
    plan: policyPlanner(local.policy),
    ...runnerSettingsFor(local.config),
  });
  try {
    for (const { registryHost, repository, registry } of parsed) {
      const tags = await registry.listTags(repository);
      const progress = progressBar(
        `${baseline ? 'baseline' : 'sweep'} ${registryHost}/${repository}`,
        tags.length,
      );
      const observed = [];
      for (const tag of tags) {
        const digest = await registry.currentDigest(repository, tag);
        if (digest) observed.push({ tag, digest, mediaType: null });
        progress.tick();
      }
      progress.done();
      const report = await reconcile(
        { store, policy: local.policy, log },
        { registryHost, repository },
        observed,
        new Date().toISOString(),
        { baseline },
      );
      const changes = report.recorded
        .map(({ event, result }) => `${event.tag} ${result.transition.kind}`)
        .join(', ');
      out(
        `${registryHost}/${repository}: ${report.checked} tags checked, ${report.recorded.length} recorded${changes ? ` (${changes})` : ''}`,
      );
    }
    await runner.runDue();
  } finally {
    await store.close();
  }
}

/** A progress bar on a terminal (stderr); nothing when output is redirected. */
function progressBar(label: string, total: number) {
  const tty = process.stderr.isTTY === true;
  let done = 0;
  const draw = () => {
    const width = 30;
    const filled = total === 0 ? width : Math.round((done / total) * width);
    process.stderr.write(
      `\r${label} [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${done}/${total} tags`,
    );
  };
  return {
    tick() {
      done += 1;
      if (tty) draw();
    },
    done() {
      if (tty) {
        draw();
        process.stderr.write('\n');
      }
    },
  };
}

async function failed(options: { db: string; limit: number }): Promise<void> {
  const store = openExisting(options.db);
  const effects = await store.failedEffects(options.limit);
  const failures = await store.failures(options.limit);
  await store.close();
  out(`Failed effects (${effects.length}):`);
  for (const e of effects)
    out(
      `  ${e.key}  ${formatTagRef(e.effect.incident.ref)}  after ${e.attempts} attempt(s): ${e.lastError ?? ''}`,
    );
  out(`Rejected events (${failures.length}):`);
  for (const f of failures) out(`  #${f.id}  ${f.receivedAt}  ${f.source}: ${f.reason}`);
}

function openExisting(path: string): SqliteHistoryStore {
  if (!existsSync(path))
    throw new CliError(`history file ${path} does not exist (start tagwarden serve, or pass --db)`);
  return new SqliteHistoryStore({ path });
}

async function readBody(file: string): Promise<Buffer> {
  try {
    return await readInput(file);
  } catch (error) {
    throw new CliError(`cannot read ${file}: ${errorMessage(error)}`);
  }
}

/** Entry point for bin/tagwarden.js. */
export async function main(argv: string[]): Promise<void> {
  const program = buildProgram();
  program.exitOverride();
  try {
    await program.parseAsync(argv, { from: 'user' });
  } catch (error) {
    const code = (error as { code?: string }).code;
    if (code === 'commander.helpDisplayed' || code === 'commander.version' || code === 'commander.help')
      process.exit(0);
    if (typeof code === 'string' && code.startsWith('commander.'))
      process.exit((error as { exitCode?: number }).exitCode ?? 1);
    err(`error: ${errorMessage(error).split('\n').join('\nerror: ')}`);
    if (process.env.TAGWARDEN_DEBUG) err(String((error as Error).stack));
    process.exit(1);
  }
}

export { tagRefOf };
