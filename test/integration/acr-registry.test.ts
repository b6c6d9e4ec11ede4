import { createHash } from 'node:crypto';
import { AcrRegistry } from '../../shared/adapters/registry/acr';
import { PermanentError, TransientError } from '../../shared/core';
import { type FakeAcr, startFakeAcr, staticCredential } from '../support/fake-acr';
import { OCI_INDEX, OCI_MANIFEST } from '../support/images';

const REPO = 'team/payments-api';

function sha256(bytes: Buffer): string {
  return `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
}

/** Pretty-printed on purpose: re-serializing it would change the digest. */
function imageManifest(seed: string): Buffer {
  return Buffer.from(
    `{\n   "schemaVersion": 2,\n   "mediaType": "${OCI_MANIFEST}",\n   "config": { "mediaType": "application/vnd.oci.image.config.v1+json", "digest": "${sha256(Buffer.from(seed))}", "size": 2 },\n   "layers": []\n}\n`,
  );
}

function indexOf(children: Buffer[]): Buffer {
  return Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: OCI_INDEX,
      manifests: children.map((c, i) => ({
        mediaType: OCI_MANIFEST,
        digest: sha256(c),
        size: c.length,
        platform: { os: 'linux', architecture: i === 0 ? 'amd64' : 'arm64' },
      })),
    }),
  );
}

describe('AcrRegistry against a stand-in of the ACR data plane', () => {
  let acr: FakeAcr;
  let registry: AcrRegistry;

  beforeAll(async () => {
    acr = await startFakeAcr();
    registry = new AcrRegistry({
      loginServer: acr.loginServer,
      credential: staticCredential('aad-token-1'),
      endpoint: acr.endpoint,
      allowInsecureConnection: true,
    });
  });
  afterAll(() => acr.stop());

  it('reads the digest a tag serves, through the ACR token exchange', async () => {
    const digest = acr.setTag(REPO, '1.0.0', imageManifest('one'), OCI_MANIFEST);
    await expect(registry.currentDigest(REPO, '1.0.0')).resolves.toBe(digest);
    expect(acr.aadTokens).toContain('aad-token-1');
    expect(acr.calls.some((c) => c.status === 401)).toBe(true);
    expect(acr.calls.some((c) => c.path === '/oauth2/token' && c.status === 200)).toBe(true);
    expect(acr.dataCalls().at(-1)).toMatchObject({ method: 'GET', path: `/acr/v1/${REPO}/_tags/1.0.0` });
  });

  it('answers null for a tag, a repository or a manifest that does not exist', async () => {
    await expect(registry.currentDigest(REPO, 'no-such-tag')).resolves.toBeNull();
    await expect(registry.currentDigest('no/such-repo', '1.0.0')).resolves.toBeNull();
    await expect(registry.getManifest(REPO, sha256(Buffer.from('nothing')))).resolves.toBeNull();
  });

  it('reverts with the exact bytes: same digest, same media type', async () => {
    const old = imageManifest('old');
    const oldDigest = acr.setTag(REPO, '2.0.0', old, OCI_MANIFEST);
    const newDigest = acr.setTag(REPO, '2.0.0', imageManifest('new'), OCI_MANIFEST);
    expect(newDigest).not.toBe(oldDigest);

    const manifest = await registry.getManifest(REPO, oldDigest);
    expect(manifest?.bytes.equals(old)).toBe(true);
    expect(manifest?.mediaType).toBe(OCI_MANIFEST);
    await expect(registry.putManifest(REPO, '2.0.0', manifest!)).resolves.toBe(oldDigest);

    expect(acr.tagOf(REPO, '2.0.0')?.digest).toBe(oldDigest);
    expect(acr.manifestOf(REPO, oldDigest)?.bytes.equals(old)).toBe(true);
    const put = acr.dataCalls().find((c) => c.method === 'PUT' && c.path.endsWith('/manifests/2.0.0'));
    expect(put?.contentType).toBe(OCI_MANIFEST);
    expect(put?.body).toBe(old.toString('utf8'));
  });

  it('reverts a multi-arch tag to its OCI index, keeping the index media type', async () => {
    const children = [imageManifest('amd64'), imageManifest('arm64')];
    for (const child of children) acr.putUntagged(REPO, child, OCI_MANIFEST);
    const index = indexOf(children);
    const indexDigest = acr.setTag(REPO, 'multi', index, OCI_INDEX);
    acr.setTag(REPO, 'multi', imageManifest('single'), OCI_MANIFEST);

    const manifest = await registry.getManifest(REPO, indexDigest);
    expect(manifest?.mediaType).toBe(OCI_INDEX);
    await expect(registry.putManifest(REPO, 'multi', manifest!)).resolves.toBe(indexDigest);
    expect(acr.tagOf(REPO, 'multi')?.digest).toBe(indexDigest);
    expect(acr.manifestOf(REPO, indexDigest)?.mediaType).toBe(OCI_INDEX);
  });

  it('refuses to put bytes whose digest is not the stated one, without calling ACR', async () => {
    const before = acr.calls.length;
    const bytes = imageManifest('x');
    await expect(
      registry.putManifest(REPO, '2.0.0', {
        bytes,
        mediaType: OCI_MANIFEST,
        digest: sha256(Buffer.from('y')),
      }),
    ).rejects.toThrow(PermanentError);
    expect(acr.calls.length).toBe(before);
  });

  it('locks the tag against write and delete, and the manifest it serves against delete', async () => {
    const digest = acr.setTag(REPO, '3.0.0', imageManifest('three'), OCI_MANIFEST);
    await expect(registry.lockTag(REPO, '3.0.0', digest)).resolves.toEqual({ locked: true });

    expect(acr.tagOf(REPO, '3.0.0')).toMatchObject({ digest, writeEnabled: false, deleteEnabled: false });
    expect(acr.manifestOf(REPO, digest)).toMatchObject({ deleteEnabled: false, writeEnabled: true });
    const patches = acr.dataCalls().filter((c) => c.method === 'PATCH');
    expect(patches.slice(-2).map((c) => [c.path, JSON.parse(c.body)])).toEqual([
      [`/acr/v1/${REPO}/_tags/3.0.0`, { deleteEnabled: false, writeEnabled: false }],
      [`/acr/v1/${REPO}/_manifests/${digest}`, { deleteEnabled: false }],
    ]);
  });

  it('puts onto a write-locked tag by unlocking it for the put and locking it again', async () => {
    const old = imageManifest('locked-old');
    const oldDigest = acr.setTag(REPO, '4.0.0', old, OCI_MANIFEST);
    const newDigest = acr.setTag(REPO, '4.0.0', imageManifest('locked-new'), OCI_MANIFEST);
    await expect(registry.lockTag(REPO, '4.0.0', newDigest)).resolves.toEqual({ locked: true });

    const manifest = await registry.getManifest(REPO, oldDigest);
    await expect(registry.putManifest(REPO, '4.0.0', manifest!)).resolves.toBe(oldDigest);
    expect(acr.tagOf(REPO, '4.0.0')).toMatchObject({ digest: oldDigest, writeEnabled: false });
    const tagPatches = acr
      .dataCalls()
      .filter((c) => c.method === 'PATCH' && c.path === `/acr/v1/${REPO}/_tags/4.0.0`)
      .map((c) => JSON.parse(c.body).writeEnabled);
    expect(tagPatches).toEqual([false, true, false]);
  });

  it('puts onto an unlocked tag without touching its attributes', async () => {
    const old = imageManifest('unlocked-old');
    const oldDigest = acr.setTag(REPO, '4.2.0', old, OCI_MANIFEST);
    const newDigest = acr.setTag(REPO, '4.2.0', imageManifest('unlocked-new'), OCI_MANIFEST);
    await registry.lockTag(REPO, '4.2.0', newDigest);
    acr.setTagAttributes(REPO, '4.2.0', { writeEnabled: true, deleteEnabled: true }); // unlocked by hand
    const patches = acr.dataCalls().filter((c) => c.method === 'PATCH').length;
    const manifest = await registry.getManifest(REPO, oldDigest);
    await expect(registry.putManifest(REPO, '4.2.0', manifest!)).resolves.toBe(oldDigest);
    expect(acr.dataCalls().filter((c) => c.method === 'PATCH').length).toBe(patches);
    expect(acr.tagOf(REPO, '4.2.0')).toMatchObject({ digest: oldDigest, writeEnabled: true });
  });

  it('locks the tag again even when the put in between fails', async () => {
    const digest = acr.setTag(REPO, '4.1.0', imageManifest('a41'), OCI_MANIFEST);
    await registry.lockTag(REPO, '4.1.0', digest);
    const other = imageManifest('b41');
    acr.intercept(() => undefined); // reading the tag
    acr.intercept(() => undefined); // unlocking it
    acr.intercept((call) => (call.method === 'PUT' ? { status: 503 } : undefined));
    await expect(
      registry.putManifest(REPO, '4.1.0', { bytes: other, mediaType: OCI_MANIFEST, digest: sha256(other) }),
    ).rejects.toThrow(TransientError);
    expect(acr.tagOf(REPO, '4.1.0')).toMatchObject({ digest, writeEnabled: false });
  });

  it('refuses to lock a tag that no longer serves the digest, and changes nothing', async () => {
    const old = acr.setTag(REPO, '5.0.0', imageManifest('five'), OCI_MANIFEST);
    const moved = acr.setTag(REPO, '5.0.0', imageManifest('five-b'), OCI_MANIFEST);
    const patchesBefore = acr.dataCalls().filter((c) => c.method === 'PATCH').length;
    const outcome = await registry.lockTag(REPO, '5.0.0', old);
    expect(outcome).toEqual({ locked: false, reason: expect.stringContaining(`serves ${moved} now`) });
    expect(acr.dataCalls().filter((c) => c.method === 'PATCH').length).toBe(patchesBefore);
    expect(acr.tagOf(REPO, '5.0.0')?.writeEnabled).toBe(true);
    await expect(registry.lockTag(REPO, 'never-pushed', old)).resolves.toMatchObject({ locked: false });
  });

  it('takes the lock back when the tag moved between the check and the lock', async () => {
    const first = acr.setTag(REPO, '6.0.0', imageManifest('six'), OCI_MANIFEST);
    acr.intercept(() => undefined); // the check
    acr.intercept((call) => {
      // Someone pushes just before the lock lands.
      if (call.method === 'PATCH') acr.setTag(REPO, '6.0.0', imageManifest('six-b'), OCI_MANIFEST);
      return undefined;
    });
    const outcome = await registry.lockTag(REPO, '6.0.0', first);
    expect(outcome).toEqual({ locked: false, reason: expect.stringContaining('lock was taken back') });
    expect(acr.tagOf(REPO, '6.0.0')).toMatchObject({ writeEnabled: true, deleteEnabled: true });
    expect(acr.manifestOf(REPO, first)?.deleteEnabled).toBe(true);
  });

  it('classifies 503 and 429 as transient, with the Retry-After delay', async () => {
    acr.setTag(REPO, '7.0.0', imageManifest('seven'), OCI_MANIFEST);
    acr.intercept(() => ({ status: 503, body: { errors: [{ code: 'UNAVAILABLE', message: 'busy' }] } }));
    const unavailable = await registry.currentDigest(REPO, '7.0.0').catch((e: unknown) => e);
    expect(unavailable).toBeInstanceOf(TransientError);
    expect((unavailable as Error).message).toContain('HTTP 503');

    acr.intercept(() => ({ status: 429, headers: { 'Retry-After': '7' } }));
    const throttled = await registry.currentDigest(REPO, '7.0.0').catch((e: unknown) => e);
    expect(throttled).toBeInstanceOf(TransientError);
    expect((throttled as TransientError).retryAfterMs).toBe(7000);
  });

  it('classifies 403 as permanent, saying what was refused and why', async () => {
    const digest = acr.setTag(REPO, '8.0.0', imageManifest('eight'), OCI_MANIFEST);
    acr.intercept(() => undefined);
    acr.intercept(() => ({
      status: 403,
      body: { errors: [{ code: 'DENIED', message: 'requested access to the resource is denied' }] },
    }));
    const error = await registry.lockTag(REPO, '8.0.0', digest).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PermanentError);
    expect((error as Error).message).toMatch(/PATCH tag team\/payments-api:8\.0\.0 .*HTTP 403 \(DENIED\)/);
    expect((error as Error).message).toContain('lacks the permission');
  });

  it('classifies a refused connection as transient', async () => {
    const down = await startFakeAcr();
    await down.stop();
    const unreachable = new AcrRegistry({
      loginServer: down.loginServer,
      credential: staticCredential(),
      endpoint: down.endpoint,
      allowInsecureConnection: true,
    });
    await expect(unreachable.currentDigest(REPO, '1.0.0')).rejects.toThrow(TransientError);
  });

  it('gives up on a call that hangs, as transient', async () => {
    acr.setTag(REPO, '9.0.0', imageManifest('nine'), OCI_MANIFEST);
    const impatient = new AcrRegistry({
      loginServer: acr.loginServer,
      credential: staticCredential(),
      endpoint: acr.endpoint,
      allowInsecureConnection: true,
      timeoutMs: 300,
    });
    await expect(impatient.currentDigest(REPO, '9.0.0')).resolves.toMatch(/^sha256:/);
    acr.intercept(() => ({ status: 0 }));
    const started = Date.now();
    const error = await impatient.currentDigest(REPO, '9.0.0').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TransientError);
    expect(Date.now() - started).toBeLessThan(5000);
  });

  it('rejects bad names before any call, and a plain-http endpoint that is not loopback', async () => {
    const before = acr.calls.length;
    await expect(registry.currentDigest('Bad Repo', '1.0.0')).rejects.toThrow(PermanentError);
    await expect(registry.currentDigest(REPO, '-bad')).rejects.toThrow(PermanentError);
    expect(acr.calls.length).toBe(before);
    expect(
      () =>
        new AcrRegistry({
          loginServer: 'x.azurecr.io',
          credential: staticCredential(),
          endpoint: 'http://10.0.0.1:5000',
          allowInsecureConnection: true,
        }),
    ).toThrow(/loopback/);
    expect(
      () =>
        new AcrRegistry({
          loginServer: acr.loginServer,
          credential: staticCredential(),
          endpoint: acr.endpoint,
        }),
    ).toThrow(/plain http/);
  });
});
