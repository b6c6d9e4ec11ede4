import type Database from 'better-sqlite3';
import { type OpenFinding, outboxRows, type TagRef } from '../../core';
import type { DriftApplyResult, DriftLog, DriftPlan, DriftReportInput, DriftRow } from '../drift-port';

const DRIFT_SCHEMA = `
CREATE TABLE IF NOT EXISTS drift_open (
  cluster TEXT NOT NULL, key TEXT NOT NULL, finding TEXT NOT NULL, opened_at TEXT NOT NULL, report_id TEXT NOT NULL,
  PRIMARY KEY (cluster, key)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS drift_reports (
  cluster TEXT NOT NULL, report_id TEXT NOT NULL, received_at TEXT NOT NULL, PRIMARY KEY (cluster, report_id)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS drift_history (
  seq INTEGER PRIMARY KEY, registry_host TEXT NOT NULL, repository TEXT NOT NULL, tag TEXT NOT NULL,
  cluster TEXT NOT NULL, change TEXT NOT NULL, key TEXT NOT NULL, finding TEXT NOT NULL,
  report_id TEXT NOT NULL, received_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS drift_history_by_tag ON drift_history (registry_host, repository, tag, seq);
`;

/** A `drift_open` row as SQLite and PostgreSQL both return it. */
export interface OpenRow {
  cluster: string;
  key: string;
  finding: string;
  opened_at: string;
  report_id: string;
}

/** A `drift_history` row (PostgreSQL returns a BIGSERIAL as a string). */
export interface DriftHistoryRow {
  seq: number | string;
  cluster: string;
  change: DriftRow['change'];
  key: string;
  finding: string;
  report_id: string;
  received_at: string;
}

export const toOpen = (r: OpenRow): OpenFinding => ({
  cluster: r.cluster,
  key: r.key,
  finding: JSON.parse(r.finding),
  openedAt: r.opened_at,
  reportId: r.report_id,
});

/**
 * Drift findings in the history file, beside the tags. `applyReport` is one `BEGIN IMMEDIATE`
 * transaction: the replay check, the read of open findings, the rows and the outbox alerts.
 */
export class SqliteDriftLog implements DriftLog {
  private readonly statements;
  private readonly applyTransaction;

  constructor(db: Database.Database) {
    db.exec(DRIFT_SCHEMA);
    this.statements = {
      allOpen: db.prepare<[], OpenRow>('SELECT * FROM drift_open ORDER BY cluster, key'),
      open: db.prepare<[string], OpenRow>('SELECT * FROM drift_open WHERE cluster = ? ORDER BY key'),
      forget: db.prepare('DELETE FROM drift_reports WHERE received_at < ?'),
      seen: db.prepare<[string, string], { one: number }>(
        'SELECT 1 AS one FROM drift_reports WHERE cluster = ? AND report_id = ?',
      ),
      remember: db.prepare('INSERT INTO drift_reports (cluster, report_id, received_at) VALUES (?, ?, ?)'),
      close: db.prepare('DELETE FROM drift_open WHERE cluster = ? AND key = ?'),
      insertOpen: db.prepare(
        'INSERT INTO drift_open (cluster, key, finding, opened_at, report_id) VALUES (?, ?, ?, ?, ?)',
      ),
      row: db.prepare(
        `INSERT INTO drift_history (registry_host, repository, tag, cluster, change, key, finding, report_id, received_at)
         VALUES (@registryHost, @repository, @tag, @cluster, @change, @key, @finding, @reportId, @receivedAt)`,
      ),
      history: db.prepare<[string, string, string], DriftHistoryRow>(
        'SELECT * FROM drift_history WHERE registry_host = ? AND repository = ? AND tag = ? ORDER BY seq',
      ),
      insertEffect: db.prepare(
        `INSERT OR IGNORE INTO outbox (key, event_id, kind, position, effect, status, attempts, next_attempt_at, last_error, outcome, updated_at)
         VALUES (@key, @eventId, @kind, @position, @effect, @status, @attempts, @nextAttemptAt, NULL, NULL, @nextAttemptAt)`,
      ),
    };
    this.applyTransaction = db.transaction(
      (input: DriftReportInput, plan: (open: OpenFinding[]) => DriftPlan) => this.applyOne(input, plan),
    );
  }

  async openFindings(cluster?: string): Promise<OpenFinding[]> {
    const rows = cluster === undefined ? this.statements.allOpen.all() : this.statements.open.all(cluster);
    return rows.map(toOpen);
  }

  async applyReport(
    input: DriftReportInput,
    plan: (open: OpenFinding[]) => DriftPlan,
  ): Promise<DriftApplyResult> {
    return this.applyTransaction.immediate(input, plan);
  }

  async driftHistory(ref: TagRef): Promise<DriftRow[]> {
    return this.statements.history.all(ref.registryHost, ref.repository, ref.tag).map(toDriftRow);
  }

  private applyOne(input: DriftReportInput, plan: (open: OpenFinding[]) => DriftPlan): DriftApplyResult {
    const { cluster, reportId, receivedAt } = input;
    const s = this.statements;
    s.forget.run(input.forgetBefore);
    if (s.seen.get(cluster, reportId)) return { kind: 'replay' };
    s.remember.run(cluster, reportId, receivedAt);
    const { diff, effects } = plan(s.open.all(cluster).map(toOpen));
    const row = (change: DriftRow['change'], key: string, finding: OpenFinding['finding']) =>
      s.row.run({
        registryHost: finding.registryHost,
        repository: finding.repository,
        tag: finding.tag,
        cluster,
        change,
        key,
        finding: JSON.stringify(finding),
        reportId,
        receivedAt,
      });
    for (const f of diff.cleared) {
      s.close.run(cluster, f.key);
      row('cleared', f.key, f.finding);
    }
    for (const f of diff.opened) {
      s.insertOpen.run(cluster, f.key, JSON.stringify(f.finding), receivedAt, reportId);
      row('opened', f.key, f.finding);
    }
    for (const e of effects)
      for (const r of outboxRows(e.eventId, e.effects, receivedAt))
        s.insertEffect.run({ ...r, effect: JSON.stringify(r.effect) });
    return { kind: 'applied', opened: diff.opened.length, cleared: diff.cleared.length };
  }
}

export function toDriftRow(r: DriftHistoryRow): DriftRow {
  return {
    seq: Number(r.seq),
    cluster: r.cluster,
    change: r.change,
    key: r.key,
    finding: JSON.parse(r.finding),
    reportId: r.report_id,
    receivedAt: r.received_at,
  };
}
