import type { TableClient } from '@azure/data-tables';
import { DefaultAzureCredential, type TokenCredential } from '@azure/identity';
import type { QueueClient } from '@azure/storage-queue';
import { containerRegistryManagement } from '../../shared/adapters/azure/arm';
import { type AzureCloud, azureCloud, cloudOfRegistry } from '../../shared/adapters/azure/cloud';
import { type ArmRegistryReader, registryOwners } from '../../shared/adapters/azure/owners';
import { StorageQueuePoison } from '../../shared/adapters/azure/poison-queue';
import { type StorageSettings, storageClients } from '../../shared/adapters/azure/storage';
import { ClusterSender } from '../../shared/adapters/cluster/sender';
import { alertChannel } from '../../shared/adapters/notify/channel';
import type { Notifier } from '../../shared/adapters/notify/port';
import {
  cachedRepositoryOwners,
  RepositoryOwnersNotifier,
} from '../../shared/adapters/notify/repository-owners';
import { AcrRegistry } from '../../shared/adapters/registry/acr';
import type { RegistryResolver } from '../../shared/adapters/registry/port';
import { builtOnce } from '../../shared/built-once';
import { clustersFrom } from '../../shared/config/cluster-schema';
import type { ClusterEndpoint } from '../../shared/contracts/cluster-bump/endpoint';
import { errorMessage, type Policy } from '../../shared/core';
import { clusterSecrets } from '../../shared/guard/drift';
import { EffectRunner } from '../../shared/guard/effects';
import type { IngestDeps } from '../../shared/guard/ingest';
import { openHistoryTable } from '../../shared/guard/poison';
import type { HistoryStore } from '../../shared/history/port';
import { DEFAULT_HISTORY_TABLE, TableStorageHistoryStore } from '../../shared/history/table-storage';
import { consoleLogger, type Logger } from '../../shared/log';
import { azurePolicy } from './policy';

/**
 * The Azure composition root: app settings → adapters, built once per worker. Secrets arrive as app
 * settings that the platform resolves from Key Vault references (`@Microsoft.KeyVault(SecretUri=…)`),
 * so the code reads plain environment variables and never calls Key Vault itself.
 */

export interface AzureEnvironment extends StorageSettings {
  /** The policy as JSON (the deployment converts the YAML file), validated like the AWS runtime's. */
  POLICY?: string;
  SLACK_WEBHOOK_URL?: string;
  /** The Slack app's signing secret: set, `POST /api/slack/actions` takes clicks on alerts' buttons. */
  SLACK_SIGNING_SECRET?: string;
  /** The shared secret ACR sends as `Authorization: Bearer …` (and Event Grid as `?token=`). */
  ACR_WEBHOOK_SECRET?: string;
  /** Comma-separated ARM ids of the registries whose `tagwarden:owners` resource tag names alert owners. */
  TAGWARDEN_REGISTRY_IDS?: string;
  /**
   * Cluster endpoints for digest bumps: a JSON list like the config file's `clusters` (a Key Vault
   * reference in Azure: the entries hold HMAC keys and passwords). Left out: bumps are not sent.
   */
  TAGWARDEN_CLUSTERS?: string;
}

export { DEFAULT_POISON_QUEUE } from '../../shared/adapters/azure/storage';
export { DEFAULT_HISTORY_TABLE };

const MIN_SECRET_LENGTH = 16;

/** How a trigger gets the worker's dependencies (built once, see azureDependencies). */
export type DependenciesProvider = () => Promise<AzureDependencies>;

export interface AzureDependencies extends IngestDeps {
  /** The composition root owns the whole store; use cases see only the ports they need. */
  store: HistoryStore;
  policy: Policy;
  registries: RegistryResolver;
  notifier: Notifier;
  log: Logger;
  runner: EffectRunner;
  poison: StorageQueuePoison;
  /** The secret a drift report of each `TAGWARDEN_CLUSTERS` entry is signed with (format tagwarden). */
  clusterSecret: (name: string) => string | null;
}

/** ACR login servers in every Azure cloud: public, China, US Government. */
const ACR_HOST = /^[a-z0-9]{5,50}\.azurecr\.(?:io|cn|us)$/;

/** A setting that still reads `@Microsoft.KeyVault(...)` was not resolved: the platform could not read the secret. */
export function setting(
  env: AzureEnvironment,
  name: 'SLACK_WEBHOOK_URL' | 'SLACK_SIGNING_SECRET' | 'ACR_WEBHOOK_SECRET' | 'TAGWARDEN_CLUSTERS',
): string | undefined {
  const value = env[name]?.trim();
  if (!value) return undefined;
  if (value.startsWith('@Microsoft.KeyVault('))
    throw new Error(
      `${name} is an unresolved Key Vault reference; give the Function App's identity "Key Vault Secrets User" on the vault and check the secret exists`,
    );
  return value;
}

/**
 * Slack is optional: left out, empty, or a Key Vault reference the platform could not resolve (the
 * secret was never set) all mean "no Slack": alerts go to the function log, and an unresolved
 * reference is named in a warning so it can be fixed. Nothing else stops for it.
 */
export function slackUrl(env: AzureEnvironment, log: Logger): string | undefined {
  return optionalSlackSetting(env, 'SLACK_WEBHOOK_URL', log, 'alerts go to the function log');
}

/** The same for SLACK_SIGNING_SECRET, as far as alerts go: set and usable, they carry buttons. */
function optionalSlackSetting(
  env: AzureEnvironment,
  name: 'SLACK_WEBHOOK_URL' | 'SLACK_SIGNING_SECRET',
  log: Logger,
  consequence: string,
): string | undefined {
  try {
    return setting(env, name);
  } catch (error) {
    log.warn(`${consequence}: ${name} is not usable`, { error: errorMessage(error) });
    return undefined;
  }
}

/** The cluster endpoints of TAGWARDEN_CLUSTERS, validated like the config file's `clusters`. */
export function azureClusters(env: AzureEnvironment): ClusterEndpoint[] {
  const text = setting(env, 'TAGWARDEN_CLUSTERS');
  if (text === undefined) return [];
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    // Never the text itself: it holds the cluster secrets.
    throw new Error(
      'TAGWARDEN_CLUSTERS is not JSON; expected a list like [{"name": "prod", "url": "https://…", "secret": "…"}]',
    );
  }
  return clustersFrom(value, 'TAGWARDEN_CLUSTERS is invalid');
}

/** One AcrRegistry per login server, acting with the Function App's managed identity. */
export function acrRegistries(
  credential: TokenCredential,
  allowed: string | undefined,
  endpointFor?: (host: string) => string,
  cloud: AzureCloud = azureCloud(undefined, allowed),
): RegistryResolver {
  const allowList = (allowed ?? '')
    .split(',')
    .map((host) => host.trim().toLowerCase())
    .filter(Boolean);
  const clients = new Map<string, AcrRegistry>();
  return (host) => {
    const name = host.toLowerCase();
    // The host comes from the event: only configured (or at least ACR-shaped) hosts are ever called.
    if (allowList.length > 0 ? !allowList.includes(name) : !ACR_HOST.test(name)) return null;
    let registry = clients.get(name);
    if (!registry) {
      const endpoint = endpointFor?.(name);
      registry = new AcrRegistry({
        loginServer: name,
        credential,
        // A `.azurecr.cn` host asks for the China audience, `.azurecr.us` for US Government's; a custom
        // domain (allow-listed) for the deployment's cloud's.
        audience: (cloudOfRegistry(name) ?? cloud).acrAudience,
        ...(endpoint ? { endpoint, allowInsecureConnection: endpoint.startsWith('http://') } : {}),
      });
      clients.set(name, registry);
    }
    return registry;
  };
}

/** The history store on the table (created if missing; a table that does not answer yet only warns). */
export function openTableStore(table: TableClient, log: Logger): Promise<HistoryStore> {
  return openHistoryTable(new TableStorageHistoryStore(table), table.tableName, log);
}

export interface AzureOverrides {
  env?: AzureEnvironment;
  credential?: TokenCredential;
  /** Instead of the Table Storage store on the table the settings name (tests, dry runs). */
  openStore?: (table: TableClient) => Promise<HistoryStore>;
  /** Where each ACR login server is reached instead of `https://<host>` (tests: a local stand-in). */
  acrEndpointFor?: (host: string) => string;
  registries?: RegistryResolver;
  notifier?: Notifier;
  /** How registry tags are read (tests: a stand-in); default: ARM with the managed identity. */
  armFor?: (subscription: string) => ArmRegistryReader;
  log?: Logger;
  now?: () => Date;
}

function webhookSecret(env: AzureEnvironment): string {
  const secret = setting(env, 'ACR_WEBHOOK_SECRET');
  if (!secret || secret.length < MIN_SECRET_LENGTH)
    throw new Error(
      `ACR_WEBHOOK_SECRET must be set to at least ${MIN_SECRET_LENGTH} characters (a Key Vault reference in Azure)`,
    );
  return secret;
}

/** The poison queue (created if missing; a queue that does not answer yet only warns). */
async function openPoisonQueue(queue: QueueClient, log: Logger): Promise<StorageQueuePoison> {
  const poison = new StorageQueuePoison(queue);
  try {
    await poison.ensureQueue();
  } catch (error) {
    log.warn('could not check the poison queue; it is needed only when the history table fails', {
      queue: poison.name,
      error: errorMessage(error),
    });
  }
  return poison;
}

/** Builds every adapter from the settings. Throws one clear line when a setting is missing or wrong. */
export async function buildAzureDependencies(overrides: AzureOverrides = {}): Promise<AzureDependencies> {
  const env = overrides.env ?? (process.env as AzureEnvironment);
  const log = overrides.log ?? consoleLogger();
  const policy = azurePolicy(env.POLICY);
  const secret = webhookSecret(env);
  const slackWebhookUrl = slackUrl(env, log);
  const endpoints = azureClusters(env);
  const clusters = new ClusterSender(endpoints);
  const cloud = azureCloud(env.AZURE_CLOUD, env.TAGWARDEN_REGISTRIES);
  let credential = overrides.credential;
  const identity = () => {
    credential ??= new DefaultAzureCredential();
    return credential;
  };
  const clients = storageClients(env, identity, DEFAULT_HISTORY_TABLE);
  const store = await (overrides.openStore ?? ((table) => openTableStore(table, log)))(clients.table);
  const poison = await openPoisonQueue(clients.queue, log);
  const signingSecret = optionalSlackSetting(env, 'SLACK_SIGNING_SECRET', log, 'alerts carry no buttons');
  const channel = overrides.notifier ?? alertChannel({ webhookUrl: slackWebhookUrl, signingSecret });
  const armFor =
    overrides.armFor ??
    ((subscription: string) =>
      containerRegistryManagement(identity(), subscription, cloud.armEndpoint) as ArmRegistryReader);
  const notifier = new RepositoryOwnersNotifier(
    channel,
    cachedRepositoryOwners(registryOwners(env.TAGWARDEN_REGISTRY_IDS, armFor)),
    log,
  );
  const registries =
    overrides.registries ??
    acrRegistries(identity(), env.TAGWARDEN_REGISTRIES, overrides.acrEndpointFor, cloud);
  const runner = new EffectRunner({
    store,
    registries,
    notifier,
    log,
    policy,
    clusters,
    retryHint: (key) =>
      `Effect ${key} failed for good and stays in the Table Storage history; the tagwardenEffects timer retries only pending effects, so act on this one by hand (\`tagwarden azure poison replay\` replays bodies, not effects).`,
    ...(overrides.now ? { now: overrides.now } : {}),
  });
  return {
    store,
    policy,
    registries,
    notifier,
    log,
    runner,
    poison,
    clusterSecret: clusterSecrets(endpoints),
    // ACR webhooks carry the secret in a custom header; Event Grid cannot, so it travels as `?token=`.
    // Never open: a source without the secret is refused (401), whatever it sends.
    auth: (source) => (source === 'acr' || source === 'acr-eventgrid' ? { token: secret } : null),
    ...(overrides.now ? { now: overrides.now } : {}),
  };
}

/** Once per worker; a failed build is tried again on the next invocation. */
export const azureDependencies = builtOnce(() => buildAzureDependencies());
