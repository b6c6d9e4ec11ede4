import type { ClusterEndpoints } from '../../adapters/cluster/port';
import type { Notifier } from '../../adapters/notify/port';
import type { RegistryResolver } from '../../adapters/registry/port';
import { errorMessage, formatTagRef, PermanentError, type Policy, TransientError } from '../../core';
import type { Outbox, OutboxEffect, TagHistory } from '../../history';
import type { Logger } from '../../log';
import { alert, localRetryHint, reportFailuresSettledMeanwhile, reportFinalFailure } from './alert';
import { bump } from './bump';
import { type Executed, quickRetriesOf } from './executor';
import { lock } from './lock';
import { encodeOutcome, renderOutcome } from './outcome';
import { type ResolveDeps, resolve } from './resolve';
import { revert } from './revert';

/** Exactly what the runner and its executors ask of the history store. */
export type OutboxStore = Pick<
  Outbox,
  'claimDueEffects' | 'renewLease' | 'updateEffect' | 'effectsOf' | 'enqueueEffects'
> &
  Pick<TagHistory, 'tagState' | 'markPendingRestore' | 'clearPendingRestore' | 'approveDigest'> &
  ResolveDeps['store'];

export interface EffectRunnerOptions {
  store: OutboxStore;
  registries: RegistryResolver;
  notifier: Notifier;
  log: Logger;
  /** Cluster endpoints told when a tag's digest changes; left out: bumps are recorded and skipped. */
  clusters?: ClusterEndpoints | null;
  now?: () => Date;
  /** How long a claimed effect is held before another worker may retry it; renewed as each one starts. */
  leaseMs?: number;
  /** How long to expect the echo of a revert. */
  restoreWindowMs?: number;
  maxAttempts?: number;
  /**
   * The first retries of a revert, in ms, before the backoff: a registry rewriting the tag answers 500
   * or the old digest for tens of ms. They come on top of `maxAttempts`; the backoff after them is unchanged.
   */
  quickRetriesMs?: number[];
  backoffBaseMs?: number;
  backoffMaxMs?: number;
  batchSize?: number;
  random?: () => number;
  /** How long after an overwrite its alert waits for the revert before it goes out saying it is still retried. */
  alertWaitMs?: number;
  /** The policy a push is recorded under once its digest is resolved; left out: resolving fails for good. */
  policy?: Policy;
  /** How to run a failed effect again in this runtime, for the alert about it (default: `tagwarden retry`). */
  retryHint?: (key: string) => string;
  /** Told of every settled attempt (for metrics): done, failed for good, or pending a retry. */
  onSettled?: (row: OutboxEffect, status: 'done' | 'failed' | 'pending', detail: string) => void;
}

type Settings = Required<Omit<EffectRunnerOptions, 'policy' | 'clusters'>> & {
  policy: Policy | null;
  clusters: ClusterEndpoints | null;
};

/**
 * Runs the outbox: claims due effects under a lease, runs each with the executor of its kind, and
 * settles it: done, retried with exponential backoff and jitter, or failed for good and alerted.
 */
/** What stopping the runner did: effects in flight it finished, claimed ones it released. */
export interface StopReport {
  finished: number;
  released: number;
}

export class EffectRunner {
  private readonly o: Settings;
  private running: Promise<number> | null = null;
  private again = false;
  private timer: NodeJS.Timeout | null = null;
  private stopping = false;
  private readonly stopped: StopReport = { finished: 0, released: 0 };

  constructor(options: EffectRunnerOptions) {
    this.o = {
      now: () => new Date(),
      leaseMs: 30_000,
      restoreWindowMs: 10 * 60_000,
      maxAttempts: 8,
      quickRetriesMs: [25, 50, 100],
      alertWaitMs: 5000,
      backoffBaseMs: 1000,
      backoffMaxMs: 5 * 60_000,
      batchSize: 50,
      random: Math.random,
      retryHint: localRetryHint,
      onSettled: () => {},
      ...options,
      policy: options.policy ?? null,
      clusters: options.clusters ?? null,
    };
  }

  /** Polls the outbox every `intervalMs`; `wake()` runs it at once. */
  start(intervalMs = 100): void {
    this.timer = setInterval(() => this.wake(), intervalMs);
    this.timer.unref();
    this.wake();
  }

  /**
   * Stops polling; the effect in flight is finished, and the rest of its claimed batch is released
   * (its lease moved to now) so another process can take them at once instead of after the lease.
   */
  async stop(): Promise<StopReport> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    this.stopping = true;
    await this.running;
    return { ...this.stopped };
  }

  wake(): void {
    void this.runDue().catch((error) =>
      this.o.log.error('outbox run failed', { error: errorMessage(error) }),
    );
  }

  /** Runs every due effect once; returns how many were attempted. Concurrent calls coalesce. */
  async runDue(): Promise<number> {
    if (this.stopping) return 0;
    if (this.running) {
      this.again = true;
      return this.running;
    }
    this.running = this.drain().finally(() => {
      this.running = null;
    });
    return this.running;
  }

  private async drain(): Promise<number> {
    let total = 0;
    do {
      this.again = false;
      for (;;) {
        const now = this.o.now();
        const leaseUntil = this.leaseFrom(now);
        const batch = await this.o.store.claimDueEffects(now.toISOString(), leaseUntil, this.o.batchSize);
        if (batch.length === 0) break;
        const { ran, stopped } = await this.runBatch(batch, leaseUntil);
        total += ran;
        if (stopped) break;
      }
    } while (this.again && !this.stopping);
    return total;
  }

  /** Runs a claimed batch in order; once stopping, releases what it has not started. */
  private async runBatch(
    batch: OutboxEffect[],
    leaseUntil: string,
  ): Promise<{ ran: number; stopped: boolean }> {
    let ran = 0;
    for (const [index, effect] of batch.entries()) {
      if (this.stopping) {
        const now = this.o.now().toISOString();
        for (const rest of batch.slice(index))
          if (await this.o.store.renewLease(rest.key, leaseUntil, now)) this.stopped.released += 1;
        return { ran, stopped: true };
      }
      if (await this.holdFor(effect, leaseUntil)) {
        await this.runOne(effect);
        ran += 1;
        if (this.stopping) this.stopped.finished += 1;
      }
    }
    return { ran, stopped: this.stopping };
  }

  private leaseFrom(now: Date): string {
    return new Date(now.getTime() + this.o.leaseMs).toISOString();
  }

  /**
   * One lease covers one effect: the claim's lease is renewed from now as each effect starts, so an
   * effect late in a slow batch is still ours. Once that lease has passed and another worker claimed
   * the effect, the renewal fails and it is theirs alone to run.
   */
  private async holdFor(row: OutboxEffect, claimedUntil: string): Promise<boolean> {
    if (await this.o.store.renewLease(row.key, claimedUntil, this.leaseFrom(this.o.now()))) return true;
    this.o.log.info('effect left to the worker that claimed it since', { key: row.key, effect: row.kind });
    return false;
  }

  private async runOne(row: OutboxEffect): Promise<void> {
    const { store, log } = this.o;
    const fields = {
      key: row.key,
      eventId: row.eventId,
      tagRef: formatTagRef(row.effect.incident.ref),
      effect: row.kind,
      attempt: row.attempts + 1,
    };
    const now = () => this.o.now().toISOString();
    let result: Executed;
    try {
      result = await this.execute(row);
    } catch (error) {
      await this.settleFailure(row, error, fields);
      return;
    }
    if (result.status === 'waiting') {
      await store.updateEffect(row.key, { status: 'waiting', nextAttemptAt: result.until }, now());
      return;
    }
    await store.updateEffect(row.key, { status: 'done', outcome: encodeOutcome(result.outcome) }, now());
    const text = renderOutcome(result.outcome);
    log.info('effect done', { ...fields, outcome: text });
    this.o.onSettled(row, 'done', text);
    if (result.outcome.kind === 'alerted' && result.outcome.before)
      await reportFailuresSettledMeanwhile(this.o, row.eventId, result.outcome.before);
  }

  /** A failure is retried with backoff, or, when permanent or out of attempts, settled and alerted. */
  private async settleFailure(
    row: OutboxEffect,
    error: unknown,
    fields: Record<string, unknown>,
  ): Promise<void> {
    const { store, log } = this.o;
    const message = errorMessage(error);
    const attempts = row.attempts + 1;
    const now = this.o.now();
    const quick = quickRetriesOf(row.kind, this.o.quickRetriesMs);
    if (error instanceof PermanentError || attempts >= this.o.maxAttempts + quick.length) {
      await store.updateEffect(row.key, { status: 'failed', error: message }, now.toISOString());
      log.error('effect failed for good', { ...fields, error: message });
      this.o.onSettled(row, 'failed', message);
      if (row.effect.kind === 'revert') {
        // No echo is coming: a later push of that digest must not pass as our restore.
        const target = row.effect.incident.restoreTo ?? row.effect.incident.from;
        if (target) await store.clearPendingRestore(row.effect.incident.ref, target);
      }
      await reportFinalFailure(this.o, row, message);
      return;
    }
    const delay = this.backoff(attempts, quick, error instanceof TransientError ? error.retryAfterMs : null);
    const nextAttemptAt = new Date(now.getTime() + delay).toISOString();
    await store.updateEffect(
      row.key,
      { status: 'pending', error: message, nextAttemptAt },
      now.toISOString(),
    );
    // A recheck while the registry catches up is the plan, not a problem: debug, not warn.
    const entry = { ...fields, error: message, retryInMs: delay };
    if (error instanceof TransientError && error.expected) log.debug?.('effect will be retried', entry);
    else log.warn('effect will be retried', entry);
    this.o.onSettled(row, 'pending', message);
  }

  /** The delay before the next attempt: the registry's Retry-After, a quick retry while any is left, or backoff. */
  private backoff(attempts: number, quick: number[], retryAfterMs: number | null): number {
    if (retryAfterMs !== null) return retryAfterMs;
    if (attempts <= quick.length) return quick[attempts - 1]!;
    const ceiling = Math.min(this.o.backoffMaxMs, this.o.backoffBaseMs * 2 ** (attempts - quick.length - 1));
    return Math.round(ceiling / 2 + (this.o.random() * ceiling) / 2); // "equal jitter"
  }

  private execute(row: OutboxEffect): Promise<Executed> {
    const effect = row.effect;
    switch (effect.kind) {
      case 'revert':
        return revert(this.o, effect.incident, row.attempts);
      case 'lock':
        return lock(this.o, effect.incident);
      case 'alert':
        return alert(this.o, effect.incident, effect.after);
      case 'bump':
        return bump(this.o, effect, row.key);
      case 'resolve':
        return resolve(this.o, effect.event);
    }
  }
}
