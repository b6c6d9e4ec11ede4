import { createHash } from 'node:crypto';
import type { DigestBump } from '../adapters/cluster/contract';
import type { ClusterEndpoints } from '../adapters/cluster/port';
import type { Notifier } from '../adapters/notify/port';
import type { RegistryResolver } from '../adapters/registry/port';
import {
  type Alert,
  clusterBumpEventId,
  type Effect,
  type EffectKind,
  errorMessage,
  formatTagRef,
  type Incident,
  KEEP_TAG_PREFIX,
  PermanentError,
  type Policy,
  type RegistryEvent,
  TransientError,
} from '../core';
import type { HistoryStore, OutboxEffect } from '../history';
import type { Logger } from '../log';
import { recordEvents } from './record';

export interface EffectRunnerOptions {
  store: HistoryStore;
  registries: RegistryResolver;
  notifier: Notifier;
  log: Logger;
  /** Cluster endpoints told when a tag's digest changes; left out: bumps are recorded and skipped. */
  clusters?: ClusterEndpoints | null;
  now?: () => Date;
  /** How long a claimed effect is held before another worker may retry it. */
  leaseMs?: number;
  /** How long to expect the echo of a revert. */
  restoreWindowMs?: number;
  maxAttempts?: number;
  backoffBaseMs?: number;
  backoffMaxMs?: number;
  batchSize?: number;
  random?: () => number;
  /** The policy, for recording a push once its digest is resolved. */
  policy?: Policy | null;
  /** Told of every settled attempt (for metrics): done, failed for good, or pending a retry. */
  onSettled?: (row: OutboxEffect, status: 'done' | 'failed' | 'pending', detail: string) => void;
}

type Outcome = { status: 'done'; outcome: string } | { status: 'waiting'; until: string };

/**
 * Runs the outbox: every effect from its persisted decision, with its idempotency key, retried with
 * exponential backoff and jitter on transient failure. A final failure is alerted, never silent.
 */
export class EffectRunner {
  private readonly o: Required<EffectRunnerOptions>;
  private running: Promise<number> | null = null;
  private again = false;
  private timer: NodeJS.Timeout | null = null;

  constructor(options: EffectRunnerOptions) {
    this.o = {
      now: () => new Date(),
      leaseMs: 30_000,
      restoreWindowMs: 10 * 60_000,
      maxAttempts: 8,
      backoffBaseMs: 1000,
      backoffMaxMs: 5 * 60_000,
      batchSize: 50,
      random: Math.random,
      policy: null,
      onSettled: () => {},
      clusters: null,
      ...options,
    };
  }

  /** Polls the outbox every `intervalMs`; `wake()` runs it at once. */
  start(intervalMs = 100): void {
    this.timer = setInterval(() => this.wake(), intervalMs);
    this.timer.unref();
    this.wake();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.running;
  }

  wake(): void {
    void this.runDue().catch((error) =>
      this.o.log.error('outbox run failed', { error: errorMessage(error) }),
    );
  }

  /** Runs every due effect once; returns how many were attempted. Concurrent calls coalesce. */
  async runDue(): Promise<number> {
    if (this.running) {
      this.again = true;
      return this.running;
    }
    this.running = (async () => {
      let total = 0;
      do {
        this.again = false;
        for (;;) {
          const now = this.o.now();
          const batch = await this.o.store.claimDueEffects(
            now.toISOString(),
            new Date(now.getTime() + this.o.leaseMs).toISOString(),
            this.o.batchSize,
          );
          if (batch.length === 0) break;
          for (const effect of batch) await this.runOne(effect);
          total += batch.length;
        }
      } while (this.again);
      return total;
    })().finally(() => {
      this.running = null;
    });
    return this.running;
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
    try {
      const result = await this.execute(row);
      if (result.status === 'waiting') {
        await store.updateEffect(row.key, { status: 'waiting', nextAttemptAt: result.until }, now());
        return;
      }
      await store.updateEffect(row.key, result, now());
      log.info('effect done', { ...fields, outcome: result.outcome });
      this.o.onSettled(row, 'done', result.outcome);
    } catch (error) {
      const message = errorMessage(error);
      const attempts = row.attempts + 1;
      if (error instanceof PermanentError || attempts >= this.o.maxAttempts) {
        await store.updateEffect(row.key, { status: 'failed', error: message }, now());
        log.error('effect failed for good', { ...fields, error: message });
        this.o.onSettled(row, 'failed', message);
        if (row.effect.kind === 'revert') {
          // No echo is coming: a later push of that digest must not pass as our restore.
          const target = row.effect.incident.restoreTo ?? row.effect.incident.from;
          if (target) await store.clearPendingRestore(row.effect.incident.ref, target);
        }
        await this.reportFinalFailure(row, message);
      } else {
        const delay = this.backoff(attempts, error instanceof TransientError ? error.retryAfterMs : null);
        await store.updateEffect(
          row.key,
          {
            status: 'pending',
            error: message,
            nextAttemptAt: new Date(this.o.now().getTime() + delay).toISOString(),
          },
          now(),
        );
        log.warn('effect will be retried', { ...fields, error: message, retryInMs: delay });
        this.o.onSettled(row, 'pending', message);
      }
    }
  }

  private backoff(attempts: number, retryAfterMs: number | null): number {
    if (retryAfterMs !== null) return retryAfterMs;
    const ceiling = Math.min(this.o.backoffMaxMs, this.o.backoffBaseMs * 2 ** (attempts - 1));
    return Math.round(ceiling / 2 + (this.o.random() * ceiling) / 2); // "equal jitter"
  }

  private execute(row: OutboxEffect): Promise<Outcome> {
    const effect = row.effect;
    switch (effect.kind) {
      case 'revert':
        return this.revert(effect.incident, row.attempts);
      case 'lock':
        return this.lock(effect.incident);
      case 'alert':
        return this.alert(effect.incident, effect.after);
      case 'bump':
        return effect.cluster === undefined
          ? this.fanOutBump(effect)
          : this.bumpCluster(effect.cluster, effect, row.key);
      case 'resolve':
        return this.resolve(effect.event);
    }
  }

  /**
   * A planned bump becomes one effect per matching endpoint, enqueued under its own event id: each
   * has its own attempts, backoff and dead letter, so one endpoint down never re-sends to the others.
   * Enqueuing is idempotent, so a crash between here and `done` enqueues nothing twice.
   */
  private async fanOutBump(effect: Extract<Effect, { kind: 'bump' }>): Promise<Outcome> {
    const clusters = this.o.clusters;
    if (!clusters || clusters.count === 0)
      return { status: 'done', outcome: 'skipped: no cluster endpoints configured' };
    const { incident } = effect;
    const names = clusters.namesFor(incident.ref);
    if (names.length === 0)
      return {
        status: 'done',
        outcome: `skipped: no cluster endpoint runs ${incident.ref.repository} (clusters[].repositories)`,
      };
    const now = this.o.now().toISOString();
    for (const name of names)
      await this.o.store.enqueueEffects(
        clusterBumpEventId(incident.eventId, name),
        [{ ...effect, cluster: name }],
        now,
      );
    // The per-cluster effects are due now; runDue's loop picks them up.
    return { status: 'done', outcome: bumpFanOutOutcome(names) };
  }

  /** One endpoint, one call: signed at send time, so a retry after an outage is not refused as old. */
  private async bumpCluster(
    name: string,
    effect: Extract<Effect, { kind: 'bump' }>,
    key: string,
  ): Promise<Outcome> {
    const { incident } = effect;
    if (!incident.to) throw new PermanentError('a bump needs the digest the tag serves now');
    if (!this.o.clusters)
      throw new PermanentError(
        `no cluster endpoints are configured here; cannot tell cluster "${name}" (run it where clusters are configured)`,
      );
    // A bump retried late (a receiver was down, `tagwarden retry`) must not pin workloads to a digest
    // the tag no longer serves: the move that replaced it planned its own bump.
    const state = await this.o.store.tagState(incident.ref);
    if (state && state.digest !== incident.to)
      return {
        status: 'done',
        outcome: `skipped: the tag now serves ${state.digest ?? 'nothing'}, not ${incident.to}; a later bump tells cluster "${name}"`,
      };
    const bump: DigestBump = {
      id: bumpIdOf(key),
      registryHost: incident.ref.registryHost,
      repository: incident.ref.repository,
      tag: incident.ref.tag,
      previousDigest: incident.from,
      digest: incident.to,
      reason: effect.reason,
      timestamp: this.o.now().toISOString(),
    };
    return { status: 'done', outcome: await this.o.clusters.send(name, bump) };
  }

  /** Reads the digest a tag serves now and records the push with it (Docker Hub and Quay send none). */
  private async resolve(event: RegistryEvent): Promise<Outcome> {
    const registry = this.o.registries(event.registryHost);
    if (!registry) {
      throw new PermanentError(
        `cannot resolve the digest of ${formatTagRef(event)}: no registry is configured for ${event.registryHost}; add registries."${event.registryHost}" (url and credentials) to the config`,
      );
    }
    const digest = await registry.currentDigest(event.repository, event.tag);
    if (!digest)
      throw new PermanentError(
        `cannot resolve the digest of ${formatTagRef(event)}: the registry has no such tag now`,
      );
    const resolved = { ...event, id: `${event.id}@${digest}`, digest };
    if (!this.o.policy) throw new PermanentError('this runner has no policy to record resolved events with');
    const [recorded] = await recordEvents(
      this.o.store,
      this.o.policy,
      [resolved],
      this.o.now().toISOString(),
    );
    // Effects the resolved event planned are due now; runDue's loop picks them up.
    return { status: 'done', outcome: `resolved to ${digest}: ${recorded!.result.transition.kind}` };
  }

  /** Verify before act, keep the replaced manifest referenced, record the pending restore, then put. */
  private async revert(incident: Incident, attempt: number): Promise<Outcome> {
    const { ref, to } = incident;
    const target = incident.restoreTo ?? incident.from;
    if (!target || !to)
      throw new PermanentError('revert needs both the digest to restore and the new digest');
    const registry = this.registryFor(ref.registryHost);
    // Verify before act: only replace what the registry still serves.
    const current = await registry.currentDigest(ref.repository, ref.tag);
    if (current !== to) {
      const recorded = await this.o.store.tagState(ref);
      if (recorded?.digest === to) {
        // Our history has no newer event, so the registry has not caught up: distribution notifies
        // before it moves the tag, and other registries are eventually consistent. Look again soon.
        throw new TransientError(
          `the registry does not serve ${to} under the tag yet (it serves ${current ?? 'nothing'}); checking again`,
          Math.min(50 * 2 ** attempt, 8000),
        );
      }
      return {
        status: 'done',
        outcome:
          current === target
            ? `skipped: the tag already serves ${target} again`
            : `skipped: the tag now serves ${current ?? 'nothing'}, not ${to}; a later event decides`,
      };
    }
    const previous = await registry.getManifest(ref.repository, target);
    if (!previous)
      throw new PermanentError(
        `the manifest to restore, ${target}, no longer exists in ${ref.registryHost}/${ref.repository}; cannot revert`,
      );
    // Keep the replaced manifest referenced, so garbage collection of untagged manifests spares it.
    const offending = await registry.getManifest(ref.repository, to);
    const keptAs = offending ? keepTagFor(to) : null;
    if (offending && keptAs) await registry.putManifest(ref.repository, keptAs, offending);
    // Record the restore before the registry call, so its echo is classified `restored`.
    const until = new Date(this.o.now().getTime() + this.o.restoreWindowMs).toISOString();
    if (!(await this.o.store.markPendingRestore(ref, { digest: target, from: to, until }))) {
      return {
        status: 'done',
        outcome: `skipped: the tag moved on since ${to} was pushed; a later event decides`,
      };
    }
    try {
      const put = await registry.putManifest(ref.repository, ref.tag, previous);
      if (put !== target)
        throw new PermanentError(`the registry stored the restored manifest as ${put}, not ${target}`);
    } catch (error) {
      if (!(error instanceof PermanentError)) throw error;
      await this.o.store.clearPendingRestore(ref, target);
      // The tag still serves the offending digest and no tag references the approved one: keep it
      // referenced, so a retention rule for untagged images cannot take what a person will restore.
      const keptTarget = keepTagFor(target);
      try {
        await registry.putManifest(ref.repository, keptTarget, previous);
      } catch {
        throw error;
      }
      throw new PermanentError(`${error.message}; ${target} kept as tag ${keptTarget} for a manual restore`);
    }
    return {
      status: 'done',
      outcome: `reverted to ${target}${keptAs ? `; ${to} kept as tag ${keptAs}` : ''}`,
    };
  }

  private async lock(incident: Incident): Promise<Outcome> {
    const registry = this.o.registries(incident.ref.registryHost);
    if (!registry)
      return {
        status: 'done',
        outcome: `not locked: no registry configured for ${incident.ref.registryHost}`,
      };
    const digest = incident.from ?? incident.to;
    if (!digest) return { status: 'done', outcome: 'not locked: no digest known' };
    const result = await registry.lockTag(incident.ref.repository, incident.ref.tag, digest);
    if (!result.locked)
      this.o.log.warn('tag not locked', { tagRef: formatTagRef(incident.ref), reason: result.reason });
    return { status: 'done', outcome: result.locked ? 'locked' : `not locked: ${result.reason}` };
  }

  private async alert(incident: Incident, after: 'revert' | null): Promise<Outcome> {
    // An alert reports what the effects before it did, so it waits for them to settle.
    const siblings = after ? await this.o.store.effectsOf(incident.eventId) : [];
    const unsettled = siblings
      .filter((e) => e.kind !== 'alert' && e.status === 'pending')
      .map((e) => e.nextAttemptAt)
      .sort();
    if (unsettled.length > 0) {
      const until = Math.max(Date.parse(unsettled[0]!), this.o.now().getTime() + 50);
      return { status: 'waiting', until: new Date(until).toISOString() };
    }
    const revert = siblings.find((e) => e.kind === 'revert');
    const lock = siblings.find((e) => e.kind === 'lock');
    await this.o.notifier.send(buildAlert(incident, revert ?? null, lock ?? null));
    return { status: 'done', outcome: `sent via ${this.o.notifier.kind}` };
  }

  private registryFor(host: string) {
    const registry = this.o.registries(host);
    if (!registry)
      throw new PermanentError(
        `no registry is configured for ${host}; add registries."${host}".url to the config so Tagwarden can act on it`,
      );
    return registry;
  }

  /** Effects an alert does not already report get an alert of their own; an alert that fails is logged. */
  private async reportFinalFailure(row: OutboxEffect, message: string): Promise<void> {
    if (row.kind === 'alert') return;
    const siblings = await this.o.store.effectsOf(row.eventId);
    if (siblings.some((e) => e.kind === 'alert' && e.status !== 'failed')) return; // that alert reports it
    try {
      await this.o.notifier.send({
        incident: row.effect.incident,
        actionTaken: `${row.kind} FAILED after ${row.attempts + 1} attempt(s): ${message}`,
        severity: 'critical',
        title: FAILURE_TITLES[row.kind],
        notes: [
          `Effect ${row.key} is listed by \`tagwarden failed\`; \`tagwarden retry --key ${row.key}\` runs it again.`,
        ],
      });
    } catch (error) {
      this.o.log.error('could not alert about a failed effect', { key: row.key, error: errorMessage(error) });
    }
  }
}

/** The headline of the alert for an effect that failed for good, by kind. */
const FAILURE_TITLES: Record<EffectKind, string> = {
  revert: 'Revert failed',
  lock: 'Tag not locked',
  alert: 'Alert failed',
  bump: 'Cluster not told',
  resolve: 'Push not recorded',
};

const FAN_OUT_PREFIX = 'queued for cluster(s): ';

/** The outcome of a planned bump, listing the endpoints it was queued for. */
export function bumpFanOutOutcome(names: string[]): string {
  return `${FAN_OUT_PREFIX}${names.join(', ')}`;
}

/** The endpoints a planned bump was queued for, read back from its outcome (for `tagwarden history`). */
export function bumpFanOutNames(outcome: string | null): string[] {
  if (!outcome?.startsWith(FAN_OUT_PREFIX)) return [];
  return outcome
    .slice(FAN_OUT_PREFIX.length)
    .split(', ')
    .filter((name) => name !== '');
}

/** The contract's `id` (at most 512 characters): the effect key, or its hash when an event id is very long. */
function bumpIdOf(key: string): string {
  return key.length <= 512 ? key : `sha256:${createHash('sha256').update(key).digest('hex')}`;
}

/** A tag that keeps a replaced manifest referenced, so retention or GC of untagged manifests spares it. */
export function keepTagFor(digest: string): string {
  const hex = digest.slice(digest.indexOf(':') + 1, digest.indexOf(':') + 13);
  return `${KEEP_TAG_PREFIX}${hex}`;
}

export function buildAlert(
  incident: Incident,
  revert: OutboxEffect | null,
  lock: OutboxEffect | null,
): Alert {
  const notes: string[] = [];
  if (lock?.outcome?.startsWith('not locked'))
    notes.push(`Lock: ${lock.outcome.replace(/^not locked: /, 'the tag could not be locked: ')}.`);
  if (lock?.status === 'failed') notes.push(`Lock FAILED: ${lock.lastError}.`);
  if (!revert) {
    return {
      incident,
      actionTaken: `alerted only (rule ${incident.ruleAction}); the tag now serves ${incident.to}`,
      severity: lock?.status === 'failed' ? 'critical' : 'warning',
      notes,
    };
  }
  if (revert.status === 'failed') {
    return {
      incident,
      actionTaken: `revert FAILED: ${revert.lastError}; the tag still serves ${incident.to}`,
      severity: 'critical',
      notes,
    };
  }
  // A skip means a later event (or a person) already decided the tag: worth telling, not paging.
  const settled = revert.outcome?.startsWith('reverted') || revert.outcome?.startsWith('skipped');
  return {
    incident,
    actionTaken: revert.outcome ?? 'revert outcome unknown',
    severity: settled && lock?.status !== 'failed' ? 'warning' : 'critical',
    notes,
  };
}

export function contentDigest(bytes: Buffer): string {
  return `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
}
