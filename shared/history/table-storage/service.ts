import type { TableClient } from '@azure/data-tables';
import type { Row } from './entities';
import { classify, statusOf } from './errors';

// One place turns a service failure into our TransientError/PermanentError, for the store and the failure log.

/** One entity, or null when the service has none under that key. */
export async function getRow<T extends object>(
  client: TableClient,
  pk: string,
  rowKey: string,
  what: string,
): Promise<(T & Row) | null> {
  try {
    return (await client.getEntity<T>(pk, rowKey)) as T & Row;
  } catch (error) {
    if (statusOf(error) === 404) return null;
    throw classify(error, what);
  }
}

export async function queryRows<T extends object>(
  client: TableClient,
  what: string,
  filter: string,
): Promise<(T & Row)[]> {
  const rows: (T & Row)[] = [];
  try {
    for await (const row of client.listEntities<T>({ queryOptions: { filter } })) rows.push(row as T & Row);
  } catch (error) {
    throw classify(error, what);
  }
  return rows;
}

export async function callTable<T>(what: string, run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (error) {
    throw classify(error, what);
  }
}
