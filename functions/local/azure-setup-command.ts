import type { TokenCredential } from '@azure/identity';
import type { Command } from 'commander';
import { azureCloud } from '../../shared/adapters/azure/cloud';
import { azureEndpoint } from '../../shared/adapters/azure/loopback';
import { type ArmContainerRegistry, setupAcrWebhook } from '../../shared/adapters/azure/setup';
import { errorMessage } from '../../shared/core';
import { registerPoisonCommands } from './azure-poison-command';

/**
 * `tagwarden azure setup`: checks the registry's role assignment mode (the app's registry role must
 * be honoured there), points the registry's webhook at the Tagwarden Function, idempotently, and with
 * --function-app refreshes the app's Key Vault references (run it after the vault's secrets are set).
 *
 * Environment:
 *   TAGWARDEN_ACR_WEBHOOK_SECRET (or the name --secret-env gives): the token the `acr` source
 *     expects; read from the environment, never argv, where `ps` would show it.
 *   AZURE_CLOUD: AzureCloud (default), AzureChinaCloud or AzureUSGovernment: picks the ARM endpoint.
 *   TAGWARDEN_ARM_ENDPOINT: another ARM endpoint (a local stand-in on http://127.0.0.1 in tests);
 *     overrides AZURE_CLOUD's.
 *   TAGWARDEN_ARM_TOKEN: a bearer token for ARM to use as is (e.g. `az account get-access-token
 *     --query accessToken -o tsv`); without it, DefaultAzureCredential (az login, environment,
 *     managed identity, workload identity).
 */
export interface AzureCommandDependencies {
  env?: NodeJS.ProcessEnv;
  /** Used instead of TAGWARDEN_ARM_TOKEN / DefaultAzureCredential (tests). */
  credential?: TokenCredential;
  out?: (line: string) => void;
}

interface SetupOptions {
  subscription: string;
  resourceGroup: string;
  registry: string;
  functionUrl: string;
  secretEnv: string;
  webhookName: string;
  dryRun?: boolean;
  legacyRoles?: boolean;
  functionApp?: string;
  appResourceGroup?: string;
}

const GUID = /^[0-9a-f]{8}-(?:[0-9a-f]{4}-){3}[0-9a-f]{12}$/i;
/** ACR registry and webhook names: 5 to 50 letters and digits (ARM's own rule). */
const ACR_NAME = /^[a-zA-Z0-9]{5,50}$/;
/** App Service names: 2 to 60 letters, digits and hyphens, not starting or ending with a hyphen. */
const FUNCTION_APP = /^[a-zA-Z0-9][a-zA-Z0-9-]{0,58}[a-zA-Z0-9]$/;
const RESOURCE_GROUP = /^[-\w.()]{1,89}[-\w()]$|^[-\w()]$/;
const CREDENTIAL_ERRORS = new Set([
  'CredentialUnavailableError',
  'AggregateAuthenticationError',
  'AuthenticationRequiredError',
  'AuthenticationError',
]);

export function registerAzureCommands(program: Command, dependencies: AzureCommandDependencies = {}): void {
  const azure = program
    .command('azure')
    .description('set Tagwarden up on Azure, and replay its poison queue');
  registerPoisonCommands(azure);
  azure
    .command('setup')
    .description(
      "check the registry's role mode, create or update its webhook to Tagwarden's Function (idempotent), and refresh the Function's Key Vault references",
    )
    .requiredOption('--subscription <id>', 'Azure subscription id of the registry')
    .requiredOption('--resource-group <name>', 'resource group of the registry')
    .requiredOption('--registry <name>', 'registry name (myregistry, not myregistry.azurecr.io)')
    .requiredOption('--function-url <url>', "the Function's https URL for ACR webhooks")
    .option(
      '--secret-env <name>',
      'environment variable holding the webhook token (sent as Authorization: Bearer <token>)',
      'TAGWARDEN_ACR_WEBHOOK_SECRET',
    )
    .option('--webhook-name <name>', 'name of the webhook in the registry', 'tagwarden')
    .option('--dry-run', 'print what would change, change nothing')
    .option(
      '--legacy-roles',
      'the registry stays in RBAC-only mode: the app was deployed with registryPermissions=legacy (AcrPush and a tag-lock custom role)',
    )
    .option(
      '--function-app <name>',
      'the Function App (functionAppName output): refresh its Key Vault references once the secrets are set',
    )
    .option('--app-resource-group <name>', 'resource group of the Function App (default: --resource-group)')
    .action((options: SetupOptions) => azureSetup(options, dependencies));
}

async function azureSetup(options: SetupOptions, dependencies: AzureCommandDependencies): Promise<void> {
  const env = dependencies.env ?? process.env;
  const out = dependencies.out ?? ((line: string) => process.stdout.write(`${line}\n`));
  const token = checkOptions(options, env);

  let endpoint: string;
  try {
    endpoint = env.TAGWARDEN_ARM_ENDPOINT || azureCloud(env.AZURE_CLOUD).armEndpoint;
  } catch (error) {
    throw new Error(oneLine(errorMessage(error)));
  }
  let scope: string;
  try {
    scope = `${azureEndpoint(endpoint, true).endpoint}/.default`;
  } catch (error) {
    throw new Error(`TAGWARDEN_ARM_ENDPOINT: ${oneLine(errorMessage(error))}`);
  }
  const credential = dependencies.credential ?? (await credentialFrom(env));
  await checkCredential(credential, scope);
  // Loaded on use: the ARM SDK is not needed by any other command.
  const { containerRegistryManagement } = await import('../../shared/adapters/azure/arm');
  const client: ArmContainerRegistry = containerRegistryManagement(
    credential,
    options.subscription,
    endpoint,
  );
  let result: Awaited<ReturnType<typeof setupAcrWebhook>>;
  try {
    result = await setupAcrWebhook(client, {
      subscription: options.subscription,
      resourceGroup: options.resourceGroup,
      registry: options.registry,
      webhookName: options.webhookName,
      serviceUri: options.functionUrl,
      token,
      dryRun: options.dryRun === true,
      legacyRoles: options.legacyRoles === true,
    });
  } catch (error) {
    throw new Error(oneLine(errorMessage(error)));
  }
  for (const line of result.lines) out(line);
  if (options.functionApp) {
    const app = {
      subscription: options.subscription,
      resourceGroup: options.appResourceGroup ?? options.resourceGroup,
      name: options.functionApp,
    };
    if (options.dryRun) {
      out(`dry run: would refresh the Key Vault references of function app ${app.name}`);
      return;
    }
    const { refreshKeyVaultReferences } = await import('../../shared/adapters/azure/key-vault-refresh');
    try {
      for (const line of await refreshKeyVaultReferences(credential, endpoint, app)) out(line);
    } catch (error) {
      throw new Error(oneLine(errorMessage(error)));
    }
  }
}

/** Validates every option before any call; returns the webhook token. */
function checkOptions(options: SetupOptions, env: NodeJS.ProcessEnv): string {
  if (!GUID.test(options.subscription))
    throw new Error(`--subscription ${quote(options.subscription)} is not a subscription id (a GUID)`);
  if (!RESOURCE_GROUP.test(options.resourceGroup))
    throw new Error(`--resource-group ${quote(options.resourceGroup)} is not a resource group name`);
  if (!ACR_NAME.test(options.registry))
    throw new Error(
      `--registry ${quote(options.registry)} is not a registry name (5 to 50 letters and digits, without .azurecr.io)`,
    );
  if (options.functionApp !== undefined && !FUNCTION_APP.test(options.functionApp))
    throw new Error(`--function-app ${quote(options.functionApp)} is not a function app name`);
  if (options.appResourceGroup !== undefined && !RESOURCE_GROUP.test(options.appResourceGroup))
    throw new Error(`--app-resource-group ${quote(options.appResourceGroup)} is not a resource group name`);
  if (!ACR_NAME.test(options.webhookName))
    throw new Error(`--webhook-name ${quote(options.webhookName)} must be 5 to 50 letters and digits`);
  let url: URL;
  try {
    url = new URL(options.functionUrl);
  } catch {
    throw new Error(`--function-url ${quote(options.functionUrl)} is not a URL`);
  }
  if (url.protocol !== 'https:')
    throw new Error(`--function-url must be https: the webhook sends the token in a header`);
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(options.secretEnv))
    throw new Error(`--secret-env ${quote(options.secretEnv)} is not an environment variable name`);
  const token = env[options.secretEnv];
  if (!token)
    throw new Error(
      `set ${options.secretEnv} to the token the acr source expects (sources.acr.token); it is read from the environment so it never shows in the process list`,
    );
  if (token.length < 16 || /\s/.test(token))
    throw new Error(`${options.secretEnv} must be at least 16 characters with no whitespace`);
  return token;
}

async function credentialFrom(env: NodeJS.ProcessEnv): Promise<TokenCredential> {
  const fixed = env.TAGWARDEN_ARM_TOKEN;
  if (fixed) return { getToken: async () => ({ token: fixed, expiresOnTimestamp: Date.now() + 5 * 60_000 }) };
  const { DefaultAzureCredential } = await import('@azure/identity');
  return new DefaultAzureCredential();
}

/** Fails early, in one line, when no credential is found: the SDK's message lists every attempt. */
async function checkCredential(credential: TokenCredential, scope: string): Promise<void> {
  try {
    const token = await credential.getToken(scope);
    if (token) return;
  } catch (error) {
    const name = (error as { name?: unknown }).name;
    if (typeof name !== 'string' || !CREDENTIAL_ERRORS.has(name))
      throw new Error(`getting an Azure token failed: ${oneLine(errorMessage(error))}`);
  }
  throw new Error(
    'no Azure credential found: run `az login`, set AZURE_TENANT_ID, AZURE_CLIENT_ID and AZURE_CLIENT_SECRET, run with a managed identity, or set TAGWARDEN_ARM_TOKEN',
  );
}

function oneLine(text: string): string {
  const first = text.split('\n')[0] ?? '';
  // Long enough for the longest message of ours (the mode check names registry, group and subscription).
  return first.length > 600 ? `${first.slice(0, 597)}...` : first;
}

function quote(text: string): string {
  return JSON.stringify(text.length > 100 ? `${text.slice(0, 100)}...` : text);
}
