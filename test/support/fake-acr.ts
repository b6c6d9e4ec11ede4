/**
 * A stand-in for Azure Container Registry's data plane on 127.0.0.1, speaking the paths
 * `@azure/container-registry` 1.1 calls, so `AcrRegistry` (and handlers built on it) run the real
 * SDK end to end, token exchange included. There is no ACR emulator; this is the faked part.
 *
 *   const acr = await startFakeAcr();                  // afterAll: await acr.stop()
 *   const registry = new AcrRegistry({ loginServer: acr.loginServer, endpoint: acr.endpoint,
 *     allowInsecureConnection: true, credential: staticCredential() });
 *   const image = acr.setTag('team/app', '1.0', bytes, OCI_MANIFEST);   // as a `docker push` would
 *   acr.tagOf('team/app', '1.0');       // a copy: { digest, writeEnabled, deleteEnabled, … } or null
 *   acr.setTagAttributes('team/app', '1.0', { writeEnabled: true });   // unlock by hand
 *   acr.manifestOf('team/app', digest); // { bytes, mediaType, writeEnabled, deleteEnabled, tags } or null
 *   acr.calls                            // every request: { method, path, status, body, contentType }
 *   acr.intercept((call) => call.method === 'PATCH' ? { status: 503 } : undefined); // one-shot
 *
 * Paths (the repository name arrives percent-encoded, `team%2Fapp`, as the SDK sends it):
 *   POST /oauth2/exchange            AAD token → ACR refresh token (a JWT with `exp`, as the SDK parses it)
 *   POST /oauth2/token               refresh token → access token
 *   GET|PATCH /acr/v1/{name}/_tags/{tag}          tag properties / lock attributes
 *   GET|PATCH /acr/v1/{name}/_manifests/{digest}  manifest properties / lock attributes
 *   GET|PUT /v2/{name}/manifests/{tag|digest}     manifest bytes
 * Every data-plane request without a token this fake issued gets `401` with
 * `WWW-Authenticate: Bearer realm=…,service=…,scope=…`, so the SDK's challenge flow always runs.
 * A PUT to a tag with `writeEnabled: false` is refused `403 DENIED`, as ACR refuses a push to a
 * locked tag. Unknown tags and manifests answer 404 with ACR's error body.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface AcrCall {
  method: string;
  /** Decoded path, e.g. `/acr/v1/team/app/_tags/1.0`. */
  path: string;
  status: number;
  contentType: string | null;
  body: string;
}

export interface AcrReply {
  /** 0: never answer (until stop), to test timeouts. */
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
}

export interface Attributes {
  deleteEnabled: boolean;
  writeEnabled: boolean;
  readEnabled: boolean;
  listEnabled: boolean;
}

export interface FakeAcrTag extends Attributes {
  digest: string;
}

export interface FakeAcrManifest extends Attributes {
  bytes: Buffer;
  mediaType: string;
  tags: string[];
}

export interface FakeAcr {
  /** `http://127.0.0.1:<port>`: pass as `endpoint` with `allowInsecureConnection: true`. */
  endpoint: string;
  loginServer: string;
  calls: AcrCall[];
  /** The AAD tokens presented at /oauth2/exchange, in order. */
  aadTokens: string[];
  /** Stores a manifest and points the tag at it (as a push would); returns its digest. */
  setTag(repository: string, tag: string, bytes: Buffer, mediaType: string): string;
  /** Stores a manifest with no tag (a child of an index, or an overwritten image). */
  putUntagged(repository: string, bytes: Buffer, mediaType: string): string;
  /** A snapshot; changing it changes nothing (use setTagAttributes). */
  tagOf(repository: string, tag: string): FakeAcrTag | null;
  /** A snapshot; changing it changes nothing (use setManifestAttributes). */
  manifestOf(repository: string, digest: string): FakeAcrManifest | null;
  /** Changes lock attributes as `az acr repository update` would; throws for an unknown tag. */
  setTagAttributes(repository: string, tag: string, attributes: Partial<Attributes>): void;
  setManifestAttributes(repository: string, digest: string, attributes: Partial<Attributes>): void;
  /** Calls other than the token flow and the 401 challenges. */
  dataCalls(): AcrCall[];
  /** Runs before the next authorized data-plane request is handled; a reply answers it instead. */
  intercept(handler: (call: { method: string; path: string }) => AcrReply | undefined): void;
  stop(): Promise<void>;
}

const UNLOCKED = (): Attributes => ({
  deleteEnabled: true,
  writeEnabled: true,
  readEnabled: true,
  listEnabled: true,
});

export async function startFakeAcr(options: { loginServer?: string } = {}): Promise<FakeAcr> {
  const loginServer = options.loginServer ?? 'tagwardentest.azurecr.io';
  const manifests = new Map<string, Map<string, FakeAcrManifest>>(); // repo → digest → manifest
  const tags = new Map<string, Map<string, FakeAcrTag>>(); // repo → tag → tag
  const refreshTokens = new Set<string>();
  const accessTokens = new Set<string>();
  const calls: AcrCall[] = [];
  const aadTokens: string[] = [];
  const interceptors: Array<(call: { method: string; path: string }) => AcrReply | undefined> = [];
  let endpoint = '';

  const repoManifests = (repo: string) => mapOf(manifests, repo);
  const repoTags = (repo: string) => mapOf(tags, repo);
  const store = (repo: string, bytes: Buffer, mediaType: string): string => {
    const digest = sha256(bytes);
    const existing = repoManifests(repo).get(digest);
    if (!existing) repoManifests(repo).set(digest, { bytes, mediaType, tags: [], ...UNLOCKED() });
    return digest;
  };
  const pointTag = (repo: string, tag: string, digest: string) => {
    const previous = repoTags(repo).get(tag);
    if (previous) {
      const old = repoManifests(repo).get(previous.digest);
      if (old) old.tags = old.tags.filter((t) => t !== tag);
      previous.digest = digest;
    } else {
      repoTags(repo).set(tag, { digest, ...UNLOCKED() });
    }
    repoManifests(repo).get(digest)?.tags.push(tag);
  };

  const tagBody = (repo: string, name: string, tag: FakeAcrTag) => ({
    registry: loginServer,
    imageName: repo,
    tag: {
      name,
      digest: tag.digest,
      createdTime: '2026-01-01T00:00:00Z',
      lastUpdateTime: '2026-01-01T00:00:00Z',
      signed: false,
      changeableAttributes: attributes(tag),
    },
  });
  const manifestBody = (repo: string, digest: string, m: FakeAcrManifest) => ({
    registry: loginServer,
    imageName: repo,
    manifest: {
      digest,
      imageSize: m.bytes.length,
      createdTime: '2026-01-01T00:00:00Z',
      lastUpdateTime: '2026-01-01T00:00:00Z',
      mediaType: m.mediaType,
      tags: m.tags,
      changeableAttributes: attributes(m),
    },
  });

  function handle(method: string, path: string, body: Buffer, contentType: string | null): AcrReply {
    let m = /^\/acr\/v1\/(.+)\/_tags\/([^/]+)$/.exec(path);
    if (m) {
      const [repo, name] = [m[1]!, m[2]!];
      const tag = repoTags(repo).get(name);
      if (!tag) return acrError(404, 'TAG_UNKNOWN', `the tag ${name} does not exist`);
      if (method === 'PATCH') Object.assign(tag, changes(body));
      else if (method !== 'GET') return acrError(405, 'UNSUPPORTED', method);
      return { status: 200, body: tagBody(repo, name, tag) };
    }
    m = /^\/acr\/v1\/(.+)\/_manifests\/([^/]+)$/.exec(path);
    if (m) {
      const [repo, digest] = [m[1]!, m[2]!];
      const manifest = repoManifests(repo).get(digest);
      if (!manifest) return acrError(404, 'MANIFEST_UNKNOWN', `manifest ${digest} is not found`);
      if (method === 'PATCH') Object.assign(manifest, changes(body));
      else if (method !== 'GET') return acrError(405, 'UNSUPPORTED', method);
      return { status: 200, body: manifestBody(repo, digest, manifest) };
    }
    m = /^\/v2\/(.+)\/manifests\/([^/]+)$/.exec(path);
    if (m) {
      const [repo, reference] = [m[1]!, m[2]!];
      if (method === 'GET') {
        const digest = reference.includes(':') ? reference : repoTags(repo).get(reference)?.digest;
        const manifest = digest ? repoManifests(repo).get(digest) : undefined;
        if (!digest || !manifest) return acrError(404, 'MANIFEST_UNKNOWN', 'manifest unknown');
        return {
          status: 200,
          body: manifest.bytes,
          headers: { 'Content-Type': manifest.mediaType, 'Docker-Content-Digest': digest },
        };
      }
      if (method === 'PUT') {
        if (!contentType) return acrError(400, 'MANIFEST_INVALID', 'no Content-Type');
        const digest = sha256(body);
        if (reference.includes(':') && reference !== digest)
          return acrError(400, 'DIGEST_INVALID', 'the digest does not match the body');
        const existing = repoTags(repo).get(reference);
        if (!reference.includes(':') && existing && !existing.writeEnabled)
          return acrError(
            403,
            'DENIED',
            'The operation is disallowed on this registry, repository or image.',
          );
        store(repo, Buffer.from(body), contentType);
        if (!reference.includes(':')) pointTag(repo, reference, digest);
        return {
          status: 201,
          headers: { 'Docker-Content-Digest': digest, Location: `/v2/${repo}/manifests/${digest}` },
        };
      }
    }
    return acrError(404, 'NOT_FOUND', `${method} ${path} is not part of this fake`);
  }

  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const url = new URL(req.url ?? '/', 'http://fake');
      const path = decodeURIComponent(url.pathname);
      const method = req.method ?? 'GET';
      const contentType = req.headers['content-type'] ?? null;
      const reply = route(method, path, body, contentType, req.headers.authorization);
      calls.push({ method, path, status: reply.status, contentType, body: body.toString('utf8') });
      if (reply.status !== 0) send(res, reply);
    });
  });

  function route(
    method: string,
    path: string,
    body: Buffer,
    contentType: string | null,
    authorization: string | undefined,
  ): AcrReply {
    const form = new URLSearchParams(body.toString('utf8'));
    if (method === 'POST' && path === '/oauth2/exchange') {
      const aad = form.get('access_token');
      if (form.get('grant_type') !== 'access_token' || !aad || form.get('service') !== loginServer)
        return acrError(400, 'BAD_REQUEST', 'expected grant_type=access_token, access_token and service');
      aadTokens.push(aad);
      const refresh = jwt();
      refreshTokens.add(refresh);
      return { status: 200, body: { refresh_token: refresh } };
    }
    if (method === 'POST' && path === '/oauth2/token') {
      const refresh = form.get('refresh_token');
      if (form.get('grant_type') !== 'refresh_token' || !refresh || !refreshTokens.has(refresh))
        return acrError(401, 'UNAUTHORIZED', 'unknown refresh token');
      const access = randomBytes(16).toString('hex');
      accessTokens.add(access);
      return { status: 200, body: { access_token: access } };
    }
    const token = /^Bearer (.+)$/.exec(authorization ?? '')?.[1];
    if (!token || !accessTokens.has(token)) {
      return {
        status: 401,
        body: { errors: [{ code: 'UNAUTHORIZED', message: 'authentication required' }] },
        headers: {
          'WWW-Authenticate': `Bearer realm="${endpoint}/oauth2/token",service="${loginServer}",scope="repository:${scopeName(path)}:pull,push,metadata_read,metadata_write"`,
        },
      };
    }
    const intercepted = interceptors.shift()?.({ method, path });
    return intercepted ?? handle(method, path, body, contentType);
  }

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  return {
    endpoint,
    loginServer,
    calls,
    aadTokens,
    setTag(repository, tag, bytes, mediaType) {
      const digest = store(repository, bytes, mediaType);
      pointTag(repository, tag, digest);
      return digest;
    },
    putUntagged: (repository, bytes, mediaType) => store(repository, bytes, mediaType),
    tagOf: (repository, tag) => {
      const t = tags.get(repository)?.get(tag);
      return t ? { ...t } : null;
    },
    manifestOf: (repository, digest) => {
      const m = manifests.get(repository)?.get(digest);
      return m ? { ...m, tags: [...m.tags] } : null;
    },
    setTagAttributes: (repository, tag, attributes) => {
      const t = tags.get(repository)?.get(tag);
      if (!t) throw new Error(`fake ACR has no tag ${repository}:${tag}`);
      Object.assign(t, attributes);
    },
    setManifestAttributes: (repository, digest, attributes) => {
      const m = manifests.get(repository)?.get(digest);
      if (!m) throw new Error(`fake ACR has no manifest ${repository}@${digest}`);
      Object.assign(m, attributes);
    },
    dataCalls: () => calls.filter((c) => c.status !== 401 && !c.path.startsWith('/oauth2/')),
    intercept: (handler) => {
      interceptors.push(handler);
    },
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function send(res: ServerResponse, reply: AcrReply): void {
  const headers: Record<string, string> = { ...(reply.headers ?? {}) };
  let payload: Buffer | undefined;
  if (Buffer.isBuffer(reply.body)) payload = reply.body;
  else if (reply.body !== undefined) {
    payload = Buffer.from(JSON.stringify(reply.body));
    headers['Content-Type'] ??= 'application/json';
  }
  res.writeHead(reply.status, headers);
  res.end(payload);
}

function acrError(status: number, code: string, message: string): AcrReply {
  return { status, body: { errors: [{ code, message }] } };
}

function attributes(a: Attributes): Attributes {
  return {
    deleteEnabled: a.deleteEnabled,
    writeEnabled: a.writeEnabled,
    readEnabled: a.readEnabled,
    listEnabled: a.listEnabled,
  };
}

/** The writable attributes a PATCH body sets; anything else is ignored, as ACR does. */
function changes(body: Buffer): Partial<Attributes> {
  const parsed = JSON.parse(body.toString('utf8') || '{}') as Record<string, unknown>;
  const out: Partial<Attributes> = {};
  for (const key of ['deleteEnabled', 'writeEnabled', 'readEnabled', 'listEnabled'] as const)
    if (typeof parsed[key] === 'boolean') out[key] = parsed[key];
  return out;
}

function scopeName(path: string): string {
  return /^\/(?:acr\/v1|v2)\/(.+?)\/(?:_tags|_manifests|manifests)\//.exec(path)?.[1] ?? 'catalog';
}

function jwt(): string {
  const part = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');
  return `${part({ alg: 'none', typ: 'JWT' })}.${part({ exp: Math.floor(Date.now() / 1000) + 3600, jti: randomBytes(8).toString('hex') })}.sig`;
}

function sha256(bytes: Buffer): string {
  return `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
}

/** A TokenCredential that hands out a fixed AAD token (the fakes accept any). */
export function staticCredential(token = 'aad-token-for-tests') {
  return {
    getToken: async () => ({ token, expiresOnTimestamp: Date.now() + 3_600_000 }),
  };
}

/** The map under `key`, created empty on first use. */
function mapOf<K, V>(maps: Map<string, Map<K, V>>, key: string): Map<K, V> {
  let map = maps.get(key);
  if (!map) {
    map = new Map();
    maps.set(key, map);
  }
  return map;
}
