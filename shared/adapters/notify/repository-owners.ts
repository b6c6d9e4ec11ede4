import type { Alert, TagRef } from '../../core';
import type { Logger } from '../../log';
import type { Notifier } from './port';

/** Owners a registry keeps for a repository (ECR's `tagwarden:owners` resource tag); [] when none. */
export type RepositoryOwners = (ref: TagRef) => Promise<string[]>;

/**
 * Adds the owners a registry keeps for the repository to every alert, after the policy's own owners.
 * Teams can then own their repositories where they already tag them, without a policy change. A
 * lookup that fails never holds an alert back: it goes to the policy's owners with a note saying why.
 */
export class RepositoryOwnersNotifier implements Notifier {
  readonly kind: string;

  constructor(
    private readonly inner: Notifier,
    private readonly ownersOf: RepositoryOwners,
    private readonly log: Logger,
  ) {
    this.kind = inner.kind;
  }

  async send(alert: Alert): Promise<void> {
    const { ref } = alert.incident;
    let extra: string[] = [];
    const notes = [...alert.notes];
    try {
      extra = await this.ownersOf(ref);
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      this.log.warn('repository owners could not be read; alerting the policy owners only', {
        registryHost: ref.registryHost,
        repository: ref.repository,
        reason,
      });
      notes.push(`Owners from the repository's tags could not be read (${reason}).`);
    }
    const owners = [...new Set([...alert.incident.owners, ...extra])];
    await this.inner.send({ ...alert, notes, incident: { ...alert.incident, owners } });
  }
}

/** Remembers each repository's owners for `ttlMs`, so a burst of alerts makes one lookup. */
export function cachedRepositoryOwners(
  ownersOf: RepositoryOwners,
  ttlMs = 5 * 60_000,
  now: () => number = Date.now,
): RepositoryOwners {
  const cache = new Map<string, { owners: string[]; until: number }>();
  return async (ref) => {
    const key = `${ref.registryHost}/${ref.repository}`;
    const hit = cache.get(key);
    if (hit && hit.until > now()) return hit.owners;
    const owners = await ownersOf(ref);
    cache.set(key, { owners, until: now() + ttlMs });
    return owners;
  };
}
