import { spawn } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { TokenCredential } from '@azure/identity';
import { Command } from 'commander';
import { registerAzureCommands } from '../../functions/local/azure-setup-command';
import { containerRegistryManagement } from '../../shared/adapters/azure/arm';
import { ownersFromRegistryTags } from '../../shared/adapters/azure/owners';
import { PermanentError } from '../../shared/core';
import { type CliResult, ROOT } from '../support/cli-process';
import { staticCredential } from '../support/fake-acr';
import { type FakeArm, startFakeArm } from '../support/fake-arm';
import { buildCli } from '../support/tagwarden';

const SUBSCRIPTION = '00000000-1111-2222-3333-444444444444';
const GROUP = 'rg-tagwarden';
const REGISTRY = 'tagwardenacr';
const SECRET = 'acr-webhook-token-0123456789abcdef';
const URL_V1 = 'https://tagwarden-fn.azurewebsites.net/api/webhooks/acr';
const URL_V2 = 'https://tagwarden-fn2.azurewebsites.net/api/webhooks/acr';
const LEGACY = 'legacyacr01';
const SWITCH = `az acr update --name ${LEGACY} --resource-group ${GROUP} --subscription ${SUBSCRIPTION} --role-assignment-mode rbac-abac`;

let arm: FakeArm;
let snapshot = '';

beforeAll(async () => {
  arm = await startFakeArm();
  arm.addRegistry({
    subscription: SUBSCRIPTION,
    resourceGroup: GROUP,
    registry: REGISTRY,
    location: 'westeurope',
    tags: { env: 'prod', 'tagwarden:owners': '#payments, @alice  #payments' },
    roleAssignmentMode: 'AbacRepositoryPermissions',
  });
  // Today's default registry: RBAC-only, where Container Registry Repository Writer is not honoured.
  arm.addRegistry({
    subscription: SUBSCRIPTION,
    resourceGroup: GROUP,
    registry: LEGACY,
    location: 'westeurope',
    roleAssignmentMode: 'LegacyRegistryPermissions',
  });
  buildCli();
  // A private copy of the built CLI, as useCliSnapshot makes: another suite's build cannot disturb it.
  mkdirSync(join(ROOT, '.test-state'), { recursive: true });
  snapshot = mkdtempSync(join(ROOT, '.test-state', 'azure-cli-'));
  cpSync(join(ROOT, 'bin'), join(snapshot, 'bin'), { recursive: true });
  cpSync(join(ROOT, 'dist'), join(snapshot, 'dist'), { recursive: true });
});
afterAll(async () => {
  if (snapshot) rmSync(snapshot, { recursive: true, force: true });
  await arm.stop();
});

/** Runs the CLI without blocking this process (runCli's spawnSync would starve the fake ARM here). */
function runCliAsync(args: string[], env: Record<string, string>): Promise<CliResult> {
  const childEnv: NodeJS.ProcessEnv = { ...process.env, ...env };
  delete childEnv.TAGWARDEN_DEBUG;
  const child = spawn(process.execPath, [join(snapshot, 'bin', 'tagwarden.js'), ...args], {
    cwd: ROOT,
    env: childEnv,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c: Buffer) => {
    stdout += c.toString('utf8');
  });
  child.stderr.on('data', (c: Buffer) => {
    stderr += c.toString('utf8');
  });
  const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (status) => {
      clearTimeout(timer);
      resolve({ status, stdout, stderr });
    });
  });
}

/** Runs `azure setup` in this process with the given extra arguments; returns its output or the error. */
async function setup(
  args: string[],
  options: { credential?: TokenCredential; env?: NodeJS.ProcessEnv } = {},
): Promise<{ lines: string[]; error: string | null }> {
  const lines: string[] = [];
  const program = new Command('tagwarden').exitOverride();
  registerAzureCommands(program, {
    env: options.env ?? { TAGWARDEN_ARM_ENDPOINT: arm.endpoint, TAGWARDEN_ACR_WEBHOOK_SECRET: SECRET },
    credential: options.credential ?? staticCredential('arm-token'),
    out: (line) => lines.push(line),
  });
  try {
    await program.parseAsync(
      ['azure', 'setup', '--subscription', SUBSCRIPTION, '--resource-group', GROUP, ...args],
      { from: 'user' },
    );
    return { lines, error: null };
  } catch (error) {
    return { lines, error: (error as Error).message };
  }
}

describe('tagwarden azure setup against a stand-in of ARM', () => {
  it('creates the webhook with the URL, the bearer token, push and delete, enabled, every repository', async () => {
    const result = await setup(['--registry', REGISTRY, '--function-url', URL_V1]);
    expect(result.error).toBeNull();
    expect(arm.writeCalls()).toHaveLength(1);
    const put = arm.writeCalls()[0]!;
    expect(put.method).toBe('PUT');
    expect(put.path).toBe(
      `/subscriptions/${SUBSCRIPTION}/resourceGroups/${GROUP}/providers/Microsoft.ContainerRegistry/registries/${REGISTRY}/webhooks/tagwarden`,
    );
    expect(put.body).toEqual({
      location: 'westeurope',
      properties: {
        serviceUri: URL_V1,
        customHeaders: { Authorization: `Bearer ${SECRET}` },
        actions: ['push', 'delete'],
        status: 'enabled',
        scope: '',
      },
    });
    expect(put.authorization).toBe('Bearer arm-token');
    expect(result.lines.join('\n')).toContain('created webhook tagwarden');
    expect(result.lines.join('\n')).not.toContain(SECRET);
  });

  it('changes nothing on a second run, and says so', async () => {
    const writes = arm.writeCalls().length;
    const result = await setup(['--registry', REGISTRY, '--function-url', URL_V1]);
    expect(result.error).toBeNull();
    expect(arm.writeCalls()).toHaveLength(writes);
    expect(result.lines).toContain('webhook tagwarden is up to date; nothing to change');
    // The write-only URL and headers were compared through getCallbackConfig.
    expect(arm.calls.at(-1)?.path).toMatch(/\/webhooks\/tagwarden\/getCallbackConfig$/);
  });

  it('dry run prints the plan without the secret and makes no write call', async () => {
    const writes = arm.writeCalls().length;
    const result = await setup(['--registry', REGISTRY, '--function-url', URL_V2, '--dry-run']);
    expect(result.error).toBeNull();
    expect(arm.writeCalls()).toHaveLength(writes);
    const text = result.lines.join('\n');
    expect(text).toContain('update serviceUri');
    expect(text).toContain('dry run: nothing was changed');
    expect(text).not.toContain(SECRET);
    expect(arm.webhookOf(SUBSCRIPTION, GROUP, REGISTRY, 'tagwarden')?.serviceUri).toBe(URL_V1);
  });

  it('a changed URL makes one PATCH with only the URL', async () => {
    const writes = arm.writeCalls().length;
    const result = await setup(['--registry', REGISTRY, '--function-url', URL_V2]);
    expect(result.error).toBeNull();
    const made = arm.writeCalls().slice(writes);
    expect(made.map((c) => [c.method, c.body])).toEqual([['PATCH', { properties: { serviceUri: URL_V2 } }]]);
    expect(arm.webhookOf(SUBSCRIPTION, GROUP, REGISTRY, 'tagwarden')).toMatchObject({
      serviceUri: URL_V2,
      customHeaders: { Authorization: `Bearer ${SECRET}` },
    });
  });

  it('stops on an RBAC-only registry with the exact command that switches it, and writes nothing', async () => {
    const writes = arm.writeCalls().length;
    const result = await setup(['--registry', LEGACY, '--function-url', URL_V1]);
    expect(result.error).toContain(
      `registry ${LEGACY} is in role assignment mode LegacyRegistryPermissions, where "Container Registry Repository Writer" is not honoured`,
    );
    expect(result.error).toContain(`\`${SWITCH}\``);
    expect(result.error).toContain('--legacy-roles');
    expect(result.error).not.toContain('\n');
    expect(arm.writeCalls()).toHaveLength(writes);
    expect(arm.webhookOf(SUBSCRIPTION, GROUP, LEGACY, 'tagwarden')).toBeNull();
  });

  it('with --legacy-roles sets an RBAC-only registry up, and refuses the flag on an ABAC-enabled one', async () => {
    const result = await setup(['--registry', LEGACY, '--function-url', URL_V1, '--legacy-roles']);
    expect(result.error).toBeNull();
    expect(result.lines).toContain(
      'role assignment mode LegacyRegistryPermissions: --legacy-roles, the app needs AcrPush and the tag-lock custom role (deploy main.bicep with registryPermissions=legacy)',
    );
    expect(arm.webhookOf(SUBSCRIPTION, GROUP, LEGACY, 'tagwarden')?.serviceUri).toBe(URL_V1);
    const writes = arm.writeCalls().length;
    const abac = await setup(['--registry', REGISTRY, '--function-url', URL_V2, '--legacy-roles']);
    expect(abac.error).toMatch(
      /^--legacy-roles: registry tagwardenacr is ABAC-enabled \(AbacRepositoryPermissions\)/,
    );
    expect(arm.writeCalls()).toHaveLength(writes);
  });

  it('refreshes the Key Vault references of --function-app after the webhook, and lists their status', async () => {
    arm.addSite({
      subscription: SUBSCRIPTION,
      resourceGroup: 'rg-app',
      site: 'tagwarden-abc123',
      references: { ACR_WEBHOOK_SECRET: 'Resolved', SLACK_WEBHOOK_URL: 'SecretNotFound' },
    });
    const args = ['--registry', REGISTRY, '--function-url', URL_V2, '--function-app', 'tagwarden-abc123'];
    const dry = await setup([...args, '--app-resource-group', 'rg-app', '--dry-run']);
    expect(dry.lines).toContain(
      'dry run: would refresh the Key Vault references of function app tagwarden-abc123',
    );
    expect(arm.calls.filter((c) => c.path.endsWith('/refresh'))).toHaveLength(0);
    const result = await setup([...args, '--app-resource-group', 'rg-app']);
    expect(result.error).toBeNull();
    const refresh = arm.calls.filter((c) => c.path.endsWith('/refresh'));
    expect(refresh).toEqual([
      expect.objectContaining({
        method: 'POST',
        path: `/subscriptions/${SUBSCRIPTION}/resourceGroups/rg-app/providers/Microsoft.Web/sites/tagwarden-abc123/config/configreferences/appsettings/refresh`,
        status: 200,
        authorization: 'Bearer arm-token',
      }),
    ]);
    expect(result.lines.slice(-3)).toEqual([
      'refreshed the Key Vault references of function app tagwarden-abc123',
      '  ACR_WEBHOOK_SECRET: Resolved',
      '  SLACK_WEBHOOK_URL: SecretNotFound',
    ]);
    // The app in another group than the registry, when --app-resource-group is left out: named, one line.
    const missing = await setup(args);
    expect(missing.error).toBe(
      `refreshing the Key Vault references of function app tagwarden-abc123 in resource group ${GROUP}: ARM answered 404 ResourceNotFound (is --function-app right?)`,
    );
  });

  it('names the registry that was not found, in one line, and writes nothing', async () => {
    const writes = arm.writeCalls().length;
    const result = await setup(['--registry', 'nosuchregistry', '--function-url', URL_V1]);
    expect(result.error).toBe(
      `registry nosuchregistry in resource group ${GROUP} of subscription ${SUBSCRIPTION} was not found`,
    );
    expect(arm.writeCalls()).toHaveLength(writes);
  });

  it('tells what to do when there is no Azure credential', async () => {
    const unavailable = {
      getToken: async () => {
        throw Object.assign(new Error('DefaultAzureCredential failed to retrieve a token'), {
          name: 'CredentialUnavailableError',
        });
      },
    };
    const calls = arm.calls.length;
    const result = await setup(['--registry', REGISTRY, '--function-url', URL_V1], {
      credential: unavailable,
    });
    expect(result.error).toMatch(/^no Azure credential found: run `az login`/);
    expect(arm.calls).toHaveLength(calls);
  });

  it('refuses a missing secret, a short one and a plain-http function URL before any call', async () => {
    const calls = arm.calls.length;
    const missing = await setup(['--registry', REGISTRY, '--function-url', URL_V1], {
      env: { TAGWARDEN_ARM_ENDPOINT: arm.endpoint },
    });
    expect(missing.error).toMatch(/^set TAGWARDEN_ACR_WEBHOOK_SECRET to the token the acr source expects/);
    const short = await setup(
      ['--registry', REGISTRY, '--function-url', URL_V1, '--secret-env', 'MY_SECRET'],
      {
        env: { TAGWARDEN_ARM_ENDPOINT: arm.endpoint, MY_SECRET: 'short' },
      },
    );
    expect(short.error).toBe('MY_SECRET must be at least 16 characters with no whitespace');
    const http = await setup(['--registry', REGISTRY, '--function-url', 'http://tagwarden.example/api']);
    expect(http.error).toMatch(/--function-url must be https/);
    const cloud = await setup(['--registry', REGISTRY, '--function-url', URL_V1], {
      env: { AZURE_CLOUD: 'AzureGermanCloud', TAGWARDEN_ACR_WEBHOOK_SECRET: SECRET },
    });
    expect(cloud.error).toMatch(/^AZURE_CLOUD "AzureGermanCloud" is not a cloud Tagwarden knows/);
    const badName = await setup(['--registry', 'my.azurecr.io', '--function-url', URL_V1]);
    expect(badName.error).toMatch(/--registry "my.azurecr.io" is not a registry name/);
    expect(arm.calls).toHaveLength(calls);
  });
});

describe('tagwarden azure setup as a process', () => {
  const run = (args: string[]) =>
    runCliAsync(['azure', 'setup', '--subscription', SUBSCRIPTION, '--resource-group', GROUP, ...args], {
      TAGWARDEN_ARM_ENDPOINT: arm.endpoint,
      TAGWARDEN_ARM_TOKEN: 'process-arm-token',
      TAGWARDEN_ACR_WEBHOOK_SECRET: SECRET,
    });

  it('creates a webhook under another name, then finds it up to date, exiting 0', async () => {
    const args = ['--registry', REGISTRY, '--function-url', URL_V1, '--webhook-name', 'tagwardenb'];
    const first = await run(args);
    expect(first).toMatchObject({ status: 0, stderr: '' });
    expect(first.stdout).toContain('created webhook tagwardenb');
    expect(first.stdout).toContain('header Authorization: Bearer ***');
    expect(first.stdout).not.toContain(SECRET);
    expect(arm.calls.at(-1)?.authorization).toBe('Bearer process-arm-token');
    expect(arm.webhookOf(SUBSCRIPTION, GROUP, REGISTRY, 'tagwardenb')?.serviceUri).toBe(URL_V1);

    const second = await run(args);
    expect(second.status).toBe(0);
    expect(second.stdout).toContain('webhook tagwardenb is up to date; nothing to change');
  });

  it('exits 1 with one error line when the registry does not exist', async () => {
    const result = await run(['--registry', 'nosuchregistry', '--function-url', URL_V1]);
    expect(result.status).toBe(1);
    expect(result.stderr).toBe(
      `error: registry nosuchregistry in resource group ${GROUP} of subscription ${SUBSCRIPTION} was not found\n`,
    );
  });

  it('exits 1 with one line naming the switch command on an RBAC-only registry', async () => {
    const result = await run(['--registry', LEGACY, '--function-url', URL_V2]);
    expect(result.status).toBe(1);
    expect(result.stderr.split('\n')).toHaveLength(2);
    expect(result.stderr).toContain(SWITCH);
  });

  it('exits 1 when a required option is missing, naming it', async () => {
    const result = await run(['--registry', REGISTRY]);
    expect(result.status).toBe(1);
    expect(result.stderr).toContain("required option '--function-url <url>' not specified");
  });
});

describe('ownersFromRegistryTags', () => {
  it("reads the owners from the registry's tagwarden:owners resource tag through ARM", async () => {
    const client = containerRegistryManagement(staticCredential('arm-token'), SUBSCRIPTION, arm.endpoint);
    await expect(ownersFromRegistryTags(client, GROUP, REGISTRY)).resolves.toEqual(['#payments', '@alice']);
    expect(arm.calls.at(-1)).toMatchObject({
      method: 'GET',
      path: `/subscriptions/${SUBSCRIPTION}/resourceGroups/${GROUP}/providers/Microsoft.ContainerRegistry/registries/${REGISTRY}`,
      authorization: 'Bearer arm-token',
    });
  });

  it('answers [] without the tag, and a clear permanent error for a missing registry', async () => {
    arm.addRegistry({
      subscription: SUBSCRIPTION,
      resourceGroup: GROUP,
      registry: 'untaggedacr',
      location: 'westeurope',
    });
    const client = containerRegistryManagement(staticCredential(), SUBSCRIPTION, arm.endpoint);
    await expect(ownersFromRegistryTags(client, GROUP, 'untaggedacr')).resolves.toEqual([]);
    const missing = await ownersFromRegistryTags(client, GROUP, 'nosuchregistry').catch((e: unknown) => e);
    expect(missing).toBeInstanceOf(PermanentError);
    expect((missing as Error).message).toBe(
      `registry nosuchregistry in resource group ${GROUP} was not found`,
    );
  });
});
