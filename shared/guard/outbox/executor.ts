import type { RegistryClient, RegistryResolver } from '../../adapters/registry/port';
import { type EffectKind, PermanentError } from '../../core';
import type { EffectOutcome } from './outcome';

/** What running an effect once came to: done with an outcome, or waiting for another effect to settle. */
export type Executed = { status: 'done'; outcome: EffectOutcome } | { status: 'waiting'; until: string };

export function done(outcome: EffectOutcome): Executed {
  return { status: 'done', outcome };
}

export function skipped(reason: string): Executed {
  return done({ kind: 'skipped', reason });
}

/** The registry to act on; without one configured the effect cannot succeed, so it fails for good. */
export function registryFor(registries: RegistryResolver, host: string): RegistryClient {
  const registry = registries(host);
  if (!registry)
    throw new PermanentError(
      `no registry is configured for ${host}; add registries."${host}".url to the config so Tagwarden can act on it`,
    );
  return registry;
}

/** The quick first retries an effect of `kind` gets before the backoff: a revert's, none for the rest. */
export function quickRetriesOf(kind: EffectKind, quickRetriesMs: number[]): number[] {
  return kind === 'revert' ? quickRetriesMs : [];
}
