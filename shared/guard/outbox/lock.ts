import type { RegistryResolver } from '../../adapters/registry/port';
import { formatTagRef, type Incident } from '../../core';
import type { Logger } from '../../log';
import { judgeMove, type MoveDeps } from './classify';
import { done, type Executed } from './executor';

export interface LockDeps extends MoveDeps {
  registries: RegistryResolver;
  log: Logger;
}

/** Locks the tag on the digest it was approved to serve, where the registry can; says why not where not. */
export async function lock(deps: LockDeps, incident: Incident): Promise<Executed> {
  const registry = deps.registries(incident.ref.registryHost);
  if (!registry)
    return done({ kind: 'notLocked', reason: `no registry configured for ${incident.ref.registryHost}` });
  const digest = incident.from ?? incident.to;
  if (!digest) return done({ kind: 'notLocked', reason: 'no digest known' });
  const judged = await judgeMove(deps, incident, 'lock');
  if (!judged.run) return done(judged.outcome);
  const result = await registry.lockTag(incident.ref.repository, incident.ref.tag, digest);
  if (result.locked) return done({ kind: 'locked' });
  deps.log.warn('tag not locked', { tagRef: formatTagRef(incident.ref), reason: result.reason });
  return done({ kind: 'notLocked', reason: result.reason });
}
