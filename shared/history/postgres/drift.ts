import type { Pool, PoolClient } from 'pg';
import { type OpenFinding, outboxRows, type TagRef } from '../../core';
import type { DriftApplyResult, DriftLog, DriftPlan, DriftReportInput, DriftRow } from '../drift-port';
import { type DriftHistoryRow, type OpenRow, toDriftRow, toOpen } from '../sqlite/drift';
import { insertEffect, inTransaction, type Queryable } from './sql';

/** The first key of the advisory locks drift reports take, the second being the cluster's hash. */
const DRIFT_LOCK = 0x6472_6966;

async function openOf(db: Queryable, cluster?: string): Promise<OpenFinding[]> {
  const { rows } =
    cluster === undefined
      ? await db.query<OpenRow>('SELECT * FROM drift_open ORDER BY cluster, key')
      : await db.query<OpenRow>('SELECT * FROM drift_open WHERE cluster = $1 ORDER BY key', [cluster]);
  return rows.map(toOpen);
}

/**
 * Drift findings in PostgreSQL, beside the tags. `applyReport` is one transaction that first takes
 * an advisory lock on the report's cluster: two replicas receiving reports of one cluster at once
 * record them one after the other, so the second reads the open set (and the report ids) the first
 * committed, and no finding is opened, or alerted, twice.
 */
export class PostgresDriftLog implements DriftLog {
  constructor(private readonly pool: Pool) {}

  openFindings(cluster?: string): Promise<OpenFinding[]> {
    return openOf(this.pool, cluster);
  }

  applyReport(input: DriftReportInput, plan: (open: OpenFinding[]) => DriftPlan): Promise<DriftApplyResult> {
    return inTransaction(this.pool, (client) => applyOne(client, input, plan));
  }

  async driftHistory(ref: TagRef): Promise<DriftRow[]> {
    const { rows } = await this.pool.query<DriftHistoryRow>(
      'SELECT * FROM drift_history WHERE registry_host = $1 AND repository = $2 AND tag = $3 ORDER BY seq',
      [ref.registryHost, ref.repository, ref.tag],
    );
    return rows.map(toDriftRow);
  }
}

async function applyOne(
  client: PoolClient,
  input: DriftReportInput,
  plan: (open: OpenFinding[]) => DriftPlan,
): Promise<DriftApplyResult> {
  const { cluster, reportId, receivedAt } = input;
  await client.query('SELECT pg_advisory_xact_lock($1, hashtext($2))', [DRIFT_LOCK, cluster]);
  await client.query('DELETE FROM drift_reports WHERE received_at < $1', [input.forgetBefore]);
  const remembered = await client.query(
    'INSERT INTO drift_reports (cluster, report_id, received_at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING',
    [cluster, reportId, receivedAt],
  );
  if (remembered.rowCount === 0) return { kind: 'replay' };
  const { diff, effects } = plan(await openOf(client, cluster));
  const row = (change: DriftRow['change'], key: string, finding: OpenFinding['finding']) =>
    client.query(
      `INSERT INTO drift_history (registry_host, repository, tag, cluster, change, key, finding, report_id, received_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
      [
        ...[finding.registryHost, finding.repository, finding.tag, cluster, change, key],
        ...[JSON.stringify(finding), reportId, receivedAt],
      ],
    );
  for (const f of diff.cleared) {
    await client.query('DELETE FROM drift_open WHERE cluster = $1 AND key = $2', [cluster, f.key]);
    await row('cleared', f.key, f.finding);
  }
  for (const f of diff.opened) {
    await client.query(
      'INSERT INTO drift_open (cluster, key, finding, opened_at, report_id) VALUES ($1, $2, $3, $4, $5)',
      [cluster, f.key, JSON.stringify(f.finding), receivedAt, reportId],
    );
    await row('opened', f.key, f.finding);
  }
  for (const e of effects)
    for (const r of outboxRows(e.eventId, e.effects, receivedAt)) await insertEffect(client, r);
  return { kind: 'applied', opened: diff.opened.length, cleared: diff.cleared.length };
}
