import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { MANIFEST_ACCEPT, OciDistributionRegistry } from '../../shared/adapters/registry/oci-distribution';
import { PermanentError, TransientError } from '../../shared/core/errors';
import { OCI_INDEX, OCI_MANIFEST, pushImage, pushIndex } from '../support/images';
import { type RunningRegistry, startRegistry } from '../support/registry';

const sha256 = (bytes: Buffer) => `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
const MISSING = `sha256:${'0'.repeat(64)}`;

describe('OciDistributionRegistry against a real distribution registry', () => {
  let registry: RunningRegistry;
  let client: OciDistributionRegistry;

  beforeAll(async () => {
    registry = await startRegistry();
    client = new OciDistributionRegistry({ url: registry.url, timeoutMs: 5000 });
  }, 20_000);
  afterAll(async () => {
    await registry?.stop();
  });

  it('follows a tag across two pushes, serves exact bytes, and restores the first digest on put', async () => {
    const first = await pushImage(registry.url, 'team/payments-api', '1.4.2', 'first');
    expect(await client.currentDigest('team/payments-api', '1.4.2')).toBe(first.digest);

    const second = await pushImage(registry.url, 'team/payments-api', '1.4.2', 'second');
    expect(second.digest).not.toBe(first.digest);
    expect(await client.currentDigest('team/payments-api', '1.4.2')).toBe(second.digest);

    const manifest = await client.getManifest('team/payments-api', first.digest);
    expect(manifest).not.toBeNull();
    expect(manifest!.bytes.equals(first.manifest)).toBe(true);
    expect(sha256(manifest!.bytes)).toBe(first.digest);
    expect(manifest!.mediaType).toBe(OCI_MANIFEST);
    expect(manifest!.digest).toBe(first.digest);

    // The revert: the first manifest's exact bytes under the tag again.
    expect(await client.putManifest('team/payments-api', '1.4.2', manifest!)).toBe(first.digest);
    expect(await client.currentDigest('team/payments-api', '1.4.2')).toBe(first.digest);
    // The overwriting image stays reachable by digest.
    const kept = await client.getManifest('team/payments-api', second.digest);
    expect(kept?.bytes.equals(second.manifest)).toBe(true);
  });

  it('answers null for a missing tag, repository or manifest', async () => {
    await pushImage(registry.url, 'present', 'v1', 'present');
    expect(await client.currentDigest('present', 'no-such-tag')).toBeNull();
    expect(await client.currentDigest('no/such/repo', 'v1')).toBeNull();
    expect(await client.getManifest('present', MISSING)).toBeNull();
  });

  it('reports the index digest of a multi-arch tag, not a child', async () => {
    const index = await pushIndex(registry.url, 'multi', 'latest', 'multi');
    expect(await client.currentDigest('multi', 'latest')).toBe(index.digest);
    expect(index.children.map((c) => c.digest)).not.toContain(index.digest);
    const manifest = await client.getManifest('multi', index.digest);
    expect(manifest?.mediaType).toBe(OCI_INDEX);
    expect(manifest?.bytes.equals(index.manifest)).toBe(true);
    // Children were pushed by digest only and are reachable that way.
    for (const child of index.children) {
      expect((await client.getManifest('multi', child.digest))?.digest).toBe(child.digest);
    }
  });

  it('says a distribution registry cannot lock a tag', async () => {
    expect(await client.lockTag('present', 'v1', MISSING)).toEqual({
      locked: false,
      reason: 'OCI distribution registries have no tag lock; Tagwarden reverts overwrites instead',
    });
  });
});

describe('OciDistributionRegistry input validation', () => {
  const calls: string[] = [];
  const spy = (async (input: string | URL | Request) => {
    calls.push(String(input));
    return new Response(null, { status: 500 });
  }) as typeof fetch;
  const client = new OciDistributionRegistry({ url: 'http://127.0.0.1:1', fetch: spy });
  const manifest = { bytes: Buffer.from('{}'), mediaType: OCI_MANIFEST, digest: sha256(Buffer.from('{}')) };

  it.each([
    ['a bad repository', () => client.currentDigest('Team/../x', 'v1')],
    ['an empty repository', () => client.getManifest('', MISSING)],
    ['a bad tag', () => client.currentDigest('team/app', '../v1')],
    ['a tag with a slash', () => client.putManifest('team/app', 'a/b', manifest)],
    ['a bad digest', () => client.getManifest('team/app', 'sha256:ABC')],
    ['a digest with a path', () => client.getManifest('team/app', `${MISSING}/../x`)],
    [
      'bytes that do not match their digest',
      () => client.putManifest('team/app', 'v1', { ...manifest, digest: MISSING }),
    ],
  ])('rejects %s with PermanentError before any request', async (_name, call) => {
    calls.length = 0;
    await expect(call()).rejects.toBeInstanceOf(PermanentError);
    expect(calls).toEqual([]);
  });
});

describe('OciDistributionRegistry error classification and auth (fake servers)', () => {
  type Handler = (req: IncomingMessage, res: ServerResponse, body: Buffer) => void;
  let handler: Handler;
  let server: Server;
  let url: string;
  const requests: Array<{ method: string; url: string; headers: IncomingMessage['headers'] }> = [];
  const body = Buffer.from('{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json"}');
  const digest = sha256(body);

  beforeAll(async () => {
    server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        requests.push({ method: req.method!, url: req.url!, headers: req.headers });
        handler(req, res, Buffer.concat(chunks));
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });
  beforeEach(() => {
    requests.length = 0;
  });

  const client = () => new OciDistributionRegistry({ url, timeoutMs: 2000 });

  it('sends the Accept header with all four manifest types', async () => {
    handler = (_req, res) => {
      res.writeHead(200, { 'Docker-Content-Digest': digest }).end();
    };
    expect(await client().currentDigest('team/app', 'v1')).toBe(digest);
    expect(requests[0]).toMatchObject({ method: 'HEAD', url: '/v2/team/app/manifests/v1' });
    expect(requests[0]!.headers.accept).toBe(MANIFEST_ACCEPT);
    for (const type of [
      'application/vnd.oci.image.index.v1+json',
      'application/vnd.oci.image.manifest.v1+json',
      'application/vnd.docker.distribution.manifest.list.v2+json',
      'application/vnd.docker.distribution.manifest.v2+json',
    ]) {
      expect(MANIFEST_ACCEPT).toContain(type);
    }
  });

  it('falls back to GET and hashes the body when HEAD has no Docker-Content-Digest', async () => {
    handler = (req, res) => {
      res.writeHead(200, { 'Content-Type': OCI_MANIFEST });
      res.end(req.method === 'GET' ? body : undefined);
    };
    expect(await client().currentDigest('team/app', 'v1')).toBe(digest);
    expect(requests.map((r) => r.method)).toEqual(['HEAD', 'GET']);
  });

  it('maps 503 to TransientError', async () => {
    handler = (_req, res) => {
      res.writeHead(503).end();
    };
    await expect(client().currentDigest('team/app', 'v1')).rejects.toBeInstanceOf(TransientError);
  });

  it('maps 429 with Retry-After: 2 to TransientError with retryAfterMs 2000', async () => {
    handler = (_req, res) => {
      res.writeHead(429, { 'Retry-After': '2', 'Content-Type': 'application/json' });
      res.end('{"errors":[{"code":"TOOMANYREQUESTS","message":"slow down"}]}');
    };
    const error = await client()
      .getManifest('team/app', digest)
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TransientError);
    expect((error as TransientError).retryAfterMs).toBe(2000);
  });

  it('maps 400 to PermanentError naming method, path, status and registry code', async () => {
    handler = (_req, res) => {
      res.writeHead(400, { 'Content-Type': 'application/json' });
      res.end('{"errors":[{"code":"MANIFEST_INVALID","message":"manifest invalid"}]}');
    };
    const error = await client()
      .putManifest('team/app', 'v1', { bytes: body, mediaType: OCI_MANIFEST, digest })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PermanentError);
    expect((error as Error).message).toContain('PUT /v2/team/app/manifests/v1');
    expect((error as Error).message).toContain('400');
    expect((error as Error).message).toContain('MANIFEST_INVALID');
  });

  it('puts the exact bytes with the manifest media type', async () => {
    let received: Buffer | null = null;
    handler = (req, res, sent) => {
      received = sent;
      expect(req.headers['content-type']).toBe(OCI_MANIFEST);
      res.writeHead(201, { 'Docker-Content-Digest': digest }).end();
    };
    expect(
      await client().putManifest('team/app', 'v1', { bytes: body, mediaType: OCI_MANIFEST, digest }),
    ).toBe(digest);
    expect(received!.equals(body)).toBe(true);
  });

  it('rejects a manifest whose bytes do not hash to the digest asked for', async () => {
    handler = (_req, res) => {
      res.writeHead(200, { 'Content-Type': OCI_MANIFEST }).end('{"tampered":true}');
    };
    await expect(client().getManifest('team/app', digest)).rejects.toThrow(PermanentError);
  });

  it('maps a timeout to TransientError', async () => {
    handler = () => {
      // never answers
    };
    const slow = new OciDistributionRegistry({ url, timeoutMs: 150 });
    await expect(slow.currentDigest('team/app', 'v1')).rejects.toThrow(/timed out/);
    await expect(slow.currentDigest('team/app', 'v1')).rejects.toBeInstanceOf(TransientError);
  });

  it('maps a refused connection to TransientError', async () => {
    const dead = new OciDistributionRegistry({ url: 'http://127.0.0.1:1', timeoutMs: 2000 });
    await expect(dead.currentDigest('team/app', 'v1')).rejects.toBeInstanceOf(TransientError);
  });

  it('follows a same-origin redirect and refuses one to another origin', async () => {
    handler = (req, res) => {
      if (req.url === '/v2/team/app/manifests/v1') res.writeHead(307, { Location: '/elsewhere/v1' }).end();
      else if (req.url === '/elsewhere/v1') res.writeHead(200, { 'Docker-Content-Digest': digest }).end();
      else res.writeHead(307, { Location: 'http://203.0.113.9/steal' }).end();
    };
    expect(await client().currentDigest('team/app', 'v1')).toBe(digest);
    await expect(client().currentDigest('team/app', 'v2')).rejects.toThrow(/another origin/);
    expect(requests.every((r) => !r.url.includes('steal'))).toBe(true);
  });

  it('answers a bearer challenge by fetching a token from the realm with basic credentials, once', async () => {
    const tokenRequests: IncomingMessage[] = [];
    const tokenServer = createServer((req, res) => {
      tokenRequests.push(req);
      const ok = req.headers.authorization === `Basic ${Buffer.from('robot:s3cret').toString('base64')}`;
      res.writeHead(ok ? 200 : 401, { 'Content-Type': 'application/json' });
      res.end(ok ? '{"token":"tok-123","expires_in":300}' : '{}');
    });
    await new Promise<void>((resolve) => tokenServer.listen(0, '127.0.0.1', resolve));
    const realm = `http://127.0.0.1:${(tokenServer.address() as AddressInfo).port}/token`;
    try {
      handler = (req, res) => {
        if (req.headers.authorization === 'Bearer tok-123') {
          res.writeHead(200, { 'Docker-Content-Digest': digest }).end();
          return;
        }
        res.writeHead(401, {
          'WWW-Authenticate': `Bearer realm="${realm}",service="registry.test",scope="repository:team/app:pull,push"`,
        });
        res.end('{"errors":[{"code":"UNAUTHORIZED"}]}');
      };
      const authed = new OciDistributionRegistry({ url, username: 'robot', password: 's3cret' });
      expect(await authed.currentDigest('team/app', 'v1')).toBe(digest);
      expect(tokenRequests).toHaveLength(1);
      const asked = new URL(tokenRequests[0]!.url!, realm);
      expect(asked.searchParams.get('service')).toBe('registry.test');
      expect(asked.searchParams.get('scope')).toBe('repository:team/app:pull,push');
      // The first request went with basic credentials, the retry with the token.
      expect(requests.map((r) => r.headers.authorization?.split(' ')[0])).toEqual(['Basic', 'Bearer']);
      // The token is kept for the next call.
      expect(await authed.currentDigest('team/app', 'v2')).toBe(digest);
      expect(tokenRequests).toHaveLength(1);

      // Wrong credentials: the realm says 401 and the call fails permanently, without looping.
      tokenRequests.length = 0;
      const wrong = new OciDistributionRegistry({ url, username: 'robot', password: 'nope' });
      await expect(wrong.currentDigest('team/app', 'v1')).rejects.toBeInstanceOf(PermanentError);
      expect(tokenRequests).toHaveLength(1);
    } finally {
      tokenServer.closeAllConnections();
      await new Promise((resolve) => tokenServer.close(resolve));
    }
  });

  it('sends a static token as Bearer and fails permanently on 401 without a challenge', async () => {
    handler = (req, res) => {
      if (req.headers.authorization === 'Bearer static')
        res.writeHead(200, { 'Docker-Content-Digest': digest }).end();
      else res.writeHead(401).end();
    };
    expect(await new OciDistributionRegistry({ url, token: 'static' }).currentDigest('team/app', 'v1')).toBe(
      digest,
    );
    await expect(
      new OciDistributionRegistry({ url, token: 'wrong' }).currentDigest('team/app', 'v1'),
    ).rejects.toThrow(PermanentError);
  });
});

describe('OciDistributionRegistry: credentials and answers a registry cannot steer', () => {
  const body = Buffer.from('{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json"}');
  const digest = sha256(body);
  const servers: Server[] = [];
  async function serve(handler: (req: IncomingMessage, res: ServerResponse) => void): Promise<number> {
    const server = createServer(handler);
    servers.push(server);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return (server.address() as AddressInfo).port;
  }
  afterEach(async () => {
    for (const server of servers.splice(0)) {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });

  /** A token server that counts who asked it, and a registry whose challenge points at `realmHost`. */
  async function registryChallengingTo(realmHost: (tokenPort: number) => string) {
    const tokenRequests: Array<string | undefined> = [];
    const tokenPort = await serve((req, res) => {
      tokenRequests.push(req.headers.authorization);
      res.writeHead(200, { 'Content-Type': 'application/json' }).end('{"token":"stolen"}');
    });
    const registryPort = await serve((req, res) => {
      if (req.headers.authorization === 'Bearer stolen') {
        res.writeHead(200, { 'Docker-Content-Digest': digest }).end();
        return;
      }
      res.writeHead(401, { 'WWW-Authenticate': `Bearer realm="http://${realmHost(tokenPort)}/token"` }).end();
    });
    return { tokenRequests, tokenPort, url: `http://127.0.0.1:${registryPort}` };
  }

  it('refuses a token realm on another host and sends it no credentials, naming the realm', async () => {
    const { tokenRequests, tokenPort, url } = await registryChallengingTo((port) => `localhost:${port}`);
    const registry = new OciDistributionRegistry({ url, username: 'robot', password: 's3cret' });
    const failure = registry.currentDigest('team/app', 'v1');
    await expect(failure).rejects.toBeInstanceOf(PermanentError);
    await expect(failure).rejects.toThrow(`token realm localhost:${tokenPort}`);
    expect(tokenRequests).toEqual([]);
  });

  it('sends credentials to another realm host only when the registry lists it under tokenRealms', async () => {
    const { tokenRequests, tokenPort, url } = await registryChallengingTo((port) => `localhost:${port}`);
    const registry = new OciDistributionRegistry({
      url,
      username: 'robot',
      password: 's3cret',
      tokenRealms: [`localhost:${tokenPort}`],
    });
    expect(await registry.currentDigest('team/app', 'v1')).toBe(digest);
    expect(tokenRequests).toEqual([`Basic ${Buffer.from('robot:s3cret').toString('base64')}`]);
  });

  it('never sends the credentials of an https registry to an http realm, even on its own host', async () => {
    const asked: string[] = [];
    const fakeFetch = (async (input: string | URL | Request) => {
      const target = String(input);
      asked.push(target);
      if (target.startsWith('https://registry.test/v2/')) {
        return new Response(null, {
          status: 401,
          headers: { 'WWW-Authenticate': 'Bearer realm="http://registry.test/token"' },
        });
      }
      return new Response('{"token":"leaked"}', { status: 200 });
    }) as typeof fetch;
    const registry = new OciDistributionRegistry({
      url: 'https://registry.test',
      username: 'robot',
      password: 's3cret',
      fetch: fakeFetch,
    });
    await expect(registry.currentDigest('team/app', 'v1')).rejects.toThrow(
      'refusing to send credentials to the http token realm registry.test of an https registry',
    );
    expect(asked).toEqual(['https://registry.test/v2/team/app/manifests/v1']);
  });

  /** Streams `total` bytes in 64 KiB chunks (no Content-Length) and counts what it could write. */
  async function streamingServer(status: number, total: number, headers: Record<string, string> = {}) {
    const sent = { bytes: 0 };
    const port = await serve((_req, res) => {
      res.writeHead(status, headers);
      const chunk = Buffer.alloc(64 * 1024, 0x20);
      const pump = () => {
        while (sent.bytes < total) {
          sent.bytes += chunk.length;
          if (!res.write(chunk)) return void res.once('drain', pump);
        }
        res.end();
      };
      res.on('close', () => res.removeAllListeners('drain'));
      pump();
    });
    return { sent, url: `http://127.0.0.1:${port}` };
  }

  it('stops reading a manifest past 4 MiB while it streams, instead of holding it all', async () => {
    const { sent, url } = await streamingServer(200, 256 * 1024 * 1024, { 'Content-Type': OCI_MANIFEST });
    const failure = new OciDistributionRegistry({ url }).getManifest('team/app', MISSING);
    await expect(failure).rejects.toBeInstanceOf(PermanentError);
    await expect(failure).rejects.toThrow('larger than 4096 KiB');
    // The server could not push much past the cap before the reader hung up.
    expect(sent.bytes).toBeLessThan(64 * 1024 * 1024);
  });

  it('refuses a manifest whose Content-Length is over 4 MiB without reading it', async () => {
    const port = await serve((_req, res) => {
      res.writeHead(200, { 'Content-Type': OCI_MANIFEST, 'Content-Length': String(5 * 1024 * 1024) });
      res.write(Buffer.alloc(1024));
    });
    await expect(
      new OciDistributionRegistry({ url: `http://127.0.0.1:${port}` }).getManifest('team/app', MISSING),
    ).rejects.toThrow('larger than 4096 KiB');
  });

  it('caps a token answer at 64 KiB', async () => {
    const token = await streamingServer(200, 8 * 1024 * 1024, { 'Content-Type': 'application/json' });
    const tokenHost = new URL(token.url).host;
    const registryPort = await serve((_req, res) => {
      res.writeHead(401, { 'WWW-Authenticate': `Bearer realm="http://${tokenHost}/token"` }).end();
    });
    await expect(
      new OciDistributionRegistry({ url: `http://127.0.0.1:${registryPort}` }).currentDigest(
        'team/app',
        'v1',
      ),
    ).rejects.toThrow('larger than 64 KiB');
  });

  it('classifies an error with a huge body by its status, without reading past 64 KiB', async () => {
    const { sent, url } = await streamingServer(503, 64 * 1024 * 1024);
    await expect(
      new OciDistributionRegistry({ url }).getManifest('team/app', MISSING),
    ).rejects.toBeInstanceOf(TransientError);
    expect(sent.bytes).toBeLessThan(32 * 1024 * 1024);
  });
});

describe('startRegistry notifications', () => {
  it('delivers a push event to the configured endpoint with its headers', async () => {
    const envelopes: Array<{
      headers: IncomingMessage['headers'];
      body: { events: Array<Record<string, unknown>> };
    }> = [];
    const listener = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        envelopes.push({ headers: req.headers, body: JSON.parse(Buffer.concat(chunks).toString('utf8')) });
        res.writeHead(200).end();
      });
    });
    await new Promise<void>((resolve) => listener.listen(0, '127.0.0.1', resolve));
    const endpoint = `http://127.0.0.1:${(listener.address() as AddressInfo).port}/events`;
    const registry = await startRegistry({
      notifications: { url: endpoint, headers: { Authorization: ['Bearer hook'] } },
    });
    try {
      const pushed = await pushImage(registry.url, 'notified/app', 'v1', 'notified');
      const deadline = Date.now() + 10_000;
      const tagPush = () =>
        envelopes
          .flatMap((e) => e.body.events)
          .find((e) => e.action === 'push' && (e.target as { tag?: string } | undefined)?.tag === 'v1');
      while (!tagPush() && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 25));
      const event = tagPush();
      expect(event).toBeDefined();
      expect(event!.target).toMatchObject({ repository: 'notified/app', tag: 'v1', digest: pushed.digest });
      expect(envelopes[0]!.headers.authorization).toBe('Bearer hook');
      expect(envelopes[0]!.headers['content-type']).toContain(
        'application/vnd.docker.distribution.events.v1+json',
      );
    } finally {
      await registry.stop();
      listener.closeAllConnections();
      await new Promise((resolve) => listener.close(resolve));
    }
  }, 20_000);
});
