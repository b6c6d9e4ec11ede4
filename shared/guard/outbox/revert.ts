import type { RegistryClient, RegistryResolver } from '../../adapters/registry/port';
import {
  type Digest,
  type Incident,
  KEEP_TAG_PREFIX,
  PermanentError,
  type TagRef,
  TransientError,
} from '../../core';
import type { TagHistory } from '../../history';
import { judgeMove, type MoveDeps, verdictText } from './classify';
import { done, type Executed, registryFor, skipped } from './executor';

export interface RevertDeps extends MoveDeps {
  store: Pick<TagHistory, 'tagState' | 'markPendingRestore' | 'clearPendingRestore' | 'approveDigest'>;
  registries: RegistryResolver;
  now: () => Date;
  /** How long to expect the echo of a revert. */
  restoreWindowMs: number;
}

/** Verify before act, keep the replaced manifest referenced, record the pending restore, then put. */
export async function revert(deps: RevertDeps, incident: Incident, attempt: number): Promise<Executed> {
  const { ref, to } = incident;
  const target = incident.restoreTo ?? incident.from;
  if (!target || !to) throw new PermanentError('revert needs both the digest to restore and the new digest');
  const registry = registryFor(deps.registries, ref.registryHost);
  // Verify before act: only replace what the registry still serves.
  const current = await registry.currentDigest(ref.repository, ref.tag);
  if (current !== to) {
    const recorded = await deps.store.tagState(ref);
    if (recorded?.digest === to) {
      // Our history has no newer event, so the registry has not caught up: distribution notifies
      // before it moves the tag, and other registries are eventually consistent. Look again soon.
      throw new TransientError(
        `the registry does not serve ${to} under the tag yet (it serves ${current ?? 'nothing'}); checking again`,
        Math.min(50 * 2 ** attempt, 8000),
        true,
      );
    }
    return skipped(
      current === target
        ? `the tag already serves ${target} again`
        : `the tag now serves ${current ?? 'nothing'}, not ${to}; a later event decides`,
    );
  }
  // A move that changed no platform's image is left alone unless the rule's `harmless` says revert.
  const judged = await judgeMove(deps, incident, 'revert');
  if (!judged.run) return done(judged.outcome);
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
  const until = new Date(deps.now().getTime() + deps.restoreWindowMs).toISOString();
  if (!(await deps.store.markPendingRestore(ref, { digest: target, from: to, until })))
    return skipped(`the tag moved on since ${to} was pushed; a later event decides`);
  await putBack(deps, registry, ref, target, previous);
  const move = judged.verdict ? { move: verdictText(judged.verdict) } : {};
  return done({ kind: 'reverted', restored: target, offending: to, keptAs, ...move });
}

/**
 * Puts the approved manifest back under the tag. When the registry refuses for good, the pending
 * restore is cleared and the approved digest kept under a keep tag for a person to restore.
 */
async function putBack(
  deps: RevertDeps,
  registry: RegistryClient,
  ref: TagRef,
  target: Digest,
  previous: Parameters<RegistryClient['putManifest']>[2],
): Promise<void> {
  try {
    const put = await registry.putManifest(ref.repository, ref.tag, previous);
    if (put !== target)
      throw new PermanentError(`the registry stored the restored manifest as ${put}, not ${target}`);
  } catch (error) {
    if (!(error instanceof PermanentError)) throw error;
    await deps.store.clearPendingRestore(ref, target);
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
}

/** A tag that keeps a replaced manifest referenced, so retention or GC of untagged manifests spares it. */
export function keepTagFor(digest: string): string {
  const hex = digest.slice(digest.indexOf(':') + 1, digest.indexOf(':') + 13);
  return `${KEEP_TAG_PREFIX}${hex}`;
}
