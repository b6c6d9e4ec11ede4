import type { TokenCredential } from '@azure/identity';
import { type Command, InvalidArgumentError } from 'commander';
import type { StorageSettings } from '../../shared/adapters/azure/storage';
import { loadConfigFile } from '../../shared/config/load';
import { AZURE_POLICY_HOW_TO, policyFromJson, toPolicy } from '../../shared/config/policy-schema';
import type { Policy } from '../../shared/core';
import { listPoison, openHistoryTable, replayPoison } from '../../shared/guard/poison';
import { jsonLogger, type Logger } from '../../shared/log';

// The Azure SDKs are loaded when a poison command runs (dynamic imports below), so the rest of the
// CLI starts without them.
const azureRuntime = async () => ({
  ...(await import('../../shared/adapters/azure/storage')),
  ...(await import('../../shared/adapters/azure/poison-queue')),
  ...(await import('../../shared/history/table-storage')),
});

type PoisonEnvironment = StorageSettings & { POLICY?: string };

/**
 * `tagwarden azure poison list|replay`: the operator's side of the poison queue. It reaches the same
 * storage account as the Function (by identity with `--storage-account`, or a connection string in
 * TAGWARDEN_STORAGE), and replays with the policy the Function runs, so the effects a replay plans
 * are the ones the Function's timer then carries out.
 */

export interface PoisonCommandDependencies {
  env?: Record<string, string | undefined>;
  credential?: TokenCredential;
  out?: (line: string) => void;
  log?: Logger;
}

interface StorageOptions {
  storageAccount?: string;
  table?: string;
  queue?: string;
  limit: number;
}

function limit(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > 10_000) throw new InvalidArgumentError('expected 1 to 10000');
  return n;
}

/** Adds `poison list` and `poison replay` under the `azure` command. */
export function registerPoisonCommands(azure: Command, dependencies: PoisonCommandDependencies = {}): void {
  const poison = azure
    .command('poison')
    .description('list or replay deliveries the Azure Function could not record (its poison queue)');
  const storage = (command: Command) =>
    command
      .option('--storage-account <name>', 'storage account of the deployment (uses your Azure login)')
      .option('--table <name>', 'history table (default: TAGWARDEN_HISTORY_TABLE or tagwardenhistory)')
      .option('--queue <name>', 'poison queue (default: TAGWARDEN_POISON_QUEUE or tagwarden-poison)');
  storage(poison.command('list').description('show waiting entries: source, reason, when, size'))
    .option('--limit <n>', 'entries to show (a queue peek shows at most 32)', limit, 32)
    .action((options: StorageOptions) => poisonList(options, dependencies));
  storage(
    poison
      .command('replay')
      .description('record waiting entries into history; those that still fail stay in the queue'),
  )
    .option(
      '--config <file>',
      'the policy the Function runs (YAML); default: the POLICY environment variable (JSON)',
    )
    .option('--limit <n>', 'entries to replay at most', limit, 1000)
    .action((options: StorageOptions & { config?: string }) => poisonReplay(options, dependencies));
}

function environment(options: StorageOptions, dependencies: PoisonCommandDependencies): PoisonEnvironment {
  const env = (dependencies.env ?? process.env) as PoisonEnvironment;
  return {
    ...env,
    ...(options.storageAccount
      ? { TAGWARDEN_STORAGE_ACCOUNT: options.storageAccount, TAGWARDEN_STORAGE: undefined }
      : {}),
    ...(options.table ? { TAGWARDEN_HISTORY_TABLE: options.table } : {}),
    ...(options.queue ? { TAGWARDEN_POISON_QUEUE: options.queue } : {}),
  } as PoisonEnvironment;
}

async function credentialOf(dependencies: PoisonCommandDependencies): Promise<TokenCredential> {
  if (dependencies.credential) return dependencies.credential;
  const { DefaultAzureCredential } = await import('@azure/identity');
  return new DefaultAzureCredential();
}

async function poisonList(options: StorageOptions, dependencies: PoisonCommandDependencies): Promise<void> {
  const out = dependencies.out ?? ((line: string) => process.stdout.write(`${line}\n`));
  const { DEFAULT_HISTORY_TABLE, storageClients, StorageQueuePoison } = await azureRuntime();
  const credential = await credentialOf(dependencies);
  const clients = storageClients(environment(options, dependencies), () => credential, DEFAULT_HISTORY_TABLE);
  const entries = await listPoison({ poison: new StorageQueuePoison(clients.queue) }, options.limit);
  if (entries.length === 0) {
    out(`poison queue ${clients.queue.name} is empty`);
    return;
  }
  for (const entry of entries)
    out(
      [
        entry.messageId,
        entry.insertedOn ?? '-',
        entry.source,
        `${entry.bytes} B`,
        `tries=${entry.dequeueCount}`,
        entry.reason,
      ].join('\t'),
    );
}

function policyOf(config: string | undefined, env: Record<string, string | undefined>): Policy {
  if (!config) {
    if (!env.POLICY)
      throw new Error(
        'pass --config <policy.yaml> or set POLICY (JSON): a replay plans effects with the policy',
      );
    return policyFromJson(env.POLICY, AZURE_POLICY_HOW_TO);
  }
  const loaded = loadConfigFile(config, env, { policyOnly: true });
  if (!loaded.ok) throw new Error(loaded.errors.join('\n'));
  return toPolicy(loaded.config);
}

async function poisonReplay(
  options: StorageOptions & { config?: string },
  dependencies: PoisonCommandDependencies,
): Promise<void> {
  const out = dependencies.out ?? ((line: string) => process.stdout.write(`${line}\n`));
  const env = environment(options, dependencies);
  const policy = policyOf(options.config, env as Record<string, string | undefined>);
  const log = dependencies.log ?? jsonLogger();
  const { DEFAULT_HISTORY_TABLE, storageClients, StorageQueuePoison, TableStorageHistoryStore } =
    await azureRuntime();
  const credential = await credentialOf(dependencies);
  const clients = storageClients(env, () => credential, DEFAULT_HISTORY_TABLE);
  const store = await openHistoryTable(
    new TableStorageHistoryStore(clients.table),
    clients.table.tableName,
    log,
  );
  const report = await replayPoison(
    { store, policy, log, poison: new StorageQueuePoison(clients.queue) },
    { limit: options.limit },
  );
  out(
    `replayed ${report.replayed}, still failing ${report.stillFailing} (left in the queue), rejected ${report.rejected} (kept as failed records)`,
  );
  if (report.stillFailing > 0)
    throw new Error(
      `${report.stillFailing} entr${report.stillFailing === 1 ? 'y' : 'ies'} could not be recorded yet; run replay again later`,
    );
}
