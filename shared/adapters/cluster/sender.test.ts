import { createServer, type IncomingHttpHeaders, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { ClusterEndpoint } from '../../contracts/cluster-bump/endpoint';
import {
  DigestBump,
  SIGNATURE_HEADER,
  TIMESTAMP_HEADER,
  verifyBodySignature,
} from '../../contracts/cluster-bump/payload';
import { PermanentError, TransientError } from '../../core';
import { ClusterSender, keelImageName, retryAfterMs } from './sender';

const SECRET = 'cluster-secret-0123456789';
const OLD = `sha256:${'a'.repeat(64)}`;
const NEW = `sha256:${'b'.repeat(64)}`;
const BUMP: DigestBump = {
  id: 'evt-1:cluster=prod#bump',
  registryHost: '127.0.0.1:5000',
  repository: 'payments/api',
  tag: 'latest',
  previousDigest: OLD,
  digest: NEW,
  reason: 'moved',
  timestamp: '2026-12-01T04:00:00.000Z',
};

interface Received {
  path: string;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

/** A receiver on loopback that records every request and answers with `answer`. */
async function receiver(answer: (res: ServerResponse) => void = (res) => res.writeHead(200).end('ok')) {
  const received: Received[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      received.push({ path: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks) });
      answer(res);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    received,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

type Receiver = Awaited<ReturnType<typeof receiver>>;
const open: Receiver[] = [];
async function start(answer?: (res: ServerResponse) => void): Promise<Receiver> {
  const r = await receiver(answer);
  open.push(r);
  return r;
}
afterAll(async () => {
  await Promise.all(open.map((r) => r.close()));
});

function endpoint(overrides: Partial<ClusterEndpoint> & { url: string }): ClusterEndpoint {
  return { name: 'prod', format: 'tagwarden', secret: SECRET, timeoutMs: 2000, ...overrides };
}

async function failure(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected the send to fail');
}

describe('ClusterSender formats', () => {
  test('tagwarden: POSTs the contract body, signed over the raw bytes, with the timestamp header', async () => {
    const r = await start();
    const sender = new ClusterSender([endpoint({ url: `${r.url}/bump` })]);
    const outcome = await sender.send('prod', BUMP);
    expect(outcome).toMatch(/^delivered to cluster "prod" \(127\.0\.0\.1:\d+\): HTTP 200$/);
    expect(r.received).toHaveLength(1);
    const [call] = r.received;
    expect(call!.path).toBe('/bump');
    expect(call!.headers['content-type']).toBe('application/json');
    expect(call!.body.toString()).toBe(JSON.stringify(BUMP));
    expect(DigestBump.parse(JSON.parse(call!.body.toString()))).toEqual(BUMP);
    expect(
      verifyBodySignature(SECRET, call!.body, call!.headers[SIGNATURE_HEADER.toLowerCase()] as string),
    ).toEqual({
      ok: true,
    });
    expect(
      verifyBodySignature(
        'another-secret-0123456',
        call!.body,
        call!.headers[SIGNATURE_HEADER.toLowerCase()] as string,
      ).ok,
    ).toBe(false);
    expect(call!.headers[TIMESTAMP_HEADER.toLowerCase()]).toBe(BUMP.timestamp);
    expect(call!.headers['x-signature']).toBeUndefined();
  });

  test('flux: the contract body with X-Signature: sha256=<hex>, as a generic-hmac Receiver checks it', async () => {
    const r = await start();
    const sender = new ClusterSender([endpoint({ url: `${r.url}/hook/abc`, format: 'flux' })]);
    await sender.send('prod', BUMP);
    const [call] = r.received;
    expect(call!.body.toString()).toBe(JSON.stringify(BUMP));
    const signature = call!.headers['x-signature'] as string;
    expect(signature).toMatch(/^sha256=[0-9a-f]{64}$/);
    expect(verifyBodySignature(SECRET, call!.body, signature)).toEqual({ ok: true });
    expect(call!.headers[SIGNATURE_HEADER.toLowerCase()]).toBeUndefined();
  });

  test('keel: the native webhook body {name, tag} with basic auth, and no digest', async () => {
    const r = await start();
    const sender = new ClusterSender([
      endpoint({
        url: `${r.url}/v1/webhooks/native`,
        format: 'keel',
        username: 'keel',
        secret: 'keel-password',
      }),
    ]);
    await sender.send('prod', BUMP);
    const [call] = r.received;
    expect(call!.path).toBe('/v1/webhooks/native');
    expect(call!.body.toString()).toBe('{"name":"127.0.0.1:5000/payments/api","tag":"latest"}');
    expect(call!.headers.authorization).toBe(`Basic ${Buffer.from('keel:keel-password').toString('base64')}`);
  });

  test('keel without a username sends no Authorization header; Docker Hub images are named without the host', async () => {
    const r = await start();
    const sender = new ClusterSender([endpoint({ url: r.url, format: 'keel', secret: undefined })]);
    await sender.send('prod', { ...BUMP, registryHost: 'docker.io', repository: 'library/nginx' });
    expect(r.received[0]!.headers.authorization).toBeUndefined();
    expect(JSON.parse(r.received[0]!.body.toString())).toEqual({ name: 'library/nginx', tag: 'latest' });
    expect(keelImageName({ registryHost: 'ghcr.io', repository: 'acme/api' })).toBe('ghcr.io/acme/api');
  });
});

describe('ClusterSender failures', () => {
  test('never follows a redirect, to another host or the same one, and names where it pointed', async () => {
    const elsewhere = await start();
    const redirecting = await start((res) =>
      res.writeHead(302, { location: `${elsewhere.url}/steal` }).end(),
    );
    const sender = new ClusterSender([endpoint({ url: redirecting.url })]);
    const error = await failure(sender.send('prod', BUMP));
    expect(error).toBeInstanceOf(PermanentError);
    expect(error.message).toContain('HTTP 302');
    expect(error.message).toContain(`redirecting to ${new URL(elsewhere.url).host}`);
    expect(elsewhere.received).toHaveLength(0);

    const sameHost = await start((res) => res.writeHead(307, { location: '/other' }).end());
    const error2 = await failure(new ClusterSender([endpoint({ url: sameHost.url })]).send('prod', BUMP));
    expect(error2).toBeInstanceOf(PermanentError);
    expect(sameHost.received).toHaveLength(1);
  });

  test.each([503, 500, 429, 408])('HTTP %i is transient and honours Retry-After', async (status) => {
    const r = await start((res) => res.writeHead(status, { 'retry-after': '7' }).end('busy'));
    const error = await failure(new ClusterSender([endpoint({ url: r.url })]).send('prod', BUMP));
    expect(error).toBeInstanceOf(TransientError);
    expect((error as TransientError).retryAfterMs).toBe(7000);
    expect(error.message).toContain(`HTTP ${status}: busy`);
  });

  test('another 4xx is permanent, with the status and a short excerpt that never echoes the secret', async () => {
    const r = await start((res) =>
      res.writeHead(401).end(`bad signature for secret ${SECRET}\n${'x'.repeat(1000)}`),
    );
    const error = await failure(
      new ClusterSender([endpoint({ url: `${r.url}/hook/token-path` })]).send('prod', BUMP),
    );
    expect(error).toBeInstanceOf(PermanentError);
    expect(error.message).toMatch(
      /^cluster "prod" \(127\.0\.0\.1:\d+\) refused the bump with HTTP 401: bad signature/,
    );
    expect(error.message).not.toContain(SECRET);
    expect(error.message).not.toContain('token-path');
    expect(error.message.length).toBeLessThan(320);
  });

  test('the agent refusing a replay (409) means an earlier attempt got through: delivered, not failed', async () => {
    const r = await start((res) => res.writeHead(409).end('{"error":"replay refused"}'));
    const outcome = await new ClusterSender([endpoint({ url: r.url })]).send('prod', BUMP);
    expect(outcome).toMatch(/by an earlier attempt \(HTTP 409: it already had evt-1:cluster=prod#bump\)$/);
    const flux = await failure(
      new ClusterSender([endpoint({ url: r.url, format: 'flux' })]).send('prod', BUMP),
    );
    expect(flux).toBeInstanceOf(PermanentError);
  });

  test('a refused connection is transient and names only the host', async () => {
    const r = await start();
    const url = `${r.url}/hook/secret-path`;
    await r.close();
    const error = await failure(new ClusterSender([endpoint({ url })]).send('prod', BUMP));
    expect(error).toBeInstanceOf(TransientError);
    expect(error.message).toMatch(/network error \(ECONNREFUSED\)$/);
    expect(error.message).not.toContain('secret-path');
  });

  test('a receiver slower than timeoutMs is a transient timeout', async () => {
    const r = await start((res) => setTimeout(() => res.writeHead(200).end(), 2000).unref());
    const error = await failure(
      new ClusterSender([endpoint({ url: r.url, timeoutMs: 150 })]).send('prod', BUMP),
    );
    expect(error).toBeInstanceOf(TransientError);
    expect(error.message).toContain('timed out after 150 ms');
  });

  test('a cluster no longer in the config is a permanent failure', async () => {
    const error = await failure(new ClusterSender([]).send('gone', BUMP));
    expect(error).toBeInstanceOf(PermanentError);
    expect(error.message).toContain('no cluster named "gone"');
  });
});

describe('ClusterSender routing', () => {
  test('sends a tag only to the clusters whose repository globs match it (none given: all)', () => {
    const sender = new ClusterSender([
      endpoint({ name: 'all', url: 'http://127.0.0.1:1' }),
      endpoint({ name: 'payments', url: 'http://127.0.0.1:1', repositories: ['payments/*'] }),
      endpoint({ name: 'web', url: 'http://127.0.0.1:1', repositories: ['web/**'] }),
    ]);
    expect(sender.count).toBe(3);
    expect(sender.namesFor({ registryHost: 'h', repository: 'payments/api', tag: 'latest' })).toEqual([
      'all',
      'payments',
    ]);
    expect(sender.namesFor({ registryHost: 'h', repository: 'web/a/b', tag: 'latest' })).toEqual([
      'all',
      'web',
    ]);
  });

  test('reads Retry-After as seconds or an HTTP date', () => {
    expect(retryAfterMs('2')).toBe(2000);
    expect(retryAfterMs(new Date(10_000).toUTCString(), 4000)).toBe(6000);
    expect(retryAfterMs('soon')).toBeNull();
    expect(retryAfterMs(null)).toBeNull();
  });
});
