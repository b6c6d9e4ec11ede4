import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { appSettings, type Deployment, evaluate, readBicep } from '../support/bicep';

// The Bicep reader the Azure rehearsal takes its app settings from: it must read what the template
// may come to use (conditional settings, lambdas, other resource groups) and refuse what it cannot.

const deployment = (params: Record<string, unknown> = {}): Deployment => ({
  subscriptionId: '00000000-1111-2222-3333-444444444444',
  tenantId: '99999999-8888-7777-6666-555555555555',
  resourceGroup: 'tagwarden',
  location: 'westeurope',
  params,
  runtime: {
    'Microsoft.KeyVault/vaults': (name) => ({ vaultUri: `https://${name}.vault.azure.net/` }),
    'Microsoft.ContainerRegistry/registries': (name) => ({ loginServer: `${name}.azurecr.io` }),
    'Microsoft.Insights/components': () => ({ ConnectionString: 'InstrumentationKey=0' }),
  },
});

describe('infra/azure/main.bicep, read', () => {
  const template = readBicep(
    readFileSync(join(__dirname, '..', '..', 'infra', 'azure', 'main.bicep'), 'utf8'),
  );

  it('adds TAGWARDEN_CLUSTERS, a Key Vault reference, only with clusterBumps=true', () => {
    const without = appSettings(template, deployment({ registryName: 'myregistry' }));
    const withBumps = appSettings(template, deployment({ registryName: 'myregistry', clusterBumps: true }));
    expect(without.TAGWARDEN_CLUSTERS).toBeUndefined();
    expect(withBumps.TAGWARDEN_CLUSTERS).toMatch(
      /^@Microsoft\.KeyVault\(SecretUri=https:\/\/[a-z0-9-]+\.vault\.azure\.net\/secrets\/tagwarden-clusters\/\)$/,
    );
  });

  it('adds SLACK_SIGNING_SECRET, a Key Vault reference, only with slackActions=true', () => {
    const without = appSettings(template, deployment({ registryName: 'myregistry' }));
    const withActions = appSettings(template, deployment({ registryName: 'myregistry', slackActions: true }));
    expect(without.SLACK_SIGNING_SECRET).toBeUndefined();
    expect(withActions.SLACK_SIGNING_SECRET).toMatch(
      /^@Microsoft\.KeyVault\(SecretUri=https:\/\/[a-z0-9-]+\.vault\.azure\.net\/secrets\/tagwarden-slack-signing-secret\/\)$/,
    );
  });

  it('names the registry in its own resource group, and refuses a deployment without registryName', () => {
    const settings = appSettings(
      template,
      deployment({ registryName: 'myregistry', registryResourceGroup: 'registry-rg' }),
    );
    expect(settings.TAGWARDEN_REGISTRY_IDS).toBe(
      '/subscriptions/00000000-1111-2222-3333-444444444444/resourceGroups/registry-rg/providers/Microsoft.ContainerRegistry/registries/myregistry',
    );
    expect(() => appSettings(template, deployment())).toThrow('parameter registryName is required');
  });
});

describe('the Bicep reader', () => {
  const SOURCE = `
@description('a param with a \\'quoted\\' description')
param name string
param slack bool = false
param prefix string = 'tw'

var suffix = substring(uniqueString(resourceGroup().id, prefix), 0, 4)
var optional = slack ? [
  { name: 'SLACK', value: 'on' }
] : []

resource other 'Microsoft.ContainerRegistry/registries@2023-07-01' existing = {
  name: name
  scope: resourceGroup('elsewhere')
}

resource site 'Microsoft.Web/sites@2024-04-01' = if (true) {
  name: '\${prefix}-\${suffix}'
  properties: {
    serverFarmId: nothing.id
    siteConfig: {
      appSettings: filter(concat([
        {
          name: 'ID'
          value: other.id
        }
        { name: 'EMPTY', value: '' }, { name: 'NULL', value: null }
        { name: 'HOST', value: toUpper(other.properties.loginServer) }
      ], optional), s => s.value != '')
    }
  }
}

output url string = 'https://\${site.name}'
`;

  it('evaluates conditions, lambdas, interpolation and other resource groups, only along the settings path', () => {
    const template = readBicep(SOURCE);
    // serverFarmId refers to nothing: never evaluated, since only siteConfig.appSettings is read.
    expect(appSettings(template, deployment({ name: 'acr1' }))).toEqual({
      ID: '/subscriptions/00000000-1111-2222-3333-444444444444/resourceGroups/elsewhere/providers/Microsoft.ContainerRegistry/registries/acr1',
      HOST: 'ACR1.AZURECR.IO',
    });
    expect(appSettings(template, deployment({ name: 'acr1', slack: true })).SLACK).toBe('on');
    expect(evaluate(template, deployment({ name: 'acr1' }), 'site')).toMatchObject({
      name: expect.stringMatching(/^tw-[a-z2-7]{4}$/),
    });
  });

  it('refuses what it does not know, by name', () => {
    expect(() => readBicep('import foo')).toThrow('"import" is not a declaration this reader knows');
    const template = readBicep(`resource site 'Microsoft.Web/sites@2024-04-01' = {
  name: 'x'
  properties: { siteConfig: { appSettings: [ { name: 'A', value: listKeys('x') } ] } }
}`);
    expect(() => appSettings(template, deployment())).toThrow('function listKeys() is not known');
    const twice = readBicep(`resource site 'Microsoft.Web/sites@2024-04-01' = {
  name: 'x'
  properties: { siteConfig: { appSettings: [ { name: 'A', value: '1' }, { name: 'A', value: '2' } ] } }
}`);
    expect(() => appSettings(twice, deployment())).toThrow('app setting A is defined twice');
  });
});
