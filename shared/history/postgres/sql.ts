import type { Pool, PoolClient } from 'pg';
import type { OutboxEffect } from '../../core';

/** A pool or a client inside a transaction: what a read needs. */
export type Queryable = Pick<Pool, 'query'> | PoolClient;

/** Runs `work` in one transaction on a client of its own: committed when it returns, rolled back when it throws. */
export async function inTransaction<T>(pool: Pool, work: (client: PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  // The server going away mid-transaction fails the query in flight; never crash the process with it.
  const ignore = () => undefined;
  client.on('error', ignore);
  try {
    await client.query('BEGIN');
    const result = await work(client);
    await client.query('COMMIT');
    return result;
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  } finally {
    client.off('error', ignore);
    client.release();
  }
}

/** One outbox row; an effect already there under its key (`eventId#kind`) is kept as it is. */
export async function insertEffect(client: PoolClient, row: OutboxEffect): Promise<void> {
  await client.query(
    `INSERT INTO outbox (key, event_id, kind, position, effect, status, attempts, next_attempt_at, last_error, outcome, updated_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, NULL, NULL, $8) ON CONFLICT DO NOTHING`,
    [
      row.key,
      row.eventId,
      row.kind,
      row.position,
      JSON.stringify(row.effect),
      row.status,
      row.attempts,
      row.nextAttemptAt,
    ],
  );
}
