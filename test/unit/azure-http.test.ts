import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { HttpRequest, InvocationContext } from '@azure/functions';
import type { AzureDependencies } from '../../functions/azure/dependencies';
import { handleWebhook } from '../../functions/azure/http';
import type { SourceAuthConfig } from '../../shared/auth/source-auth';
import { DEFAULT_POLICY } from '../../shared/core';
import { MemoryHistoryStore } from '../../shared/history';
import { silentLogger } from '../../shared/log';

const SECRET = 'azure-secret-0123456789ab';
const pushed = readFileSync(
  join(__dirname, '..', 'fixtures', 'acr-eventgrid', 'image-pushed-eventgrid-schema.json'),
);
const TAG = { registryHost: 'demo.azurecr.io', repository: 'payments/api', tag: 'v1.4.2' };

function depsWith(auth: (source: string) => SourceAuthConfig | null) {
  const store = new MemoryHistoryStore();
  const deps = {
    auth,
    store,
    policy: DEFAULT_POLICY,
    log: silentLogger,
    runner: { runDue: async () => 0 },
    poison: { name: 'poison', add: async () => {} },
  } as unknown as AzureDependencies;
  return { deps, store };
}

const forged = (query = '') =>
  new HttpRequest({
    method: 'POST',
    url: `https://tagwarden.azurewebsites.net/api/webhooks/acr-eventgrid${query}`,
    headers: { 'content-type': 'application/json' },
    body: { string: pushed.toString('utf8') },
  });

describe('the Azure HTTP triggers never take an unauthenticated push (issue 11, item 2)', () => {
  test('a forged acr-eventgrid push without the token is refused 401 and nothing is recorded', async () => {
    const { deps, store } = depsWith(() => ({ token: SECRET }));
    const answer = await handleWebhook(deps, 'acr-eventgrid', forged(), new InvocationContext());
    expect(answer.status).toBe(401);
    expect(await store.tagState(TAG)).toBeNull();
    expect(await store.history(TAG)).toEqual([]);
  });

  test('security: its answers say nosniff, so no browser reads an echoed input as HTML (401, 202)', async () => {
    const { deps } = depsWith(() => ({ token: SECRET }));
    const refused = await handleWebhook(deps, 'acr-eventgrid', forged(), new InvocationContext());
    const accepted = await handleWebhook(
      deps,
      'acr-eventgrid',
      forged(`?token=${SECRET}`),
      new InvocationContext(),
    );
    expect([refused.status, accepted.status]).toEqual([401, 202]);
    for (const answer of [refused, accepted])
      expect(answer.headers).toMatchObject({
        'content-type': 'application/json',
        'x-content-type-options': 'nosniff',
      });
  });

  test('a source without credentials is refused 401 whatever it sends, not accepted as open', async () => {
    for (const settings of [{}, { token: '' }]) {
      const { deps, store } = depsWith(() => settings);
      const answer = await handleWebhook(deps, 'acr-eventgrid', forged('?token='), new InvocationContext());
      expect(answer.status).toBe(401);
      expect(answer.jsonBody).toEqual({
        error: 'unauthorized: no token or secret is configured for this source',
      });
      expect(await store.tagState(TAG)).toBeNull();
    }
  });

  test('the same push with the token is recorded', async () => {
    const { deps, store } = depsWith(() => ({ token: SECRET }));
    const answer = await handleWebhook(
      deps,
      'acr-eventgrid',
      forged(`?token=${SECRET}`),
      new InvocationContext(),
    );
    expect(answer.status).toBe(202);
    expect((await store.tagState(TAG))?.digest).toMatch(/^sha256:9b2ad6e3/);
  });
});
