/**
 * A stand-in for App Service's managed-identity endpoint on 127.0.0.1: what a Function App's
 * `DefaultAzureCredential` calls when the platform sets `IDENTITY_ENDPOINT` and `IDENTITY_HEADER`
 * (GET `?resource=…&api-version=2019-08-01` with `X-IDENTITY-HEADER`). Hands out a token per
 * resource and records the resources asked for; a request without the header gets 401.
 *
 *   const identity = await startFakeManagedIdentity();   // afterAll: await identity.stop()
 *   env: { IDENTITY_ENDPOINT: identity.endpoint, IDENTITY_HEADER: identity.header }
 *   identity.resources   // e.g. ['https://containerregistry.azure.net', 'https://management.azure.com']
 */
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface FakeManagedIdentity {
  endpoint: string;
  header: string;
  /** The `resource` of every token request, in order. */
  resources: string[];
  stop(): Promise<void>;
}

export async function startFakeManagedIdentity(): Promise<FakeManagedIdentity> {
  const header = randomBytes(16).toString('hex');
  const resources: string[] = [];
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const resource = url.searchParams.get('resource');
    if (req.headers['x-identity-header'] !== header || !resource) {
      res.writeHead(401, { 'content-type': 'application/json' }).end('{"error":"unauthorized"}');
      return;
    }
    resources.push(resource);
    const expiresOn = Math.floor(Date.now() / 1000) + 3600;
    res.writeHead(200, { 'content-type': 'application/json' }).end(
      JSON.stringify({
        access_token: `mi-token-${randomBytes(8).toString('hex')}`,
        expires_on: String(expiresOn),
        resource,
        token_type: 'Bearer',
        client_id: '11111111-2222-3333-4444-555555555555',
      }),
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}/msi/token`,
    header,
    resources,
    stop: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
