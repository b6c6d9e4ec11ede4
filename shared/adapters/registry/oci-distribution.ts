import { errorMessage, PermanentError, TransientError } from '../../core/errors';
import { digestProblem, quote, repositoryProblem, tagProblem } from '../../core/grammar';
import type { Digest } from '../../core/model';
import { MAX_MANIFEST_BYTES, MAX_SMALL_BODY_BYTES, readCappedBody } from './capped-body';
import { checkManifestToPut, digestOfBytes, servedManifest } from './manifest-bytes';
import type { LockOutcome, Manifest, RegistryClient } from './port';

/** Every manifest kind a tag may point at; without the index types, distribution hides multi-arch tags. */
export const MANIFEST_ACCEPT = [
  'application/vnd.oci.image.index.v1+json',
  'application/vnd.oci.image.manifest.v1+json',
  'application/vnd.docker.distribution.manifest.list.v2+json',
  'application/vnd.docker.distribution.manifest.v2+json',
].join(', ');

export interface OciDistributionOptions {
  /** Base URL of the registry, e.g. `https://registry.example.com` (the `/v2/` API lives under it). */
  url: string;
  username?: string;
  password?: string;
  /** A static bearer token; takes precedence over username/password for registry requests. */
  token?: string;
  /**
   * Hosts (`host` or `host:port`) besides the registry's own that may receive its credentials as a
   * bearer token realm, e.g. `auth.docker.io`. A challenge naming any other realm is refused.
   */
  tokenRealms?: string[];
  /** Per request, including the body; default 10 s. */
  timeoutMs?: number;
  /** Pages of `tags/list` one listing may take (default 10 000): `Link` headers without end are an error. */
  maxTagPages?: number;
  fetch?: typeof fetch;
}

const MAX_REDIRECTS = 3;

interface Call {
  method: 'GET' | 'HEAD' | 'PUT';
  path: string;
  headers: Record<string, string>;
  body?: Buffer;
}

/**
 * A registry that speaks the OCI distribution API (CNCF distribution, Harbor, GitLab, Quay, Zot,
 * Artifactory…). Only manifests are touched; redirects to another origin are refused.
 */
export class OciDistributionRegistry implements RegistryClient {
  readonly kind = 'oci-distribution';
  /** Origin and path prefix without a trailing slash, e.g. `https://registry.example.com`. */
  private readonly base: string;
  private readonly host: string;
  private readonly baseUrl: URL;
  private readonly tokenRealms: string[];
  private readonly timeoutMs: number;
  private readonly maxTagPages: number;
  private readonly fetchImpl: typeof fetch;
  private readonly basic: string | null;
  private bearer: string | null;

  constructor(options: OciDistributionOptions) {
    let base: URL;
    try {
      base = new URL(options.url);
    } catch {
      throw new PermanentError(`registry url ${quote(options.url)} is not a URL`);
    }
    if (base.protocol !== 'http:' && base.protocol !== 'https:') {
      throw new PermanentError(`registry url ${quote(options.url)} must be http or https`);
    }
    this.base = base.origin + base.pathname.replace(/\/+$/, '');
    this.host = base.host;
    this.baseUrl = base;
    this.tokenRealms = (options.tokenRealms ?? []).map((host) => host.toLowerCase());
    this.timeoutMs = options.timeoutMs ?? 10_000;
    this.maxTagPages = options.maxTagPages ?? 10_000;
    this.fetchImpl = options.fetch ?? fetch;
    this.basic =
      options.username !== undefined
        ? `Basic ${Buffer.from(`${options.username}:${options.password ?? ''}`).toString('base64')}`
        : null;
    this.bearer = options.token ?? null;
  }

  async currentDigest(repository: string, tag: string): Promise<Digest | null> {
    const path = manifestPath(checkRepository(repository), checkTag(tag));
    const head = await this.send({ method: 'HEAD', path, headers: { Accept: MANIFEST_ACCEPT } });
    if (head.status === 404) return null;
    await this.expectOk(head, 'HEAD', path);
    const header = head.headers.get('docker-content-digest');
    if (header !== null) return checkServedDigest(header, 'HEAD', path);
    // Some registries leave the header off a HEAD; the digest of the bytes a GET serves is the truth.
    const get = await this.send({ method: 'GET', path, headers: { Accept: MANIFEST_ACCEPT } });
    if (get.status === 404) return null;
    await this.expectOk(get, 'GET', path);
    return digestOfBytes(await this.readBody(get, 'GET', path, MAX_MANIFEST_BYTES));
  }

  async getManifest(repository: string, digest: Digest): Promise<Manifest | null> {
    const path = manifestPath(checkRepository(repository), checkDigest(digest));
    const response = await this.send({ method: 'GET', path, headers: { Accept: MANIFEST_ACCEPT } });
    if (response.status === 404) return null;
    await this.expectOk(response, 'GET', path);
    const bytes = await this.readBody(response, 'GET', path, MAX_MANIFEST_BYTES);
    return servedManifest(bytes, digest, response.headers.get('content-type'), `GET ${path}`, 'the registry');
  }

  async putManifest(repository: string, tag: string, manifest: Manifest): Promise<Digest> {
    const path = manifestPath(checkRepository(repository), checkTag(tag));
    checkDigest(manifest.digest);
    checkManifestToPut(manifest, `PUT ${path}`);
    const response = await this.send({
      method: 'PUT',
      path,
      headers: { 'Content-Type': manifest.mediaType },
      body: manifest.bytes,
    });
    await this.expectOk(response, 'PUT', path);
    await response.body?.cancel().catch(() => undefined);
    const header = response.headers.get('docker-content-digest');
    return header !== null ? checkServedDigest(header, 'PUT', path) : manifest.digest;
  }

  /** Every tag of a repository (`/tags/list`, following `Link: …; rel="next"` pages). */
  async listTags(repository: string): Promise<string[]> {
    const tags: string[] = [];
    let path: string | null = `/v2/${checkRepository(repository)
      .split('/')
      .map(encodeURIComponent)
      .join('/')}/tags/list?n=1000`;
    for (let pages = 1; path; pages++) {
      if (pages > this.maxTagPages)
        throw new PermanentError(
          `${this.host} gave more than ${this.maxTagPages} pages of tags for ${repository} (Link headers without end)`,
        );
      const response = await this.send({ method: 'GET', path, headers: { Accept: 'application/json' } });
      // distribution answers 404 NAME_UNKNOWN for a repository it does not know (never for an empty one).
      if (response.status === 404) {
        const code = await errorCode(response);
        throw new PermanentError(
          `${this.host} does not know the repository ${repository} (GET tags/list answered 404${code ? ` ${code}` : ''})`,
        );
      }
      await this.expectOk(response, 'GET', path);
      const page = await this.readBody(response, 'GET', path, MAX_MANIFEST_BYTES);
      const body = JSON.parse(page.toString('utf8')) as {
        tags?: unknown;
      };
      for (const tag of Array.isArray(body.tags) ? body.tags : [])
        if (typeof tag === 'string' && tagProblem(tag) === null) tags.push(tag);
      // Only a same-registry relative link is followed.
      const next = /<(\/v2\/[^>]+)>;\s*rel="next"/.exec(response.headers.get('link') ?? '');
      path = next ? next[1]! : null;
    }
    return tags;
  }

  async lockTag(_repository: string, _tag: string, _digest: Digest): Promise<LockOutcome> {
    return {
      locked: false,
      reason: 'OCI distribution registries have no tag lock; Tagwarden reverts overwrites instead',
    };
  }

  /** One request: auth, a single bearer-token challenge, same-origin redirects, timeout, transport errors. */
  private async send(call: Call): Promise<Response> {
    let url = new URL(this.base + call.path);
    let challenged = false;
    for (let hop = 0; ; ) {
      const response = await this.fetchOnce(url, call, this.authorization());
      if (response.status === 401 && !challenged) {
        const challenge = parseBearerChallenge(response.headers.get('www-authenticate'));
        if (challenge) {
          await response.body?.cancel().catch(() => undefined);
          challenged = true;
          this.bearer = await this.fetchToken(challenge, call, url.pathname);
          continue;
        }
      }
      if (response.status >= 300 && response.status < 400 && response.headers.has('location')) {
        await response.body?.cancel().catch(() => undefined);
        const target = new URL(response.headers.get('location')!, url);
        if (target.origin !== url.origin) {
          throw new PermanentError(
            `${call.method} ${url.pathname}: refusing redirect (${response.status}) to another origin ${target.origin}`,
          );
        }
        if (++hop > MAX_REDIRECTS) {
          throw new PermanentError(`${call.method} ${url.pathname}: more than ${MAX_REDIRECTS} redirects`);
        }
        url = target;
        continue;
      }
      return response;
    }
  }

  private authorization(): string | null {
    if (this.bearer !== null) return `Bearer ${this.bearer}`;
    return this.basic;
  }

  private async fetchOnce(url: URL, call: Call, authorization: string | null): Promise<Response> {
    const headers: Record<string, string> = { ...call.headers };
    if (authorization !== null) headers.Authorization = authorization;
    const init: RequestInit = {
      method: call.method,
      headers,
      redirect: 'manual',
      signal: AbortSignal.timeout(this.timeoutMs),
    };
    if (call.body !== undefined) init.body = call.body;
    try {
      return await this.fetchImpl(url, init);
    } catch (error) {
      throw transportError(error, call.method, url.pathname, this.timeoutMs);
    }
  }

  /** Token auth (distribution's `token` scheme): ask the realm once with the basic credentials. */
  private async fetchToken(challenge: BearerChallenge, call: Call, path: string): Promise<string> {
    let realm: URL;
    try {
      realm = new URL(challenge.realm);
    } catch {
      throw new PermanentError(
        `${call.method} ${path}: bearer challenge realm ${quote(challenge.realm)} is not a URL`,
      );
    }
    if (realm.protocol !== 'https:' && realm.protocol !== 'http:') {
      throw new PermanentError(`${call.method} ${path}: bearer challenge realm must be http or https`);
    }
    const refusal = this.realmRefusal(realm);
    if (refusal) throw new PermanentError(`${call.method} ${path}: ${refusal}`);
    if (challenge.service) realm.searchParams.set('service', challenge.service);
    if (challenge.scope) realm.searchParams.set('scope', challenge.scope);
    const what = `token request to ${realm.origin}${realm.pathname}`;
    let response: Response;
    try {
      response = await this.fetchImpl(realm, {
        method: 'GET',
        headers: this.basic !== null ? { Authorization: this.basic } : {},
        redirect: 'error',
        signal: AbortSignal.timeout(this.timeoutMs),
      });
    } catch (error) {
      throw transportError(error, 'GET', what, this.timeoutMs);
    }
    await this.expectOk(response, 'GET', what);
    const text = (await this.readBody(response, 'GET', what, MAX_SMALL_BODY_BYTES)).toString('utf8');
    let body: { token?: unknown; access_token?: unknown };
    try {
      body = JSON.parse(text);
    } catch {
      throw new PermanentError(`GET ${what}: the answer is not JSON`);
    }
    const token = typeof body.token === 'string' ? body.token : body.access_token;
    if (typeof token !== 'string' || token.length === 0) {
      throw new PermanentError(`GET ${what}: the answer has no token`);
    }
    return token;
  }

  /**
   * The registry's credentials go only to a realm on its own host name or one listed in
   * `tokenRealms`, and never from https down to http: a registry (or a man in the middle of one)
   * cannot steer them anywhere else.
   */
  private realmRefusal(realm: URL): string | null {
    if (this.baseUrl.protocol === 'https:' && realm.protocol !== 'https:') {
      return `refusing to send credentials to the http token realm ${realm.host} of an https registry`;
    }
    const host = realm.host.toLowerCase();
    const listed = this.tokenRealms.some((allowed) => allowed === host || allowed === realm.hostname);
    if (realm.hostname.toLowerCase() === this.baseUrl.hostname.toLowerCase() || listed) return null;
    return `refusing to send credentials to the token realm ${realm.host}, which is not the registry's host ${this.baseUrl.hostname}; list it under tokenRealms for this registry if it is its token server`;
  }

  private async readBody(response: Response, method: string, path: string, limit: number): Promise<Buffer> {
    try {
      return await readCappedBody(response, limit, `${method} ${path}`);
    } catch (error) {
      throw transportError(error, method, path, this.timeoutMs);
    }
  }

  /** Throws the classified error for anything but 2xx. */
  private async expectOk(response: Response, method: string, path: string): Promise<void> {
    if (response.status >= 200 && response.status < 300) return;
    const code = await errorCode(response);
    const detail = `${method} ${path} answered ${response.status}${code ? ` (${code})` : ''} from ${this.kind} registry ${this.host}`;
    if (response.status === 429 || response.status >= 500) {
      throw new TransientError(detail, retryAfterMs(response.headers.get('retry-after')));
    }
    throw new PermanentError(detail);
  }
}

interface BearerChallenge {
  realm: string;
  service: string | null;
  scope: string | null;
}

/** `Bearer realm="…",service="…",scope="…"`; null for any other scheme. */
export function parseBearerChallenge(header: string | null): BearerChallenge | null {
  if (!header) return null;
  const match = /^\s*Bearer\s+(.*)$/i.exec(header);
  if (!match) return null;
  const params = new Map<string, string>();
  for (const m of match[1]!.matchAll(/([a-zA-Z_]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^,\s]*))/g)) {
    params.set(m[1]!.toLowerCase(), m[2] !== undefined ? m[2].replace(/\\(.)/g, '$1') : (m[3] ?? ''));
  }
  const realm = params.get('realm');
  if (!realm) return null;
  return { realm, service: params.get('service') ?? null, scope: params.get('scope') ?? null };
}

/** Seconds or an HTTP date; null when absent or unreadable. */
export function retryAfterMs(header: string | null, now: number = Date.now()): number | null {
  if (header === null) return null;
  const text = header.trim();
  if (/^\d+$/.test(text)) return Number(text) * 1000;
  const at = Date.parse(text);
  return Number.isNaN(at) ? null : Math.max(0, at - now);
}

function transportError(error: unknown, method: string, path: string, timeoutMs: number): Error {
  if (error instanceof TransientError || error instanceof PermanentError) return error;
  // Not `instanceof Error`: the DOMException from AbortSignal.timeout may come from another realm.
  const name = typeof error === 'object' && error !== null ? (error as { name?: unknown }).name : undefined;
  if (name === 'TimeoutError' || name === 'AbortError') {
    return new TransientError(`${method} ${path} timed out after ${timeoutMs} ms`);
  }
  const cause = error instanceof Error && error.cause instanceof Error ? `: ${error.cause.message}` : '';
  return new TransientError(`${method} ${path} failed: ${errorMessage(error)}${cause}`);
}

/** The first `errors[].code` of a distribution error body, if the body is one. */
async function errorCode(response: Response): Promise<string | null> {
  try {
    const text = (await readCappedBody(response, MAX_SMALL_BODY_BYTES, 'error body')).toString('utf8');
    if (text.length === 0) return null;
    const body = JSON.parse(text) as { errors?: Array<{ code?: unknown }> };
    const code = body.errors?.[0]?.code;
    return typeof code === 'string' && /^[A-Z0-9_]{1,64}$/.test(code) ? code : null;
  } catch {
    return null;
  }
}

function checkRepository(repository: string): string {
  const problem = repositoryProblem(repository);
  if (problem) throw new PermanentError(problem);
  return repository.split('/').map(encodeURIComponent).join('/');
}

function checkTag(tag: string): string {
  const problem = tagProblem(tag);
  if (problem) throw new PermanentError(problem);
  return encodeURIComponent(tag);
}

/** A valid digest is path-safe as it is (`algorithm:hex`; `:` is allowed in a path segment). */
function checkDigest(digest: string): string {
  const problem = digestProblem(digest);
  if (problem) throw new PermanentError(problem);
  return digest;
}

function checkServedDigest(digest: string, method: string, path: string): Digest {
  const trimmed = digest.trim();
  const problem = digestProblem(trimmed);
  if (problem) throw new PermanentError(`${method} ${path}: Docker-Content-Digest: ${problem}`);
  return trimmed;
}

function manifestPath(repository: string, reference: string): string {
  return `/v2/${repository}/manifests/${reference}`;
}
