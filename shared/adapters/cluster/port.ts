import type { DigestBump } from '../../contracts/cluster-bump/payload';
import type { TagRef } from '../../core';

/** Where digest bumps go: the cluster endpoints of the config, each told on its own. */
export interface ClusterEndpoints {
  /** How many endpoints are configured at all (none: a bump is recorded and skipped). */
  readonly count: number;
  /** The endpoints to tell about a change of this tag, by name. */
  namesFor(ref: TagRef): string[];
  /**
   * Delivers one bump to one endpoint; resolves with what happened. Throws TransientError (retry)
   * or PermanentError (give up); neither message ever carries the endpoint's secret.
   */
  send(name: string, bump: DigestBump): Promise<string>;
}
