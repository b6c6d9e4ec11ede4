import { readBodyPrefix } from '../../bounded-body';
import type { ClusterEndpoint } from '../../contracts/cluster-bump/endpoint';
import type { DigestBump } from '../../contracts/cluster-bump/payload';
import { SIGNATURE_HEADER, signBody, TIMESTAMP_HEADER } from '../../contracts/cluster-bump/signature';
import { globMatches, PermanentError, type TagRef, TransientError } from '../../core';
import { describeNetworkError } from '../network-error';
import type { ClusterEndpoints } from './port';

export interface ClusterRequest {
  url: string;
  headers: Record<string, string>;
  body: string;
}

const MAX_RETRY_AFTER_MS = 15 * 60 * 1000;
const EXCERPT_MAX = 200;
/** The most of a receiver's answer read (its excerpt is cut from it): 64 KiB. */
export const ANSWER_READ_BYTES = 64 * 1024;
/** Docker Hub's names for itself: Keel matches its images without the host. */
const DOCKER_HUB_HOSTS = new Set([
  'docker.io',
  'index.docker.io',
  'registry-1.docker.io',
  'registry.hub.docker.com',
]);

/**
 * The request one endpoint gets for one bump, in its format:
 * - `tagwarden`: the contract body, signed in `X-Tagwarden-Signature`, timestamp in `X-Tagwarden-Timestamp`.
 * - `flux`: the same body for a notification-controller `generic-hmac` Receiver, which checks
 *   `X-Signature: sha256=<hex HMAC of the body>` with the Receiver's token and then reconciles its resources.
 * - `keel`: Keel's native webhook `{ name, tag }` (no digest: Keel pulls the tag again), with HTTP basic
 *   auth when a username is configured.
 */
export function clusterRequest(endpoint: ClusterEndpoint, bump: DigestBump): ClusterRequest {
  const headers: Record<string, string> = {
    'content-type': 'application/json',
    'user-agent': 'tagwarden',
  };
  switch (endpoint.format) {
    case 'tagwarden': {
      const body = JSON.stringify(bump);
      headers[SIGNATURE_HEADER] = signBody(requireSecret(endpoint), body);
      headers[TIMESTAMP_HEADER] = bump.timestamp;
      return { url: endpoint.url, headers, body };
    }
    case 'flux': {
      const body = JSON.stringify(bump);
      headers['X-Signature'] = signBody(requireSecret(endpoint), body);
      return { url: endpoint.url, headers, body };
    }
    case 'keel': {
      if (endpoint.username !== undefined)
        headers.authorization = `Basic ${Buffer.from(`${endpoint.username}:${endpoint.secret ?? ''}`).toString('base64')}`;
      return {
        url: endpoint.url,
        headers,
        body: JSON.stringify({ name: keelImageName(bump), tag: bump.tag }),
      };
    }
  }
}

/** The image name as a Keel-managed workload spells it: `host/repository`, or just the repository on Docker Hub. */
export function keelImageName(ref: Pick<TagRef, 'registryHost' | 'repository'>): string {
  return DOCKER_HUB_HOSTS.has(ref.registryHost.toLowerCase())
    ? ref.repository
    : `${ref.registryHost}/${ref.repository}`;
}

function requireSecret(endpoint: ClusterEndpoint): string {
  if (!endpoint.secret)
    throw new PermanentError(`cluster "${endpoint.name}" has no secret to sign with; set clusters[].secret`);
  return endpoint.secret;
}

export interface ClusterSenderOptions {
  fetch?: typeof fetch;
}

/**
 * Sends digest bumps to the configured cluster endpoints. Calls go only to the URL of the config
 * (no event field picks one) and never follow a redirect: a 3xx is a failure naming where it pointed.
 */
export class ClusterSender implements ClusterEndpoints {
  private readonly endpoints: Map<string, ClusterEndpoint>;
  private readonly fetch: typeof fetch;

  constructor(endpoints: ClusterEndpoint[], options: ClusterSenderOptions = {}) {
    this.endpoints = new Map(endpoints.map((endpoint) => [endpoint.name, endpoint]));
    this.fetch = options.fetch ?? fetch;
  }

  get count(): number {
    return this.endpoints.size;
  }

  namesFor(ref: TagRef): string[] {
    return [...this.endpoints.values()]
      .filter((e) => !e.repositories || e.repositories.some((glob) => globMatches(glob, ref.repository)))
      .map((e) => e.name);
  }

  async send(name: string, bump: DigestBump): Promise<string> {
    const endpoint = this.endpoints.get(name);
    if (!endpoint)
      throw new PermanentError(
        `no cluster named "${name}" is configured any more; add it back to clusters to deliver this bump`,
      );
    const request = clusterRequest(endpoint, bump);
    const label = `cluster "${name}" (${new URL(endpoint.url).host})`;
    let response: Response;
    let text: string;
    try {
      response = await this.fetch(request.url, {
        method: 'POST',
        headers: request.headers,
        body: request.body,
        redirect: 'manual',
        signal: AbortSignal.timeout(endpoint.timeoutMs),
      });
      // Only an excerpt is ever shown: an answer that never ends is not read past it.
      text = (await readBodyPrefix(response.body, ANSWER_READ_BYTES)).toString('utf8');
    } catch (error) {
      throw new TransientError(`${label}: ${describeNetworkError(error, endpoint.timeoutMs)}`);
    }
    const status = response.status;
    if (status >= 200 && status < 300) return `delivered to ${label}: HTTP ${status}`;
    if (status >= 300 && status < 400) {
      throw new PermanentError(
        `${label} answered HTTP ${status} redirecting to ${locationHost(response, endpoint.url)}; redirects are never followed: set clusters[].url to the address that accepts the call`,
      );
    }
    // The agent refuses an id it already accepted (409): our earlier attempt got through (its answer
    // was lost to a timeout), so the bump is delivered. The id is ours per (event, cluster) and signed.
    if (status === 409 && endpoint.format === 'tagwarden')
      return `delivered to ${label} by an earlier attempt (HTTP 409: it already had ${bump.id})`;
    const detail = excerpt(text, endpoint);
    const said = detail === '' ? '' : `: ${detail}`;
    if (status === 408 || status === 429 || status >= 500)
      throw new TransientError(
        `${label} failed with HTTP ${status}${said}`,
        retryAfterMs(response.headers.get('retry-after')),
      );
    throw new PermanentError(`${label} refused the bump with HTTP ${status}${said}`);
  }
}

function locationHost(response: Response, base: string): string {
  const location = response.headers.get('location');
  if (!location) return 'nowhere (no Location header)';
  try {
    return new URL(location, base).host || 'an address with no host';
  } catch {
    return 'an invalid Location';
  }
}

/** Retry-After in seconds or as an HTTP date; null when absent or unreadable (the runner's backoff applies). */
export function retryAfterMs(header: string | null, now = Date.now()): number | null {
  const value = header?.trim() ?? '';
  if (value === '') return null;
  if (/^\d+(\.\d+)?$/.test(value)) return Math.min(Math.ceil(Number(value) * 1000), MAX_RETRY_AFTER_MS);
  const date = Date.parse(value);
  if (Number.isNaN(date)) return null;
  return Math.min(Math.max(date - now, 0), MAX_RETRY_AFTER_MS);
}

/** The receiver's answer on one line, cut short, never echoing the secret or the URL. */
function excerpt(text: string, endpoint: ClusterEndpoint): string {
  let clean = text;
  for (const hidden of [endpoint.secret, endpoint.url])
    if (hidden) clean = clean.split(hidden).join('[redacted]');
  return (
    clean
      // biome-ignore lint/suspicious/noControlCharactersInRegex: removing control characters is the point.
      .replace(/[\u0000-\u001f\u007f-\u009f]+/g, ' ')
      .trim()
      .slice(0, EXCERPT_MAX)
  );
}
