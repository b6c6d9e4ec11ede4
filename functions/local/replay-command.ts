import { existsSync } from 'node:fs';
import Database from 'better-sqlite3';
import { type Command, Option } from 'commander';
import { formatTagRef, type RegistryEvent, ruleFor } from '../../shared/core';
import { decodeRecord, queueExportBodies } from '../../shared/guard/queue-envelope';
import { MemoryHistoryStore, SqliteHistoryStore } from '../../shared/history';
import { isPostgresUrl } from '../../shared/history/postgres';
import { parseJsonBody, parseNormalizedEvent } from '../../shared/sources';
import { CliError, err, out, readBody } from './cli-io';
import { dbLabel } from './composition';
import { type DbOptions, historyLocation, withDbOptions } from './db-option';
import { loadLocalConfig } from './dependencies';
import { type ReplaySummary, replayHistory, replaySummaryText } from './replay-history';
import { historyDocument, readHistoryFile } from './replay-input';

export function registerReplayCommand(program: Command): void {
  withDbOptions(
    program
      .command('replay')
      .description(
        'dry run: feed normalized events (normalize output) through history and policy, print what would happen',
      )
      .requiredOption('--config <file>', 'policy to simulate'),
    new Option('--db <file>', 'start from this history (it is copied, never changed)'),
    'read --db from this environment variable',
  )
    .option(
      '--from-db <file>',
      'replay the history this file recorded (read only) and summarize what differs; - reads tagwarden history --json output',
    )
    .option('--json', 'with --from-db or history input: the summary as JSON, every differing event')
    .argument(
      '[events]',
      'JSON lines of normalize output, a dead-letter-queue export (aws sqs receive-message output), or tagwarden history --json output; - for standard input',
    )
    .action(replay);
}

interface ReplayOptions extends DbOptions<string | undefined> {
  config: string;
  fromDb?: string;
  json?: boolean;
}

/** What replay reads, said when it can read nothing of its input. */
const ACCEPTS =
  'replay reads normalize output (JSON lines), a dead-letter-queue export, or one tagwarden history --json document (file or - for standard input), or a history file with --from-db <file>';

const REPLAY_BATCH = 1000;
/** A replay file holds many events (JSON lines or a DLQ export); larger inputs are split first. */
const MAX_REPLAY_BYTES = 256 * 1024 * 1024;

async function replay(file: string | undefined, options: ReplayOptions): Promise<void> {
  // A simulation reads only the policy: no Slack URL, tokens or registry credentials are needed.
  const local = loadLocalConfig(options.config, process.env, { policyOnly: true });
  if (options.fromDb) {
    if (file) throw new CliError(`replay takes --from-db <file> or events, not both (${ACCEPTS})`);
    if (options.fromDb !== '-') {
      const recorded = readHistoryFile(options.fromDb);
      printSummary(replayHistory(recorded, local.policy), options.fromDb, options);
      return;
    }
  }
  // `--from-db -` is `tagwarden history --json` output on standard input, as the events argument `-` reads it.
  const input = file ?? options.fromDb;
  if (input === undefined) throw new CliError(`no input: ${ACCEPTS}`);
  const text = (await readBody(input, MAX_REPLAY_BYTES)).toString('utf8');
  const recorded = historyDocument(text);
  if (recorded) {
    printSummary(replayHistory(recorded, local.policy), input === '-' ? 'standard input' : input, options);
    return;
  }
  if (options.fromDb)
    throw new CliError(`--from-db - reads one tagwarden history --json document: ${ACCEPTS}`);
  const db = historyLocation(options);
  if (db && isPostgresUrl(db))
    throw new CliError(`replay --db takes a SQLite history file, not a PostgreSQL URL (${dbLabel(db)})`);
  if (db && !existsSync(db)) throw new CliError(`history file ${db} does not exist`);
  // A dry run works on an in-memory copy: the history file is never changed.
  const store = db
    ? new SqliteHistoryStore({
        path: ':memory:',
        database: new Database(inMemoryImage(db)),
      })
    : new MemoryHistoryStore();
  const { events, bad } = eventsToReplay(text);
  // Batches of events commit together (a dry run needs no per-event durability); output stays in order.
  for (let start = 0; start < events.length; start += REPLAY_BATCH) {
    const batch = events.slice(start, start + REPLAY_BATCH);
    const results = await store.applyAll(batch, local.policy, new Date().toISOString());
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
  if (bad > 0 && events.length === 0) throw new CliError(`nothing could be replayed (see above): ${ACCEPTS}`);
  if (bad > 0) throw new CliError(`${bad} item(s) could not be replayed (see above)`);
}

/** The events of a JSON lines file or a DLQ export; what cannot be replayed is said on stderr and counted. */
function eventsToReplay(text: string): { events: RegistryEvent[]; bad: number } {
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
      for (const d of decoded.digestDeletes)
        err(`message ${index + 1}: ${d.id} deletes ${d.repository}@${d.digest} by digest; not simulated`);
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
  return { events, bad };
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
  const json = parseJsonBody(trimmed);
  return json.ok ? queueExportBodies(json.value) : null;
}

function parseLine(line: string, number: number): RegistryEvent | string {
  const json = parseJsonBody(line);
  if (!json.ok) return `line ${number}: ${json.reason}`;
  const parsed = parseNormalizedEvent(json.value);
  return 'problem' in parsed ? `line ${number}: ${parsed.problem}` : parsed.event;
}

function printSummary(summary: ReplaySummary, from: string, options: ReplayOptions): void {
  out(
    options.json
      ? JSON.stringify({ from, ...summary }, null, 2)
      : replaySummaryText(summary, from, options.config),
  );
}
