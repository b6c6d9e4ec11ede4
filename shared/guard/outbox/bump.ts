import { createHash } from 'node:crypto';
import type { ClusterEndpoints } from '../../adapters/cluster/port';
import type { DigestBump } from '../../contracts/cluster-bump/payload';
import { clusterBumpEventId, type Effect, PermanentError } from '../../core';
import type { Outbox, TagHistory } from '../../history';
import { done, type Executed, skipped } from './executor';

type BumpEffect = Extract<Effect, { kind: 'bump' }>;

export interface BumpDeps {
  store: Pick<Outbox, 'enqueueEffects'> & Pick<TagHistory, 'tagState'>;
  /** Cluster endpoints told when a tag's digest changes; null: bumps are recorded and skipped. */
  clusters: ClusterEndpoints | null;
  now: () => Date;
}

/** A planned bump fans out to its endpoints; a per-cluster bump tells its one endpoint. */
export function bump(deps: BumpDeps, effect: BumpEffect, key: string): Promise<Executed> {
  return effect.cluster === undefined ? fanOut(deps, effect) : tellCluster(deps, effect.cluster, effect, key);
}

/**
 * A planned bump becomes one effect per matching endpoint, enqueued under its own event id: each
 * has its own attempts, backoff and dead letter, so one endpoint down never re-sends to the others.
 * Enqueuing is idempotent, so a crash between here and `done` enqueues nothing twice.
 */
async function fanOut(deps: BumpDeps, effect: BumpEffect): Promise<Executed> {
  const clusters = deps.clusters;
  if (!clusters || clusters.count === 0) return skipped('no cluster endpoints configured');
  const { incident } = effect;
  const names = clusters.namesFor(incident.ref);
  if (names.length === 0)
    return skipped(`no cluster endpoint runs ${incident.ref.repository} (clusters[].repositories)`);
  const now = deps.now().toISOString();
  for (const name of names)
    await deps.store.enqueueEffects(
      clusterBumpEventId(incident.eventId, name),
      [{ ...effect, cluster: name }],
      now,
    );
  // The per-cluster effects are due now; runDue's loop picks them up.
  return done({ kind: 'fannedOut', clusters: names });
}

/** One endpoint, one call: signed at send time, so a retry after an outage is not refused as old. */
async function tellCluster(deps: BumpDeps, name: string, effect: BumpEffect, key: string): Promise<Executed> {
  const { incident } = effect;
  if (!incident.to) throw new PermanentError('a bump needs the digest the tag serves now');
  if (!deps.clusters)
    throw new PermanentError(
      `no cluster endpoints are configured here; cannot tell cluster "${name}" (run it where clusters are configured)`,
    );
  // A bump retried late (a receiver was down, `tagwarden retry`) must not pin workloads to a digest
  // the tag no longer serves: the move that replaced it planned its own bump.
  const state = await deps.store.tagState(incident.ref);
  if (state && state.digest !== incident.to)
    return skipped(
      `the tag now serves ${state.digest ?? 'nothing'}, not ${incident.to}; a later bump tells cluster "${name}"`,
    );
  const message: DigestBump = {
    id: bumpIdOf(key),
    registryHost: incident.ref.registryHost,
    repository: incident.ref.repository,
    tag: incident.ref.tag,
    previousDigest: incident.from,
    digest: incident.to,
    reason: effect.reason,
    timestamp: deps.now().toISOString(),
  };
  return done({ kind: 'delivered', report: await deps.clusters.send(name, message) });
}

/** The contract's `id` (at most 512 characters): the effect key, or its hash when an event id is very long. */
function bumpIdOf(key: string): string {
  return key.length <= 512 ? key : `sha256:${createHash('sha256').update(key).digest('hex')}`;
}
