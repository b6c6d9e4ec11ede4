import type { Pool } from 'pg';

/** Text compared and sorted byte by byte, as SQLite does: ISO times, keys and tags order the same whatever the database's locale. */
const T = 'TEXT COLLATE "C"';

/**
 * The schema, one step per version: a database at version n gets steps n+1… on start. Append only;
 * a step already released is never edited.
 */
export const MIGRATIONS: readonly string[] = [
  `CREATE TABLE tags (
     registry_host ${T} NOT NULL, repository ${T} NOT NULL, tag ${T} NOT NULL,
     digest ${T}, last_digest ${T}, event_time ${T} NOT NULL, event_id ${T} NOT NULL,
     pending_restore TEXT, approved_digest ${T}, version INTEGER NOT NULL, last_attempt TEXT,
     PRIMARY KEY (registry_host, repository, tag));
   CREATE TABLE history (
     seq BIGSERIAL PRIMARY KEY, event_id ${T} NOT NULL UNIQUE,
     action ${T} NOT NULL, registry_host ${T} NOT NULL, repository ${T} NOT NULL, tag ${T} NOT NULL,
     digest ${T}, previous_digest ${T}, transition ${T} NOT NULL,
     event_time ${T} NOT NULL, received_at ${T} NOT NULL, actor TEXT);
   CREATE INDEX history_by_tag ON history (registry_host, repository, tag, seq);
   CREATE TABLE outbox (
     key ${T} PRIMARY KEY, event_id ${T} NOT NULL, kind ${T} NOT NULL, position INTEGER NOT NULL,
     effect TEXT NOT NULL, status ${T} NOT NULL, attempts INTEGER NOT NULL, next_attempt_at ${T} NOT NULL,
     last_error TEXT, outcome TEXT, updated_at ${T} NOT NULL);
   CREATE INDEX outbox_due ON outbox (status, next_attempt_at);
   CREATE INDEX outbox_by_event ON outbox (event_id, position);
   CREATE TABLE failures (
     id BIGSERIAL PRIMARY KEY, source TEXT NOT NULL, reason TEXT NOT NULL,
     payload TEXT NOT NULL, received_at ${T} NOT NULL);`,
  // Drift reports (issue 15): the open findings per cluster, the report ids seen, a row per change.
  `CREATE TABLE drift_open (
     cluster ${T} NOT NULL, key ${T} NOT NULL, finding TEXT NOT NULL, opened_at ${T} NOT NULL,
     report_id ${T} NOT NULL, PRIMARY KEY (cluster, key));
   CREATE TABLE drift_reports (
     cluster ${T} NOT NULL, report_id ${T} NOT NULL, received_at ${T} NOT NULL, PRIMARY KEY (cluster, report_id));
   CREATE INDEX drift_reports_by_time ON drift_reports (received_at);
   CREATE TABLE drift_history (
     seq BIGSERIAL PRIMARY KEY, registry_host ${T} NOT NULL, repository ${T} NOT NULL, tag ${T} NOT NULL,
     cluster ${T} NOT NULL, change ${T} NOT NULL, key ${T} NOT NULL, finding TEXT NOT NULL,
     report_id ${T} NOT NULL, received_at ${T} NOT NULL);
   CREATE INDEX drift_history_by_tag ON drift_history (registry_host, repository, tag, seq);`,
];

/** Any constant shared by every Tagwarden: the advisory lock only migrations take. */
const MIGRATION_LOCK = 0x7461_6777;

/**
 * Brings the schema to the latest version, idempotently. Under a transaction-scoped advisory lock, so
 * two replicas starting at once migrate one after the other: the second finds the work done.
 * Returns the versions it applied.
 */
export async function migrate(pool: Pool): Promise<number[]> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    await client.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK]);
    await client.query('CREATE TABLE IF NOT EXISTS schema_version (version INTEGER PRIMARY KEY)');
    const { rows } = await client.query<{ v: number | null }>('SELECT max(version) AS v FROM schema_version');
    const applied: number[] = [];
    for (let version = (rows[0]?.v ?? 0) + 1; version <= MIGRATIONS.length; version++) {
      await client.query(MIGRATIONS[version - 1]!);
      await client.query('INSERT INTO schema_version (version) VALUES ($1)', [version]);
      applied.push(version);
    }
    await client.query('COMMIT');
    return applied;
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  } finally {
    client.release();
  }
}
