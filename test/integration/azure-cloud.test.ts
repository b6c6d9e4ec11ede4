import type { GetTokenOptions } from '@azure/identity';
import { acrRegistries } from '../../functions/azure/dependencies';
import { storageClients } from '../../shared/adapters/azure/storage';
import { type FakeAcr, startFakeAcr } from '../support/fake-acr';
import { manifestFor } from '../support/fake-registry';

// Sovereign clouds: the ACR token audience, the storage endpoint suffix and the ARM endpoint follow
// the cloud (issue 12, item 12). The audience is checked end to end: the real SDK asks the
// credential for `<audience>/.default` before it exchanges the token with the registry.

function recordingCredential() {
  const scopes: string[] = [];
  return {
    scopes,
    getToken: async (scope: string | string[], _options?: GetTokenOptions) => {
      scopes.push(...(Array.isArray(scope) ? scope : [scope]));
      return { token: 'aad-token-for-tests', expiresOnTimestamp: Date.now() + 3_600_000 };
    },
  };
}

const registries: FakeAcr[] = [];
afterAll(async () => {
  await Promise.all(registries.map((r) => r.stop()));
});

async function audienceAskedFor(loginServer: string, allowed?: string): Promise<string[]> {
  const acr = await startFakeAcr({ loginServer });
  registries.push(acr);
  const manifest = manifestFor(`cloud-${loginServer}`);
  acr.setTag('team/app', '1.0', manifest.bytes, manifest.mediaType);
  const credential = recordingCredential();
  const registry = acrRegistries(credential, allowed ?? loginServer, () => acr.endpoint)(loginServer);
  await expect(registry?.currentDigest('team/app', '1.0')).resolves.toBe(manifest.digest);
  return [...new Set(credential.scopes)];
}

describe('ACR token audience by cloud', () => {
  it('asks a .azurecr.cn registry token for the China audience', async () => {
    expect(await audienceAskedFor('tagwardencn.azurecr.cn')).toEqual([
      'https://management.chinacloudapi.cn/.default',
    ]);
  });

  it('asks a .azurecr.us registry token for the US Government audience', async () => {
    expect(await audienceAskedFor('tagwardenus.azurecr.us')).toEqual([
      'https://management.usgovcloudapi.net/.default',
    ]);
  });

  it('keeps the public audience for .azurecr.io', async () => {
    expect(await audienceAskedFor('tagwardenio.azurecr.io')).toEqual([
      'https://containerregistry.azure.net/.default',
    ]);
  });
});

describe('storage endpoints by cloud', () => {
  const credential = () => recordingCredential();
  it('uses the China storage suffix with AZURE_CLOUD=AzureChinaCloud or a .azurecr.cn registry', () => {
    for (const env of [
      { TAGWARDEN_STORAGE_ACCOUNT: 'tagwardenab12', AZURE_CLOUD: 'AzureChinaCloud' },
      { TAGWARDEN_STORAGE_ACCOUNT: 'tagwardenab12', TAGWARDEN_REGISTRIES: 'myreg1.azurecr.cn' },
    ]) {
      const clients = storageClients(env, credential, 'tagwardenhistory');
      expect(clients.table.url).toBe('https://tagwardenab12.table.core.chinacloudapi.cn');
      expect(clients.queue.url).toBe('https://tagwardenab12.queue.core.chinacloudapi.cn/tagwarden-poison');
    }
  });

  it("falls back to the Functions host's identity-based storage, as docs/azure.md says", () => {
    // Before: only a connection string in AzureWebJobsStorage was a fallback; the account name that
    // identity-based hosts (and the template) set stopped the functions with "no storage configured".
    const host = storageClients({ AzureWebJobsStorage__accountName: 'hostab12' }, credential, 'h');
    expect(host.table.url).toBe('https://hostab12.table.core.windows.net');
    expect(host.queue.url).toBe('https://hostab12.queue.core.windows.net/tagwarden-poison');
    const own = storageClients(
      { TAGWARDEN_STORAGE_ACCOUNT: 'tagwardenab12', AzureWebJobsStorage__accountName: 'hostab12' },
      credential,
      'h',
    );
    expect(own.table.url).toBe('https://tagwardenab12.table.core.windows.net');
  });

  it('keeps core.windows.net in the public cloud', () => {
    const clients = storageClients({ TAGWARDEN_STORAGE_ACCOUNT: 'tagwardenab12' }, credential, 'h');
    expect(clients.table.url).toBe('https://tagwardenab12.table.core.windows.net');
  });
});
