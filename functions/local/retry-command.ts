import type { Command } from 'commander';
import { outcomeText } from '../../shared/guard/effects';
import type { HistoryStore, OutboxEffect } from '../../shared/history';
import { jsonLogger, silentLogger } from '../../shared/log';
import { localRoot, openStore } from './composition';
import { type DbOptions, historyLocation, withDbOptions } from './db-option';

/** Failed effects `--all` takes at most in one run. */
const RETRY_ALL_LIMIT = 10_000;

interface RetryOptions extends DbOptions {
  key: string[];
  all?: boolean;
  config?: string;
  verbose?: boolean;
}

const out = (line: string) => process.stdout.write(`${line}\n`);

export function registerRetryCommand(program: Command): void {
  withDbOptions(
    program
      .command('retry')
      .description(
        'run effects that failed for good once more (e.g. a cluster bump after its receiver is back) and report what was delivered',
      )
      .option(
        '--key <key>',
        'an effect key as `tagwarden failed` lists it (repeat for several)',
        (value: string, keys: string[]) => [...keys, value],
        [] as string[],
      )
      .option('--all', 'retry every failed effect'),
  )
    .option('--config <file>', 'clusters, registries and notify settings (default: ./tagwarden.yaml)')
    .option('--verbose', 'print the outbox log (JSON lines) on stderr')
    .action(retry);
}

/**
 * Puts failed effects back in the outbox, due now, through the store port, then runs the outbox once
 * with the config's clusters, registries and notifier. Exits non-zero unless every one was delivered.
 */
async function retry(options: RetryOptions): Promise<void> {
  if (Boolean(options.all) === options.key.length > 0)
    throw new Error('give --key <key> (as `tagwarden failed` lists it) or --all');
  const store = await openStore(historyLocation(options), { mustExist: true });
  try {
    const targets = options.all
      ? await store.failedEffects(RETRY_ALL_LIMIT)
      : await named(store, options.key);
    if (targets.length === 0) {
      out('No failed effects to retry.');
      return;
    }
    // Each effect reads the settings it uses when it runs (a bump needs no Slack URL).
    const root = localRoot(options.config, options.verbose ? jsonLogger() : silentLogger, {
      sections: ['effects'],
    });
    const now = new Date().toISOString();
    for (const effect of targets)
      await store.updateEffect(
        effect.key,
        { status: 'pending', error: effect.lastError ?? 'retried by hand', nextAttemptAt: now },
        now,
      );
    const runner = root.effectRunner(store);
    await runner.runDue();
    let undelivered = 0;
    for (const target of targets) {
      const after = await find(store, target.key);
      if (after?.status === 'done') out(`delivered  ${target.key}: ${outcomeText(after.outcome) ?? ''}`);
      else {
        undelivered += 1;
        if (after?.status === 'failed') out(`failed     ${target.key}: ${after.lastError ?? ''}`);
        else
          out(
            `pending    ${target.key}: ${after?.lastError ?? ''} (tagwarden serve retries it from ${after?.nextAttemptAt ?? 'now'})`,
          );
      }
    }
    if (undelivered > 0)
      throw new Error(`${undelivered} of ${targets.length} effect(s) not delivered (see above)`);
  } finally {
    await store.close();
  }
}

async function named(store: HistoryStore, keys: string[]): Promise<OutboxEffect[]> {
  const effects: OutboxEffect[] = [];
  for (const key of new Set(keys)) {
    const effect = await find(store, key);
    if (!effect) throw new Error(`no effect ${key} in the outbox (\`tagwarden failed\` lists failed keys)`);
    if (effect.status !== 'failed')
      throw new Error(`effect ${key} is ${effect.status}, not failed; only failed effects are retried`);
    effects.push(effect);
  }
  return effects;
}

/** Keys are `<eventId>#<kind>`; the store finds effects by event. */
async function find(store: HistoryStore, key: string): Promise<OutboxEffect | undefined> {
  const hash = key.lastIndexOf('#');
  if (hash <= 0) return undefined;
  return (await store.effectsOf(key.slice(0, hash))).find((e) => e.key === key);
}
