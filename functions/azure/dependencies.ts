import { TableClient } from '@azure/data-tables';
import { DefaultAzureCredential, type TokenCredential } from '@azure/identity';
import { QueueClient, QueueServiceClient } from '@azure/storage-queue';
import { containerRegistryManagement } from '../../shared/adapters/azure/arm';
import { type ArmRegistryReader, registryOwners } from '../../shared/adapters/azure/owners';
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
import { EffectRunner } from '../../shared/guard/effects';
import type { IngestDeps } from '../../shared/guard/ingest';
import type { HistoryStore } from '../../shared/history/port';
import { DEFAULT_HISTORY_TABLE, TableStorageHistoryStore } from '../../shared/history/table-storage';
import { consoleLogger, type Logger } from '../../shared/log';
import { StorageQueuePoison } from './poison';
import { azurePolicy } from './policy';

/**
 * The Azure composition root: app settings → adapters, built once per worker. Secrets arrive as app
 * settings that the platform resolves from Key Vault references (`@Microsoft.KeyVault(SecretUri=…)`),
 * so the code reads plain environment variables and never calls Key Vault itself.
 */

export interface AzureEnvironment {
  /** A Storage connection string for the history table and the poison queue (Azurite, or key-based). */
  TAGWARDEN_STORAGE?: string;
  /** Identity-based storage instead: the account name; the managed identity needs the data roles. */
  TAGWARDEN_STORAGE_ACCOUNT?: string;
  /** The Functions host's own storage, used when neither of the above is set. */
  AzureWebJobsStorage?: string;
  TAGWARDEN_HISTORY_TABLE?: string;
  TAGWARDEN_POISON_QUEUE?: string;
  /** The policy as JSON (the deployment converts the YAML file), validated like the AWS runtime's. */
  POLICY?: string;
  SLACK_WEBHOOK_URL?: string;
  /** The shared secret ACR sends as `Authorization: Bearer …` (and Event Grid as `?token=`). */
  ACR_WEBHOOK_SECRET?: string;
  /** Comma-separated login servers Tagwarden may act on; left out: any `*.azurecr.io` host. */
  TAGWARDEN_REGISTRIES?: string;
  /** Comma-separated ARM ids of the registries whose `tagwarden:owners` resource tag names alert owners. */
  TAGWARDEN_REGISTRY_IDS?: string;
  /**
   * Cluster endpoints for digest bumps: a JSON list like the config file's `clusters` (a Key Vault
   * reference in Azure: the entries hold HMAC keys and passwords). Left out: bumps are not sent.
   */
  TAGWARDEN_CLUSTERS?: string;
}

export { DEFAULT_HISTORY_TABLE };
export const DEFAULT_POISON_QUEUE = 'tagwarden-poison';
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
}

/** ACR login servers in every Azure cloud: public, China, US Government. */
const ACR_HOST = /^[a-z0-9]{5,50}\.azurecr\.(?:io|cn|us)$/;

/** A setting that still reads `@Microsoft.KeyVault(...)` was not resolved: the platform could not read the secret. */
function setting(
  env: AzureEnvironment,
  name: 'SLACK_WEBHOOK_URL' | 'ACR_WEBHOOK_SECRET' | 'TAGWARDEN_CLUSTERS',
): string | undefined {
  const value = env[name]?.trim();
  if (!value) return undefined;
  if (value.startsWith('@Microsoft.KeyVault('))
    throw new Error(
      `${name} is an unresolved Key Vault reference; give the Function App's identity "Key Vault Secrets User" on the vault and check the secret exists`,
    );
  return value;
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
        ...(endpoint ? { endpoint, allowInsecureConnection: endpoint.startsWith('http://') } : {}),
      });
      clients.set(name, registry);
    }
    return registry;
  };
}

interface StorageClients {
  table: TableClient;
  queue: QueueClient;
}

function isPlainHttp(connectionString: string): boolean {
  return /UseDevelopmentStorage=true|Endpoint=http:\/\//i.test(connectionString);
}

export function storageClients(env: AzureEnvironment, credential: () => TokenCredential): StorageClients {
  const tableName = env.TAGWARDEN_HISTORY_TABLE?.trim() || DEFAULT_HISTORY_TABLE;
  const queueName = env.TAGWARDEN_POISON_QUEUE?.trim() || DEFAULT_POISON_QUEUE;
  const connectionString = env.TAGWARDEN_STORAGE?.trim();
  const account = env.TAGWARDEN_STORAGE_ACCOUNT?.trim();
  if (connectionString || (!account && env.AzureWebJobsStorage?.trim())) {
    const text = (connectionString || env.AzureWebJobsStorage?.trim())!;
    return {
      table: TableClient.fromConnectionString(text, tableName, {
        allowInsecureConnection: isPlainHttp(text),
      }),
      queue: QueueServiceClient.fromConnectionString(text).getQueueClient(queueName),
    };
  }
  if (account) {
    if (!/^[a-z0-9]{3,24}$/.test(account))
      throw new Error(`TAGWARDEN_STORAGE_ACCOUNT "${account.slice(0, 40)}" is not a storage account name`);
    const identity = credential();
    return {
      table: new TableClient(`https://${account}.table.core.windows.net`, tableName, identity),
      queue: new QueueClient(`https://${account}.queue.core.windows.net/${queueName}`, identity),
    };
  }
  throw new Error(
    'no storage configured: set TAGWARDEN_STORAGE_ACCOUNT (managed identity) or TAGWARDEN_STORAGE (connection string)',
  );
}

/**
 * The history store on the table (created if missing). The deployment creates the table, so a
 * failure here only means the service is down right now: start anyway, and let deliveries go to the
 * poison queue until it answers, rather than refuse every request.
 */
export async function openTableStore(table: TableClient, log: Logger): Promise<HistoryStore> {
  const store = new TableStorageHistoryStore(table);
  try {
    await store.ensureTable();
  } catch (error) {
    log.warn('could not check the history table; deliveries go to the poison queue until it answers', {
      table: table.tableName,
      error: errorMessage(error),
    });
  }
  return store;
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

/** Builds every adapter from the settings. Throws one clear line when a setting is missing or wrong. */
export async function buildAzureDependencies(overrides: AzureOverrides = {}): Promise<AzureDependencies> {
  const env = overrides.env ?? (process.env as AzureEnvironment);
  const log = overrides.log ?? consoleLogger();
  const policy = azurePolicy(env.POLICY);
  const secret = setting(env, 'ACR_WEBHOOK_SECRET');
  if (!secret || secret.length < MIN_SECRET_LENGTH)
    throw new Error(
      `ACR_WEBHOOK_SECRET must be set to at least ${MIN_SECRET_LENGTH} characters (a Key Vault reference in Azure)`,
    );
  const slackWebhookUrl = setting(env, 'SLACK_WEBHOOK_URL');
  const clusters = new ClusterSender(azureClusters(env));
  let credential = overrides.credential;
  const identity = () => {
    credential ??= new DefaultAzureCredential();
    return credential;
  };
  const clients = storageClients(env, identity);
  const store = await (overrides.openStore ?? ((table) => openTableStore(table, log)))(clients.table);
  const poison = new StorageQueuePoison(clients.queue);
  try {
    await poison.ensureQueue();
  } catch (error) {
    log.warn('could not check the poison queue; it is needed only when the history table fails', {
      queue: poison.name,
      error: errorMessage(error),
    });
  }
  const channel = overrides.notifier ?? alertChannel({ webhookUrl: slackWebhookUrl });
  const armFor =
    overrides.armFor ??
    ((subscription: string) => containerRegistryManagement(identity(), subscription) as ArmRegistryReader);
  const notifier = new RepositoryOwnersNotifier(
    channel,
    cachedRepositoryOwners(registryOwners(env.TAGWARDEN_REGISTRY_IDS, armFor)),
    log,
  );
  const registries =
    overrides.registries ?? acrRegistries(identity(), env.TAGWARDEN_REGISTRIES, overrides.acrEndpointFor);
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
    // ACR webhooks carry the secret in a custom header; Event Grid cannot, so it travels as `?token=`.
    // Never open: a source without the secret is refused (401), whatever it sends.
    auth: (source) => (source === 'acr' || source === 'acr-eventgrid' ? { token: secret } : null),
    ...(overrides.now ? { now: overrides.now } : {}),
  };
}

/** Once per worker; a failed build is tried again on the next invocation. */
export const azureDependencies = builtOnce(() => buildAzureDependencies());
