import type { RegistryClient, RegistryResolver } from '../../adapters/registry/port';
import {
  type Digest,
  type EffectKind,
  errorMessage,
  type Incident,
  type Policy,
  type PolicyAction,
  ruleFor,
} from '../../core';
import {
  childrenToCompare,
  classifyMove,
  describeMove,
  MAX_CHILDREN_COMPARED,
  type ManifestDoc,
  type Move,
  parseManifestDoc,
} from '../../core/classify-move';
import type { TagHistory } from '../../history';
import type { EffectOutcome } from './outcome';

/** What a move was: classified, or why it could not be (then it counts as a real overwrite). */
export type Verdict = Move | { class: 'unclassified'; reason: string };

/** The verdict in words, for alerts and history. */
export function verdictText(verdict: Verdict): string {
  if (verdict.class === 'unclassified')
    return `could not tell a harmless move from an overwrite (${verdict.reason}); treated as a real overwrite`;
  return describeMove(verdict);
}

/** Parsed manifests by digest, least recently used first out; bounded in entries and in bytes. */
export class ManifestCache {
  private readonly entries = new Map<Digest, { doc: ManifestDoc; size: number }>();
  private bytes = 0;

  constructor(
    private readonly maxEntries = 512,
    private readonly maxBytes = 8 * 1024 * 1024,
  ) {}

  get(digest: Digest): ManifestDoc | undefined {
    const entry = this.entries.get(digest);
    if (!entry) return undefined;
    this.entries.delete(digest);
    this.entries.set(digest, entry);
    return entry.doc;
  }

  set(digest: Digest, doc: ManifestDoc, size: number): void {
    if (size > this.maxBytes) return;
    this.drop(digest);
    this.entries.set(digest, { doc, size });
    this.bytes += size;
    while (this.entries.size > this.maxEntries || this.bytes > this.maxBytes)
      this.drop(this.entries.keys().next().value!);
  }

  get size(): { entries: number; bytes: number } {
    return { entries: this.entries.size, bytes: this.bytes };
  }

  private drop(digest: Digest): void {
    const entry = this.entries.get(digest);
    if (!entry) return;
    this.entries.delete(digest);
    this.bytes -= entry.size;
  }
}

/**
 * Fetches both sides of a move through the registry port (a digest's manifest never changes, so the
 * cache is by digest) and asks the core's `classifyMove`. Any failure is a verdict, never a throw.
 */
export class MoveClassifier {
  constructor(readonly cache = new ManifestCache()) {}

  async verdict(registry: RegistryClient, repository: string, from: Digest, to: Digest): Promise<Verdict> {
    try {
      const before = await this.doc(registry, repository, from);
      const after = await this.doc(registry, repository, to);
      const children = new Map<Digest, ManifestDoc>();
      for (const digest of childrenToCompare(before, after).slice(0, MAX_CHILDREN_COMPARED))
        children.set(digest, await this.doc(registry, repository, digest));
      return classifyMove(before, after, children);
    } catch (error) {
      return { class: 'unclassified', reason: errorMessage(error) };
    }
  }

  private async doc(registry: RegistryClient, repository: string, digest: Digest): Promise<ManifestDoc> {
    const cached = this.cache.get(digest);
    if (cached) return cached;
    const manifest = await registry.getManifest(repository, digest);
    if (!manifest) throw new Error(`the manifest ${digest} no longer exists in ${repository}`);
    const doc = parseManifestDoc(digest, manifest.bytes.toString('utf8'));
    this.cache.set(digest, doc, manifest.bytes.length);
    return doc;
  }
}

/** One classifier (and cache) per runner, found by the runner's registry resolver. */
const classifiers = new WeakMap<RegistryResolver, MoveClassifier>();

function classifierFor(registries: RegistryResolver): MoveClassifier {
  let classifier = classifiers.get(registries);
  if (!classifier) {
    classifier = new MoveClassifier();
    classifiers.set(registries, classifier);
  }
  return classifier;
}

export interface MoveDeps {
  registries: RegistryResolver;
  /** The policy whose rule says what a harmless move does; without one no move is classified. */
  policy?: Policy | null;
  /** Approves a harmless move the rule lets stand, so a later revert restores it. */
  store: Pick<TagHistory, 'approveDigest'>;
}

/** The effects each action plans for an overwrite (see `decide`). */
const EFFECTS_OF: Record<PolicyAction, EffectKind[]> = {
  allow: [],
  alert: ['alert'],
  revert: ['revert', 'alert'],
  lock: ['revert', 'lock', 'alert'],
};

/** Whether the rule's `harmless` action runs an effect of `kind`. */
export function harmlessRuns(action: PolicyAction, kind: EffectKind): boolean {
  return EFFECTS_OF[action].includes(kind);
}

/** What a move means for one effect: run it (knowing the verdict, when there is one) or leave it out. */
export type Judged =
  /** `approved`: a harmless move the rule let stand, now the tag's approved digest (false: it moved on). */
  | { run: true; verdict: Verdict | null; approved?: boolean }
  | { run: false; outcome: Extract<EffectOutcome, { kind: 'harmless' }> };

/** Harmless actions that let the move stand: its digest becomes the approved one. */
const LETS_STAND: readonly PolicyAction[] = ['allow', 'alert'];

/**
 * Before an effect acts on an overwrite: a harmless move (compared with the digest a revert would
 * restore, the last one the policy let stand) runs the effect only when the rule's `harmless` action
 * includes it; a real overwrite, or a move that could not be classified, runs it as before. A harmless
 * move under `allow` or `alert` is approved while the tag still serves it, so a later real overwrite
 * is reverted to it (to the grown index, not the one before).
 */
export async function judgeMove(deps: MoveDeps, incident: Incident, kind: EffectKind): Promise<Judged> {
  const from = incident.restoreTo ?? incident.from;
  const to = incident.to;
  if (!deps.policy || !from || !to || from === to) return { run: true, verdict: null };
  const registry = deps.registries(incident.ref.registryHost);
  const verdict: Verdict = registry
    ? await classifierFor(deps.registries).verdict(registry, incident.ref.repository, from, to)
    : { class: 'unclassified', reason: `no registry is configured for ${incident.ref.registryHost}` };
  if (verdict.class === 'overwrite' || verdict.class === 'unclassified') return { run: true, verdict };
  const action = ruleFor(deps.policy, incident.ref).harmless ?? 'allow';
  const approval = LETS_STAND.includes(action)
    ? { approved: await deps.store.approveDigest(incident.ref, to) }
    : {};
  if (harmlessRuns(action, kind)) return { run: true, verdict, ...approval };
  return {
    run: false,
    outcome: { kind: 'harmless', class: verdict.class, action, move: verdictText(verdict), ...approval },
  };
}
