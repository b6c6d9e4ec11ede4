import type { RegistryResolver } from '../../adapters/registry/port';
import { formatTagRef, PermanentError, type Policy, type RegistryEvent } from '../../core';
import { recordEvents } from '../record';
import { done, type Executed } from './executor';

export interface ResolveDeps {
  store: Parameters<typeof recordEvents>[0];
  registries: RegistryResolver;
  /** The policy the resolved push is recorded under; null: resolving fails for good. */
  policy: Policy | null;
  now: () => Date;
}

/**
 * Reads the digest a tag serves now (Docker Hub and Quay send none) and records the push with it,
 * the way every event is recorded: the effects it plans are due now, and runDue's loop picks them up.
 */
export async function resolve(deps: ResolveDeps, event: RegistryEvent): Promise<Executed> {
  const registry = deps.registries(event.registryHost);
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
  if (!deps.policy) throw new PermanentError('this runner has no policy to record resolved events with');
  const resolved = { ...event, id: `${event.id}@${digest}`, digest };
  const [recorded] = await recordEvents(deps.store, deps.policy, [resolved], deps.now().toISOString());
  return done({ kind: 'resolved', digest, transition: recorded!.result.transition.kind });
}
