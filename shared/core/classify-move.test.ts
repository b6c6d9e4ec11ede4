import {
  childrenToCompare,
  classifyMove,
  describeMove,
  type ImageDoc,
  type IndexDoc,
  type IndexEntry,
  type ManifestDoc,
  parseManifestDoc,
} from './classify-move';

const d = (c: string) => `sha256:${c.repeat(64).slice(0, 64)}`;
const image = (digest: string, config: string, layers: string[]): ImageDoc => ({
  kind: 'image',
  digest,
  config,
  layers,
});
const entry = (digest: string, platform: string): IndexEntry => ({ digest, platform, attestation: false });
const attestation = (digest: string): IndexEntry => ({
  digest,
  platform: 'unknown/unknown',
  attestation: true,
});
const index = (digest: string, entries: IndexEntry[]): IndexDoc => ({ kind: 'index', digest, entries });

const AMD = d('1');
const ARM = d('2');
const AMD2 = d('3');

describe('classifyMove', () => {
  it('index-grew: every old platform image kept with its digest, platforms added', () => {
    const before = index(d('a'), [entry(AMD, 'linux/amd64')]);
    const after = index(d('b'), [entry(AMD, 'linux/amd64'), entry(ARM, 'linux/arm64')]);
    expect(classifyMove(before, after)).toEqual({ class: 'index-grew', added: ['linux/arm64'] });
  });

  it('index-grew also when the new platform brings its attestation manifest', () => {
    const before = index(d('a'), [entry(AMD, 'linux/amd64'), attestation(d('7'))]);
    const after = index(d('b'), [
      entry(AMD, 'linux/amd64'),
      entry(ARM, 'linux/arm64'),
      attestation(d('8')),
      attestation(d('9')),
    ]);
    expect(classifyMove(before, after).class).toBe('index-grew');
  });

  it('attestations-changed: the same platform images, other attestation manifests', () => {
    const before = index(d('a'), [entry(AMD, 'linux/amd64'), attestation(d('7'))]);
    const after = index(d('b'), [entry(AMD, 'linux/amd64'), attestation(d('8'))]);
    expect(classifyMove(before, after)).toEqual({ class: 'attestations-changed' });
  });

  it('became-index: the old single image is a platform of the new index', () => {
    const before = image(AMD, d('c'), [d('l')]);
    const after = index(d('b'), [entry(AMD, 'linux/amd64'), entry(ARM, 'linux/arm64')]);
    expect(classifyMove(before, after)).toEqual({ class: 'became-index' });
  });

  it('became-index also when the old image is in the index in other bytes (same config and layers)', () => {
    const before = image(AMD, d('c'), [d('l')]);
    const after = index(d('b'), [entry(AMD2, 'linux/amd64')]);
    const children = new Map<string, ManifestDoc>([[AMD2, image(AMD2, d('c'), [d('l')])]]);
    expect(childrenToCompare(before, after)).toEqual([AMD2]);
    expect(classifyMove(before, after, children)).toEqual({ class: 'became-index' });
  });

  it('content-equal: two single manifests, the same config and layers (Docker to OCI media types)', () => {
    expect(
      classifyMove(image(d('a'), d('c'), [d('l'), d('m')]), image(d('b'), d('c'), [d('l'), d('m')])),
    ).toEqual({ class: 'content-equal' });
  });

  it('content-equal: two indexes whose platform manifests differ only in bytes', () => {
    const before = index(d('a'), [entry(AMD, 'linux/amd64')]);
    const after = index(d('b'), [entry(AMD2, 'linux/amd64')]);
    const children = new Map<string, ManifestDoc>([
      [AMD, image(AMD, d('c'), [d('l')])],
      [AMD2, image(AMD2, d('c'), [d('l')])],
    ]);
    expect(childrenToCompare(before, after)).toEqual([AMD, AMD2]);
    expect(classifyMove(before, after, children)).toEqual({ class: 'content-equal' });
  });

  it('overwrite: a platform image changed, named (a child not looked into counts as changed)', () => {
    const before = index(d('a'), [entry(AMD, 'linux/amd64'), entry(ARM, 'linux/arm64')]);
    const after = index(d('b'), [
      entry(AMD2, 'linux/amd64'),
      entry(ARM, 'linux/arm64'),
      entry(d('4'), 'linux/s390x'),
    ]);
    expect(classifyMove(before, after)).toEqual({ class: 'overwrite', changed: ['linux/amd64'] });
    const children = new Map<string, ManifestDoc>([
      [AMD, image(AMD, d('c'), [d('l')])],
      [AMD2, image(AMD2, d('c'), [d('x')])],
    ]);
    expect(classifyMove(before, after, children)).toEqual({ class: 'overwrite', changed: ['linux/amd64'] });
  });

  it('overwrite: a platform that went away is named', () => {
    const before = index(d('a'), [entry(AMD, 'linux/amd64'), entry(ARM, 'linux/arm64')]);
    const after = index(d('b'), [entry(AMD, 'linux/amd64')]);
    expect(classifyMove(before, after)).toEqual({ class: 'overwrite', changed: ['linux/arm64'] });
  });

  it('overwrite: other config or layers of a single image; an index that became one image; an index without the old image', () => {
    expect(classifyMove(image(d('a'), d('c'), [d('l')]), image(d('b'), d('c'), [d('m')]))).toEqual({
      class: 'overwrite',
      changed: [],
    });
    expect(classifyMove(image(d('a'), d('c'), [d('l')]), image(d('b'), d('e'), [d('l')])).class).toBe(
      'overwrite',
    );
    expect(classifyMove(index(d('a'), [entry(AMD, 'linux/amd64')]), image(AMD, d('c'), []))).toEqual({
      class: 'overwrite',
      changed: ['linux/amd64'],
    });
    expect(classifyMove(image(AMD, d('c'), []), index(d('b'), [entry(ARM, 'linux/arm64')]))).toEqual({
      class: 'overwrite',
      changed: ['linux/arm64'],
    });
  });

  it('the same platforms and attestations in other index bytes (say, annotations) are content-equal', () => {
    const before = index(d('a'), [entry(AMD, 'linux/amd64'), attestation(d('7'))]);
    const after = index(d('b'), [attestation(d('7')), entry(AMD, 'linux/amd64')]);
    expect(classifyMove(before, after)).toEqual({ class: 'content-equal' });
  });

  it('names each class and the changed platforms in words', () => {
    expect(describeMove({ class: 'index-grew', added: ['linux/arm64'] })).toContain('index-grew');
    expect(describeMove({ class: 'index-grew', added: ['linux/arm64'] })).toContain('linux/arm64');
    expect(describeMove({ class: 'attestations-changed' })).toContain('attestations-changed');
    expect(describeMove({ class: 'became-index' })).toContain('became-index');
    expect(describeMove({ class: 'content-equal' })).toContain('content-equal');
    expect(describeMove({ class: 'overwrite', changed: ['linux/amd64'] })).toBe(
      'real overwrite: the image changed for linux/amd64',
    );
    expect(describeMove({ class: 'overwrite', changed: [] })).toBe('real overwrite: the image changed');
  });
});

describe('parseManifestDoc', () => {
  it('reads an OCI index: platforms (with variant and os.version) and BuildKit attestation entries', () => {
    const text = JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.index.v1+json',
      manifests: [
        {
          mediaType: 'application/vnd.oci.image.manifest.v1+json',
          digest: AMD,
          size: 1,
          platform: { os: 'linux', architecture: 'amd64' },
        },
        {
          mediaType: 'application/vnd.oci.image.manifest.v1+json',
          digest: ARM,
          size: 1,
          platform: { os: 'linux', architecture: 'arm', variant: 'v7' },
        },
        {
          mediaType: 'application/vnd.oci.image.manifest.v1+json',
          digest: d('5'),
          size: 1,
          platform: { os: 'windows', architecture: 'amd64', 'os.version': '10.0.20348.1' },
        },
        {
          mediaType: 'application/vnd.oci.image.manifest.v1+json',
          digest: d('7'),
          size: 1,
          platform: { os: 'unknown', architecture: 'unknown' },
          annotations: {
            'vnd.docker.reference.type': 'attestation-manifest',
            'vnd.docker.reference.digest': AMD,
          },
        },
      ],
    });
    expect(parseManifestDoc(d('a'), text)).toEqual({
      kind: 'index',
      digest: d('a'),
      entries: [
        entry(AMD, 'linux/amd64'),
        entry(ARM, 'linux/arm/v7'),
        entry(d('5'), 'windows/amd64@10.0.20348.1'),
        { digest: d('7'), platform: 'unknown/unknown', attestation: true },
      ],
    });
  });

  it('reads a Docker v2 image manifest and a manifest list the same way', () => {
    const manifest = JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.docker.distribution.manifest.v2+json',
      config: { mediaType: 'application/vnd.docker.container.image.v1+json', digest: d('c'), size: 1 },
      layers: [{ mediaType: 'application/vnd.docker.image.rootfs.diff.tar.gzip', digest: d('l'), size: 1 }],
    });
    expect(parseManifestDoc(AMD, manifest)).toEqual(image(AMD, d('c'), [d('l')]));
    const list = JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.docker.distribution.manifest.list.v2+json',
      manifests: [{ digest: AMD, size: 1, mediaType: 'x', platform: { os: 'linux', architecture: 'amd64' } }],
    });
    expect(parseManifestDoc(d('a'), list)).toEqual(index(d('a'), [entry(AMD, 'linux/amd64')]));
  });

  it('refuses a schema 1 manifest, an entry without a digest and text that is not JSON', () => {
    expect(() => parseManifestDoc(AMD, JSON.stringify({ schemaVersion: 1, fsLayers: [] }))).toThrow(
      'neither an image manifest nor an index',
    );
    expect(() => parseManifestDoc(AMD, JSON.stringify({ manifests: [{ size: 1 }] }))).toThrow('no digest');
    expect(() => parseManifestDoc(AMD, 'not json')).toThrow();
  });
});
