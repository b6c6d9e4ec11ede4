import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEFAULT_HISTORY_TABLE, DEFAULT_POISON_QUEUE } from '../../functions/azure/dependencies';

// No tool here compiles Bicep; these checks read the template as text and hold it to what the code
// and the documentation say. The role ids are Azure's built-in role definition GUIDs (the same in
// every tenant), from learn.microsoft.com "Azure built-in roles".

const dir = join(__dirname, '..', '..', 'infra', 'azure');
const main = readFileSync(join(dir, 'main.bicep'), 'utf8');
const registryRole = readFileSync(join(dir, 'registry-role.bicep'), 'utf8');
/** The settings the Azure composition root reads: its own, and the storage ones it shares with the CLI. */
const code = ['functions/azure/dependencies.ts', 'shared/adapters/azure/storage.ts']
  .map((file) => readFileSync(join(__dirname, '..', '..', file), 'utf8'))
  .join('\n');
const index = readFileSync(join(__dirname, '..', '..', 'functions', 'azure', 'index.ts'), 'utf8');

/** Bicep without its `//` comments (none of ours sit inside strings). */
function code_(text: string): string {
  return text
    .split('\n')
    .map((line) => line.replace(/(^|\s)\/\/.*$/, ''))
    .join('\n');
}

const BUILT_IN = {
  storageBlobDataOwner: 'b7e6dc6d-f1e8-4753-8033-0f276bb0955b',
  storageQueueDataContributor: '974c5e8b-45b9-4653-ba55-5f855dd0fb88',
  storageTableDataContributor: '0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3',
  keyVaultSecretsUser: '4633458b-17de-408a-b874-0445c86b69e6',
  containerRegistryRepositoryWriter: '2a1e307c-b015-4ebd-883e-5b7698a07328',
  reader: 'acdd72a7-3385-48ef-bd42-f606fba81ae7',
};
/** Assigned only with registryPermissions=legacy (an RBAC-only registry), with the tag-lock custom role. */
const LEGACY_ONLY = { acrPush: '8311e382-0749-4cb8-b61a-304f252e45ec' };
/** Roles the identity must not get: broader than needed. */
const TOO_BROAD = {
  owner: '8e3af657-a8ff-443c-a75c-2fe8c4bcb635',
  contributor: 'b24988ac-6180-42a0-ab88-20f7382dd24c',
  acrDelete: 'c2f4ef07-c644-48eb-af81-4b1b4947fb11',
  containerRegistryRepositoryContributor: '2efddaa5-3f1f-4df3-97df-af3f13818f4c',
  storageAccountContributor: '17d1049b-9a84-46fb-8f53-869881c3d3ab',
  keyVaultSecretsOfficer: 'b86a8fe4-44ce-4948-aee5-eccb2c155cd7',
};

function params(text: string): string[] {
  return [...code_(text).matchAll(/^param\s+(\w+)\s/gm)].map((m) => m[1]!);
}

function appSettings(): Map<string, string> {
  const settings = new Map<string, string>();
  for (const m of code_(main).matchAll(/^\s*\{ name: '([^']+)', value: (.+) \}\s*$/gm))
    settings.set(m[1]!, m[2]!);
  return settings;
}

describe('infra/azure/main.bicep', () => {
  it('uses every parameter it declares, in both files', () => {
    for (const [file, text] of [
      ['main.bicep', main],
      ['registry-role.bicep', registryRole],
    ] as const) {
      const body = code_(text);
      for (const name of params(text)) {
        const uses = body.match(new RegExp(`\\b${name}\\b`, 'g'))?.length ?? 0;
        expect({ file, name, used: uses > 1 }).toEqual({ file, name, used: true });
      }
    }
    expect(params(main)).toEqual(
      expect.arrayContaining(['registryName', 'registryResourceGroup', 'slackSecretName', 'location']),
    );
  });

  it('assigns exactly the documented built-in roles, and none broader', () => {
    const assigned = [
      ...code_(main + registryRole).matchAll(/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g),
    ].map((m) => m[0]);
    expect(new Set(assigned)).toEqual(new Set([...Object.values(BUILT_IN), ...Object.values(LEGACY_ONLY)]));
    for (const id of Object.values(TOO_BROAD)) expect(main + registryRole).not.toContain(id);
    // One assignment per role, each to the app's identity with the right scope.
    expect(code_(main).match(/Microsoft\.Authorization\/roleAssignments@/g)).toHaveLength(4);
    expect(code_(registryRole).match(/Microsoft\.Authorization\/roleAssignments@/g)).toHaveLength(4);
    // Repository Writer only in ABAC mode; AcrPush and the custom role only in legacy mode.
    expect(registryRole).toMatch(/resource repositoryWriter '[^']+' = if \(!legacy\)/);
    expect(registryRole).toMatch(/resource pusher '[^']+' = if \(legacy\)/);
    expect(registryRole).toMatch(/resource tagLockerAssignment '[^']+' = if \(legacy\)/);
    expect(main).toContain("param registryPermissions string = 'abac'");
    expect(main).toMatch(/registryPermissions: registryPermissions/);
    // The custom role carries exactly the repository metadata actions, on the registry alone.
    const actions = /actions: \[([^\]]*)\]/.exec(code_(registryRole))?.[1] ?? '';
    expect(actions.match(/'[^']+'/g)).toEqual([
      "'Microsoft.ContainerRegistry/registries/metadata/read'",
      "'Microsoft.ContainerRegistry/registries/metadata/write'",
    ]);
    expect(code_(registryRole)).toMatch(/assignableScopes: \[\s*registry\.id\s*\]/);
    expect(registryRole).toMatch(/scope:\s*registry\b/);
    expect(main).toMatch(
      /module registryRole 'registry-role\.bicep'[\s\S]*scope:\s*resourceGroup\(registryResourceGroup\)/,
    );
    expect(existsSync(join(dir, 'registry-role.bicep'))).toBe(true);
  });

  it('gives the secrets to the app only as Key Vault references, never as values', () => {
    const settings = appSettings();
    expect(settings.get('SLACK_WEBHOOK_URL')).toBe(
      // biome-ignore lint/suspicious/noTemplateCurlyInString: Bicep interpolation, compared as text
      "'@Microsoft.KeyVault(SecretUri=${vault.properties.vaultUri}secrets/${slackSecretName}/)'",
    );
    expect(settings.get('ACR_WEBHOOK_SECRET')).toBe(
      // biome-ignore lint/suspicious/noTemplateCurlyInString: Bicep interpolation, compared as text
      "'@Microsoft.KeyVault(SecretUri=${vault.properties.vaultUri}secrets/${webhookSecretName}/)'",
    );
    // The cluster endpoints carry HMAC keys and passwords: a reference too, deployed only when asked for.
    expect(settings.get('TAGWARDEN_CLUSTERS')).toBe(
      // biome-ignore lint/suspicious/noTemplateCurlyInString: Bicep interpolation, compared as text
      "'@Microsoft.KeyVault(SecretUri=${vault.properties.vaultUri}secrets/${clustersSecretName}/)'",
    );
    expect(main).toContain("param clustersSecretName string = 'tagwarden-clusters'");
    expect(main).toContain('param clusterBumps bool = false');
    expect(code_(main)).toMatch(
      /var clusterSettings = clusterBumps \? \[[^\]]*TAGWARDEN_CLUSTERS[^\]]*\] : \[\]/,
    );
    expect(code_(main)).toMatch(
      /appSettings: concat\(\[[\s\S]*\], slackSettings, slackActionSettings, clusterSettings\)/,
    );
    // The Slack app's signing secret: a reference too, deployed only when clicks are asked for.
    expect(settings.get('SLACK_SIGNING_SECRET')).toBe(
      // biome-ignore lint/suspicious/noTemplateCurlyInString: Bicep interpolation, compared as text
      "'@Microsoft.KeyVault(SecretUri=${vault.properties.vaultUri}secrets/${slackSigningSecretName}/)'",
    );
    expect(main).toContain('param slackActions bool = false');
    // Slack is optional for real: no reference (which would stop nothing, but warns) unless asked for.
    expect(main).toContain('param slackEnabled bool = false');
    expect(code_(main)).toMatch(
      /var slackSettings = slackEnabled \? \[[^\]]*SLACK_WEBHOOK_URL[^\]]*\] : \[\]/,
    );
    expect(code).toContain('TAGWARDEN_CLUSTERS?:');
    expect(code).toMatch(/setting\(env, 'TAGWARDEN_CLUSTERS'\)/);
    expect(main).toMatch(/enableRbacAuthorization:\s*true/);
    expect(main).not.toMatch(/@secure\(\)/); // the template takes no secret: they are set in the vault
    expect(main).not.toMatch(/listKeys\(|AccountKey=/); // and it hands out no storage key
  });

  it('names only app settings the Azure composition root reads, with the table and queue it defaults to', () => {
    const settings = appSettings();
    for (const name of settings.keys()) {
      // The Functions host's own settings.
      if (name === 'AzureWebJobsStorage__accountName' || name === 'APPLICATIONINSIGHTS_CONNECTION_STRING')
        continue;
      expect({ name, readByCode: code.includes(`${name}?:`) }).toEqual({ name, readByCode: true });
    }
    expect(main).toContain(`var historyTable = '${DEFAULT_HISTORY_TABLE}'`);
    expect(main).toContain(`var poisonQueue = '${DEFAULT_POISON_QUEUE}'`);
    expect(settings.get('TAGWARDEN_REGISTRIES')).toBe('registry.properties.loginServer');
    expect(settings.get('TAGWARDEN_REGISTRY_IDS')).toBe('registry.id');
  });

  it('serves HTTPS only with TLS 1.2, on Linux with Node 22 or later', () => {
    expect(main).toMatch(/httpsOnly:\s*true/);
    expect(main).toMatch(/minTlsVersion:\s*'1\.2'/);
    expect(main).toMatch(/supportsHttpsTrafficOnly:\s*true/);
    expect(main).toMatch(/minimumTlsVersion:\s*'TLS1_2'/);
    expect(main).toMatch(/allowBlobPublicAccess:\s*false/);
    expect(main).toMatch(/kind:\s*'functionapp,linux'/);
    const node = /runtime:\s*\{\s*name:\s*'node',\s*version:\s*'(\d+)'\s*\}/.exec(main);
    expect(Number(node?.[1])).toBeGreaterThanOrEqual(22);
    expect(main).toMatch(/sku:\s*\{\s*name:\s*'FC1',\s*tier:\s*'FlexConsumption'\s*\}/);
  });

  it('sets none of the site properties and app settings the Flex Consumption deprecation table lists', () => {
    // learn.microsoft.com/azure/azure-functions/functions-app-settings#flex-consumption-plan-deprecations
    // (and the Azure-Samples Flex Consumption samples' "Deprecated properties and settings"): each is
    // rejected or ignored on a Flex Consumption app; ftpsState is refused outright in some regions.
    const properties = [
      'ftpsState',
      'use32BitWorkerProcess',
      'isReserved',
      'IsXenon',
      'windowsFxVersion',
      'alwaysOn',
      'preWarmedInstanceCount',
      'functionAppScaleLimit',
      'containerSize',
      'javaVersion',
      'powerShellVersion',
      'netFrameworkVersion',
      'linuxFxVersion',
    ];
    const settings = [
      'WEBSITE_NODE_DEFAULT_VERSION',
      'FUNCTIONS_EXTENSION_VERSION',
      'FUNCTIONS_WORKER_RUNTIME',
      'FUNCTIONS_WORKER_RUNTIME_VERSION',
      'FUNCTIONS_MAX_HTTP_CONCURRENCY',
      'FUNCTIONS_WORKER_PROCESS_COUNT',
      'FUNCTIONS_WORKER_DYNAMIC_CONCURRENCY_ENABLED',
      'WEBSITE_CONTENTAZUREFILECONNECTIONSTRING',
      'WEBSITE_CONTENTSHARE',
      'WEBSITE_RUN_FROM_PACKAGE',
      'SCM_DO_BUILD_DURING_DEPLOYMENT',
    ];
    const body = code_(main);
    for (const name of properties)
      expect({ name, set: new RegExp(`\\b${name}\\s*:`, 'i').test(body) }).toEqual({ name, set: false });
    for (const name of settings)
      expect({ name, set: body.includes(`'${name}'`) }).toEqual({ name, set: false });
    // The comment cites the table.
    expect(main).toContain('functions-app-settings#flex-consumption-plan-deprecations');
  });

  it('outputs the webhook URLs of the routes index.ts registers', () => {
    for (const route of ['webhooks/acr', 'webhooks/acr-eventgrid']) {
      expect(index).toContain(`route: '${route}'`);
      expect(main).toContain(`/api/${route}'`);
    }
  });
});

describe('docs/azure.md and the template agree', () => {
  const page = readFileSync(join(__dirname, '..', '..', 'docs', 'azure.md'), 'utf8');
  const paragraph = page.slice(page.indexOf('Parameters of `main.bicep`:'));
  const parameterList = paragraph.slice(0, paragraph.indexOf('\n\n'));
  const declared = params(main);

  it("names every parameter of main.bicep in the page's list, and passes only declared ones with -p", () => {
    // slackActions and slackSigningSecretName were missing from the list.
    for (const name of declared)
      expect({ name, listed: parameterList.includes(`\`${name}\``) }).toEqual({ name, listed: true });
    const passed = [...page.matchAll(/-p ([^\n]+)/g)].flatMap((m) =>
      [...m[1]!.matchAll(/\b(\w+)=("[^"]*"|\S+)/g)].map(([, name, value]) => ({
        name: name!,
        value: value!,
      })),
    );
    expect(passed.length).toBeGreaterThan(0);
    for (const { name, value } of passed) {
      expect(declared).toContain(name);
      // A bool parameter takes true or false.
      if (new RegExp(`^param ${name} bool`, 'm').test(main)) expect(['true', 'false']).toContain(value);
    }
  });

  it('lists exactly the app settings the template sets (and TAGWARDEN_STORAGE, which it leaves unset)', () => {
    const section = page.slice(page.indexOf('## App settings'), page.indexOf('What the functions answer'));
    const listed = [...section.matchAll(/^\| `(\w+)` \|/gm)].map((m) => m[1]!).sort();
    expect(listed).toEqual([...appSettings().keys(), 'TAGWARDEN_STORAGE'].sort());
  });

  it('reads back only outputs main.bicep has, and names only functions and routes index.ts registers', () => {
    const outputs = [...code_(main).matchAll(/^output (\w+) /gm)].map((m) => m[1]!);
    for (const [, name] of page.matchAll(/\bout (\w+)\)/g)) expect(outputs).toContain(name);
    for (const [, name] of page.matchAll(/output `(\w+)`/g)) expect(outputs).toContain(name);
    for (const [, name] of page.matchAll(/--function-name (\w+)/g))
      expect(index).toContain(`app.eventGrid('${name}'`);
    const routes = [...index.matchAll(/route: '([^']+)'/g)].map((m) => m[1]!);
    for (const [, route] of page.matchAll(/\/api\/([\w/-]+\w)/g)) expect(routes).toContain(route);
    expect(page).toContain('Timer tagwardenEffects');
    expect(index).toContain("app.timer('tagwardenEffects'");
  });
});

describe('functions/azure/package.mjs', () => {
  it('bundles a deployable app that loads and registers its six functions', () => {
    const out = mkdtempSync(join(tmpdir(), 'tagwarden-azure-package-'));
    try {
      execFileSync(
        process.execPath,
        [join(__dirname, '..', '..', 'functions', 'azure', 'package.mjs'), out],
        {
          stdio: 'pipe',
        },
      );
      expect(JSON.parse(readFileSync(join(out, 'package.json'), 'utf8'))).toMatchObject({ main: 'index.js' });
      expect(JSON.parse(readFileSync(join(out, 'host.json'), 'utf8'))).toMatchObject({ version: '2.0' });
      // Outside the Functions host the package runs in test mode and names every function it skips.
      const loaded = spawnSync(process.execPath, ['-e', "require('./index.js')"], {
        cwd: out,
        encoding: 'utf8',
        env: { PATH: process.env.PATH ?? '' },
      });
      expect(loaded.status).toBe(0);
      const registered = [...`${loaded.stdout}${loaded.stderr}`.matchAll(/register function "(\w+)"/g)].map(
        (m) => m[1],
      );
      expect(registered).toEqual([
        'acrWebhook',
        'acrEventGridWebhook',
        'slackActions',
        'agentDriftReport',
        'acrEventGrid',
        'tagwardenEffects',
      ]);
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  });
});
