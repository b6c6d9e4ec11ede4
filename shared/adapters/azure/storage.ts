import { TableClient } from '@azure/data-tables';
import type { TokenCredential } from '@azure/identity';
import { QueueClient, QueueServiceClient } from '@azure/storage-queue';
import { azureCloud } from './cloud';

/**
 * The storage account of an Azure deployment: the history table and the poison queue, reached with
 * a connection string (Azurite, key-based) or by identity with the account name. The Function and
 * the operator's `tagwarden azure poison` commands open them the same way.
 */

export interface StorageSettings {
  /** A Storage connection string for the history table and the poison queue (Azurite, or key-based). */
  TAGWARDEN_STORAGE?: string;
  /** Identity-based storage instead: the account name; the managed identity needs the data roles. */
  TAGWARDEN_STORAGE_ACCOUNT?: string;
  /** The Functions host's own storage, used when neither of the above is set: a connection string… */
  AzureWebJobsStorage?: string;
  /** …or, identity-based (what the template and Flex Consumption set), its account name. */
  AzureWebJobsStorage__accountName?: string;
  TAGWARDEN_HISTORY_TABLE?: string;
  TAGWARDEN_POISON_QUEUE?: string;
  /**
   * The Azure cloud (AzureCloud, AzureChinaCloud, AzureUSGovernment; the template sets it): picks the
   * storage endpoint suffix and the ARM endpoint. Left out: the cloud of TAGWARDEN_REGISTRIES' hosts.
   */
  AZURE_CLOUD?: string;
  /** Comma-separated login servers Tagwarden may act on; left out: any `*.azurecr.io|cn|us` host. */
  TAGWARDEN_REGISTRIES?: string;
}

export const DEFAULT_POISON_QUEUE = 'tagwarden-poison';

export interface StorageClients {
  table: TableClient;
  queue: QueueClient;
}

function isPlainHttp(connectionString: string): boolean {
  return /UseDevelopmentStorage=true|Endpoint=http:\/\//i.test(connectionString);
}

/** The table (TAGWARDEN_HISTORY_TABLE or `defaultTable`) and the poison queue the settings name. */
export function storageClients(
  env: StorageSettings,
  credential: () => TokenCredential,
  defaultTable: string,
): StorageClients {
  const tableName = env.TAGWARDEN_HISTORY_TABLE?.trim() || defaultTable;
  const queueName = env.TAGWARDEN_POISON_QUEUE?.trim() || DEFAULT_POISON_QUEUE;
  const connectionString = env.TAGWARDEN_STORAGE?.trim();
  const account =
    env.TAGWARDEN_STORAGE_ACCOUNT?.trim() ||
    (env.AzureWebJobsStorage?.trim() ? undefined : env.AzureWebJobsStorage__accountName?.trim());
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
    const suffix = azureCloud(env.AZURE_CLOUD, env.TAGWARDEN_REGISTRIES).storageSuffix;
    return {
      table: new TableClient(`https://${account}.table.${suffix}`, tableName, identity),
      queue: new QueueClient(`https://${account}.queue.${suffix}/${queueName}`, identity),
    };
  }
  throw new Error(
    'no storage configured: set TAGWARDEN_STORAGE_ACCOUNT (managed identity) or TAGWARDEN_STORAGE (connection string)',
  );
}
