import type { PipelinePolicy } from '@azure/core-rest-pipeline';
import { PermanentError } from '../../core/errors';

/** What an Azure SDK client is built with: the endpoint it is told, and any extra policies. */
export interface AzureEndpointSetup {
  endpoint: string;
  additionalPolicies: { policy: PipelinePolicy; position: 'perCall' | 'perRetry' }[];
}

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '[::1]']);
const DOWNGRADE = 'tagwarden-loopback-http';

/**
 * The Azure SDK's bearer-token policy refuses any `http:` URL, even with `allowInsecureConnection`.
 * For a stand-in on this machine (tests, `TAGWARDEN_ARM_ENDPOINT=http://127.0.0.1:…`) the client
 * is told the `https:` form of the endpoint, and a policy that runs after signing (so after the
 * bearer check) turns the request back into plain HTTP. Only loopback hosts qualify: a token never
 * crosses a network in clear text. Any other endpoint is used as it is.
 */
export function azureEndpoint(endpoint: string, allowInsecureConnection = false): AzureEndpointSetup {
  let url: URL;
  try {
    url = new URL(endpoint);
  } catch {
    throw new PermanentError(`Azure endpoint ${JSON.stringify(endpoint)} is not a URL`);
  }
  const base = endpoint.replace(/\/+$/, '');
  if (url.protocol === 'https:') return { endpoint: base, additionalPolicies: [] };
  if (url.protocol !== 'http:')
    throw new PermanentError(`Azure endpoint ${JSON.stringify(endpoint)} must be https`);
  if (!allowInsecureConnection || !LOOPBACK.has(url.hostname)) {
    throw new PermanentError(
      `Azure endpoint ${JSON.stringify(endpoint)} is plain http; only a loopback stand-in (127.0.0.1, localhost) may be, with allowInsecureConnection`,
    );
  }
  const secure = `https://${base.slice('http://'.length)}`;
  const policy: PipelinePolicy = {
    name: DOWNGRADE,
    sendRequest(request, next) {
      if (request.url.startsWith(`${secure}/`) || request.url === secure) {
        request.url = `http://${request.url.slice('https://'.length)}`;
        request.allowInsecureConnection = true;
      }
      return next(request);
    },
  };
  return { endpoint: secure, additionalPolicies: [{ policy, position: 'perRetry' }] };
}
