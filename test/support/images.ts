// Pushes tiny OCI images over the distribution HTTP API (there is no docker engine in tests).
import { createHash } from 'node:crypto';

export const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
export const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';
export const OCI_CONFIG = 'application/vnd.oci.image.config.v1+json';
export const OCI_LAYER_TAR = 'application/vnd.oci.image.layer.v1.tar';

export interface PushedManifest {
  digest: string;
  manifest: Buffer;
  mediaType: string;
}

export interface PushedIndex extends PushedManifest {
  /** The per-platform manifests, pushed by digest (no tag of their own). */
  children: Array<PushedManifest & { platform: { os: string; architecture: string } }>;
}

interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
}

/** Pushes a one-layer image whose config and layer derive from `seed`, and tags it. */
export async function pushImage(
  registryUrl: string,
  repository: string,
  tag: string,
  seed: string,
): Promise<PushedManifest> {
  return pushImageManifest(registryUrl, repository, tag, seed, 'amd64');
}

/** Pushes a two-platform OCI image index (linux/amd64, linux/arm64) under `tag`; children go by digest. */
export async function pushIndex(
  registryUrl: string,
  repository: string,
  tag: string,
  seed: string,
): Promise<PushedIndex> {
  const children: PushedIndex['children'] = [];
  for (const architecture of ['amd64', 'arm64'])
    children.push(await pushPlatformImage(registryUrl, repository, `${seed}/${architecture}`, architecture));
  return pushIndexOf(registryUrl, repository, tag, children, { 'tagwarden.test.seed': seed });
}

/** Pushes a linux image for one architecture by digest (no tag), to list in an index. */
export async function pushPlatformImage(
  registryUrl: string,
  repository: string,
  seed: string,
  architecture: string,
): Promise<PushedIndex['children'][number]> {
  const child = await pushImageManifest(registryUrl, repository, null, seed, architecture);
  return { ...child, platform: { os: 'linux', architecture } };
}

/** Pushes an OCI image index of already pushed platform manifests under `tag`. */
export async function pushIndexOf(
  registryUrl: string,
  repository: string,
  tag: string,
  children: PushedIndex['children'],
  annotations: Record<string, string> = {},
): Promise<PushedIndex> {
  const index = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: OCI_INDEX,
      manifests: children.map((child) => ({
        mediaType: child.mediaType,
        digest: child.digest,
        size: child.manifest.length,
        platform: child.platform,
      })),
      annotations: { 'org.opencontainers.image.ref.name': tag, ...annotations },
    }),
  );
  const digest = await putManifestBytes(registryUrl, repository, tag, index, OCI_INDEX);
  return { digest, manifest: index, mediaType: OCI_INDEX, children };
}

async function pushImageManifest(
  registryUrl: string,
  repository: string,
  tag: string | null,
  seed: string,
  architecture: string,
): Promise<PushedManifest> {
  const layerBytes = tarOf('seed.txt', Buffer.from(`tagwarden test layer, seed ${seed}\n`));
  const layer = await pushBlob(registryUrl, repository, layerBytes, OCI_LAYER_TAR);
  const configBytes = Buffer.from(
    JSON.stringify({
      architecture,
      os: 'linux',
      config: { Labels: { 'tagwarden.test.seed': seed } },
      rootfs: { type: 'layers', diff_ids: [layer.digest] },
    }),
  );
  const config = await pushBlob(registryUrl, repository, configBytes, OCI_CONFIG);
  const manifest = Buffer.from(
    JSON.stringify({ schemaVersion: 2, mediaType: OCI_MANIFEST, config, layers: [layer] }),
  );
  const digest = sha256(manifest);
  const served = await putManifestBytes(registryUrl, repository, tag ?? digest, manifest, OCI_MANIFEST);
  return { digest: served, manifest, mediaType: OCI_MANIFEST };
}

/** Monolithic upload: POST to open an upload session, then one PUT with the bytes and `digest=`. */
export async function pushBlob(
  registryUrl: string,
  repository: string,
  bytes: Buffer,
  mediaType: string,
): Promise<Descriptor> {
  const digest = sha256(bytes);
  const start = await fetch(`${registryUrl}/v2/${repository}/blobs/uploads/`, { method: 'POST' });
  await expectStatus(start, 202, `POST /v2/${repository}/blobs/uploads/`);
  const location = start.headers.get('location');
  if (!location) throw new Error(`POST /v2/${repository}/blobs/uploads/ answered without a Location`);
  const target = new URL(location, registryUrl); // may be relative, may already carry a query
  target.searchParams.set('digest', digest);
  const put = await fetch(target, {
    method: 'PUT',
    headers: { 'Content-Type': 'application/octet-stream', 'Content-Length': String(bytes.length) },
    body: bytes,
  });
  await expectStatus(put, 201, `PUT ${target.pathname}`);
  const served = put.headers.get('docker-content-digest');
  if (served !== null && served !== digest)
    throw new Error(`blob upload: registry says ${served}, we sent ${digest}`);
  return { mediaType, digest, size: bytes.length };
}

/** PUTs manifest bytes under a tag or a digest; returns the digest the registry reports. */
export async function putManifestBytes(
  registryUrl: string,
  repository: string,
  reference: string,
  bytes: Buffer,
  mediaType: string,
): Promise<string> {
  const path = `/v2/${repository}/manifests/${reference}`;
  const response = await fetch(`${registryUrl}${path}`, {
    method: 'PUT',
    headers: { 'Content-Type': mediaType },
    body: bytes,
  });
  await expectStatus(response, 201, `PUT ${path}`);
  const digest = response.headers.get('docker-content-digest') ?? sha256(bytes);
  if (digest !== sha256(bytes))
    throw new Error(`PUT ${path}: registry says ${digest}, bytes are ${sha256(bytes)}`);
  return digest;
}

export function sha256(bytes: Buffer): string {
  return `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
}

async function expectStatus(response: Response, status: number, what: string): Promise<void> {
  const body = await response.text();
  if (response.status !== status)
    throw new Error(`${what} answered ${response.status}, expected ${status}: ${body}`);
}

/** A valid one-file ustar archive (header, data padded to 512, two zero blocks). */
function tarOf(name: string, data: Buffer): Buffer {
  const header = Buffer.alloc(512);
  const field = (offset: number, length: number, value: string) =>
    header.write(value, offset, length, 'ascii');
  const octal = (value: number, length: number) => `${value.toString(8).padStart(length - 1, '0')}\0`;
  field(0, 100, name);
  field(100, 8, octal(0o644, 8));
  field(108, 8, octal(0, 8));
  field(116, 8, octal(0, 8));
  field(124, 12, octal(data.length, 12));
  field(136, 12, octal(0, 12));
  field(148, 8, '        ');
  field(156, 1, '0');
  field(257, 6, 'ustar\0');
  field(263, 2, '00');
  let sum = 0;
  for (const byte of header) sum += byte;
  field(148, 8, `${sum.toString(8).padStart(6, '0')}\0 `);
  const padding = Buffer.alloc((512 - (data.length % 512)) % 512);
  return Buffer.concat([header, data, padding, Buffer.alloc(1024)]);
}
