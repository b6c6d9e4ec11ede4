import type { Digest } from './model';

/**
 * Telling a harmless tag move from a real overwrite, by what the two digests contain. Pure: the
 * outbox fetches the manifests (shared/guard/outbox/classify.ts) and asks `classifyMove`.
 */

/** The moves that change no platform's image. */
export const HARMLESS_CLASSES = [
  'index-grew',
  'attestations-changed',
  'became-index',
  'content-equal',
] as const;
export type HarmlessClass = (typeof HARMLESS_CLASSES)[number];
export type MoveClass = HarmlessClass | 'overwrite';

export type Move =
  /** Every platform image of the old index is in the new one; `added` platforms joined. */
  | { class: 'index-grew'; added: string[] }
  /** The same platform images; only attestation manifests differ. */
  | { class: 'attestations-changed' }
  /** The old digest was a single image manifest and the new index lists it. */
  | { class: 'became-index' }
  /** Other manifest bytes (say, Docker to OCI media types), the same config and layers. */
  | { class: 'content-equal' }
  /** A real overwrite; `changed` names the platforms whose image changed or went away (none for a single image). */
  | { class: 'overwrite'; changed: string[] };

/** An image manifest (OCI or Docker v2): what its image is made of. */
export interface ImageDoc {
  kind: 'image';
  digest: Digest;
  config: Digest;
  layers: Digest[];
}

export interface IndexEntry {
  digest: Digest;
  /** `os/architecture[/variant][@os.version]`, or `unknown` when the entry names none. */
  platform: string;
  /** Annotated `vnd.docker.reference.type: attestation-manifest` (BuildKit's attestation storage). */
  attestation: boolean;
}

/** An image index (OCI) or manifest list (Docker). */
export interface IndexDoc {
  kind: 'index';
  digest: Digest;
  entries: IndexEntry[];
}

export type ManifestDoc = ImageDoc | IndexDoc;

export const ATTESTATION_REFERENCE_TYPE = 'vnd.docker.reference.type';
export const ATTESTATION_MANIFEST = 'attestation-manifest';

/**
 * Reads a manifest's JSON: an index has `manifests`, an image `config` and `layers` (the media type
 * of OCI 1.0 documents is optional, so the shape decides). Throws on anything else (schema 1, not JSON).
 */
export function parseManifestDoc(digest: Digest, text: string): ManifestDoc {
  const value = JSON.parse(text) as Record<string, unknown>;
  if (Array.isArray(value.manifests)) {
    return { kind: 'index', digest, entries: value.manifests.map((entry) => indexEntry(entry)) };
  }
  const config = digestOf(value.config);
  if (config && Array.isArray(value.layers)) {
    return { kind: 'image', digest, config, layers: value.layers.map((layer) => digestOf(layer) ?? '') };
  }
  throw new Error(`${digest} is neither an image manifest nor an index (schema 2 / OCI)`);
}

function digestOf(descriptor: unknown): Digest | null {
  const digest = (descriptor as { digest?: unknown } | null)?.digest;
  return typeof digest === 'string' ? digest : null;
}

function indexEntry(entry: unknown): IndexEntry {
  const e = (entry ?? {}) as {
    digest?: unknown;
    platform?: Record<string, unknown>;
    annotations?: Record<string, unknown>;
  };
  if (typeof e.digest !== 'string') throw new Error('an index entry has no digest');
  return {
    digest: e.digest,
    platform: platformOf(e.platform),
    attestation: e.annotations?.[ATTESTATION_REFERENCE_TYPE] === ATTESTATION_MANIFEST,
  };
}

function platformOf(platform: Record<string, unknown> | undefined): string {
  if (!platform || typeof platform.os !== 'string' || typeof platform.architecture !== 'string')
    return 'unknown';
  const variant = typeof platform.variant === 'string' ? `/${platform.variant}` : '';
  const version = typeof platform['os.version'] === 'string' ? `@${platform['os.version']}` : '';
  return `${platform.os}/${platform.architecture}${variant}${version}`;
}

/**
 * What the move from `before` to `after` is. `children` holds the platform manifests of both indexes
 * that the caller fetched (those whose digest differs), so a platform whose manifest bytes changed but
 * whose config and layers did not counts as unchanged; a child not given counts as changed.
 */
export function classifyMove(
  before: ManifestDoc,
  after: ManifestDoc,
  children: ReadonlyMap<Digest, ManifestDoc> = new Map(),
): Move {
  if (before.kind === 'image' && after.kind === 'image')
    return sameImage(before, after) ? { class: 'content-equal' } : { class: 'overwrite', changed: [] };
  if (before.kind === 'image' && after.kind === 'index') {
    const images = after.entries.filter((e) => !e.attestation);
    return images.some((e) => e.digest === before.digest || sameImage(before, children.get(e.digest)))
      ? { class: 'became-index' }
      : { class: 'overwrite', changed: images.map((e) => e.platform) };
  }
  if (before.kind === 'index' && after.kind === 'image')
    return { class: 'overwrite', changed: platformImages(before).map((e) => e.platform) };
  return compareIndexes(before as IndexDoc, after as IndexDoc, children);
}

function compareIndexes(before: IndexDoc, after: IndexDoc, children: ReadonlyMap<Digest, ManifestDoc>): Move {
  const now = new Map(platformImages(after).map((e) => [e.platform, e.digest]));
  const changed: string[] = [];
  let converted = false;
  for (const old of platformImages(before)) {
    const digest = now.get(old.platform);
    if (digest === old.digest) continue;
    if (digest && sameImage(children.get(old.digest), children.get(digest))) converted = true;
    else changed.push(old.platform);
  }
  if (changed.length > 0) return { class: 'overwrite', changed };
  const had = new Set(platformImages(before).map((e) => e.platform));
  const added = [...now.keys()].filter((platform) => !had.has(platform));
  if (added.length > 0) return { class: 'index-grew', added };
  if (converted) return { class: 'content-equal' };
  const attestations = (doc: IndexDoc) =>
    doc.entries
      .filter((e) => e.attestation)
      .map((e) => e.digest)
      .sort()
      .join();
  return attestations(before) !== attestations(after)
    ? { class: 'attestations-changed' }
    : { class: 'content-equal' };
}

function platformImages(index: IndexDoc): IndexEntry[] {
  return index.entries.filter((e) => !e.attestation);
}

function sameImage(a: ManifestDoc | undefined, b: ManifestDoc | undefined): boolean {
  if (a?.kind !== 'image' || b?.kind !== 'image') return false;
  return (
    a.config === b.config &&
    a.layers.length === b.layers.length &&
    a.layers.every((l, i) => l === b.layers[i])
  );
}

/** The move in words, for alerts and history. */
export function describeMove(move: Move): string {
  switch (move.class) {
    case 'index-grew':
      return `index-grew: the index only gained ${move.added.join(', ')}; no platform's image changed`;
    case 'attestations-changed':
      return 'attestations-changed: only attestation manifests differ; no platform image changed';
    case 'became-index':
      return 'became-index: the old single image is one platform of the new index';
    case 'content-equal':
      return 'content-equal: other manifest bytes, the same config and layers';
    case 'overwrite':
      return move.changed.length > 0
        ? `real overwrite: the image changed for ${move.changed.join(', ')}`
        : 'real overwrite: the image changed';
  }
}

/** At most this many platform manifests are fetched to tell a converted image from a changed one. */
export const MAX_CHILDREN_COMPARED = 32;

/** The platform manifests `classifyMove` needs to look into: those whose digest differs between the two. */
export function childrenToCompare(before: ManifestDoc, after: ManifestDoc): Digest[] {
  if (before.kind === 'image' && after.kind === 'index') {
    const images = after.entries.filter((e) => !e.attestation);
    return images.some((e) => e.digest === before.digest) ? [] : images.map((e) => e.digest);
  }
  if (before.kind !== 'index' || after.kind !== 'index') return [];
  const now = new Map(platformImages(after).map((e) => [e.platform, e.digest]));
  return platformImages(before).flatMap((old) => {
    const digest = now.get(old.platform);
    return digest && digest !== old.digest ? [old.digest, digest] : [];
  });
}
