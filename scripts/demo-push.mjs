// The demo's registry client: pushes a tiny one-layer OCI image over the distribution HTTP API (no
// docker engine needed) and reads the digest a tag serves with a HEAD, as any client would.
import { createHash } from 'node:crypto';

const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';

export const sha256 = (bytes) => `sha256:${createHash('sha256').update(bytes).digest('hex')}`;

async function expectStatus(response, status, what) {
  const body = await response.text();
  if (response.status !== status)
    throw new Error(`${what} answered ${response.status}: ${body.slice(0, 200)}`);
}

/** Monolithic upload: POST opens an upload session, one PUT carries the bytes and `digest=`. */
async function pushBlob(registryUrl, repository, bytes, mediaType) {
  const digest = sha256(bytes);
  const start = await fetch(`${registryUrl}/v2/${repository}/blobs/uploads/`, { method: 'POST' });
  await expectStatus(start, 202, 'blob upload');
  const target = new URL(start.headers.get('location') ?? '', registryUrl);
  target.searchParams.set('digest', digest);
  const put = await fetch(target, {
    method: 'PUT',
    headers: { 'Content-Type': 'application/octet-stream' },
    body: bytes,
  });
  await expectStatus(put, 201, 'blob upload');
  return { mediaType, digest, size: bytes.length };
}

/** Pushes an image whose layer says `text`, under `tag`; returns its manifest digest. */
export async function pushImage(registryUrl, repository, tag, text) {
  const layer = await pushBlob(
    registryUrl,
    repository,
    Buffer.from(`${text}\n`),
    'application/vnd.oci.image.layer.v1.tar',
  );
  const configBytes = Buffer.from(
    JSON.stringify({
      architecture: 'amd64',
      os: 'linux',
      rootfs: { type: 'layers', diff_ids: [layer.digest] },
    }),
  );
  const config = await pushBlob(
    registryUrl,
    repository,
    configBytes,
    'application/vnd.oci.image.config.v1+json',
  );
  const manifest = Buffer.from(
    JSON.stringify({ schemaVersion: 2, mediaType: OCI_MANIFEST, config, layers: [layer] }),
  );
  const put = await fetch(`${registryUrl}/v2/${repository}/manifests/${tag}`, {
    method: 'PUT',
    headers: { 'Content-Type': OCI_MANIFEST },
    body: manifest,
  });
  await expectStatus(put, 201, `manifest PUT ${repository}:${tag}`);
  return sha256(manifest);
}

/** The digest `repository:tag` serves now (`Docker-Content-Digest` of a HEAD), or null. */
export async function servedDigest(registryUrl, repository, tag) {
  const response = await fetch(`${registryUrl}/v2/${repository}/manifests/${tag}`, {
    method: 'HEAD',
    headers: { Accept: OCI_MANIFEST },
  });
  return response.ok ? response.headers.get('docker-content-digest') : null;
}
