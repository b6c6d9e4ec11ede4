import type Database from 'better-sqlite3';

export const SCHEMA = `
CREATE TABLE IF NOT EXISTS tags (
  registry_host TEXT NOT NULL, repository TEXT NOT NULL, tag TEXT NOT NULL,
  digest TEXT, last_digest TEXT, event_time TEXT NOT NULL, event_id TEXT NOT NULL,
  pending_restore TEXT, approved_digest TEXT, version INTEGER NOT NULL, last_attempt TEXT,
  PRIMARY KEY (registry_host, repository, tag)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS history (
  seq INTEGER PRIMARY KEY, -- rowid: history is append-only, so it only grows
  event_id TEXT NOT NULL UNIQUE,
  action TEXT NOT NULL, registry_host TEXT NOT NULL, repository TEXT NOT NULL, tag TEXT NOT NULL,
  digest TEXT, previous_digest TEXT, transition TEXT NOT NULL,
  event_time TEXT NOT NULL, received_at TEXT NOT NULL, actor TEXT
);
CREATE INDEX IF NOT EXISTS history_by_tag ON history (registry_host, repository, tag, seq);
CREATE TABLE IF NOT EXISTS outbox (
  key TEXT PRIMARY KEY, event_id TEXT NOT NULL, kind TEXT NOT NULL, position INTEGER NOT NULL,
  effect TEXT NOT NULL, status TEXT NOT NULL, attempts INTEGER NOT NULL, next_attempt_at TEXT NOT NULL,
  last_error TEXT, outcome TEXT, updated_at TEXT NOT NULL
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS outbox_due ON outbox (status, next_attempt_at);
CREATE TABLE IF NOT EXISTS failures (
  id INTEGER PRIMARY KEY, source TEXT NOT NULL, reason TEXT NOT NULL,
  payload TEXT NOT NULL, received_at TEXT NOT NULL
);
`;

/** Columns added after the first release: a history file written before them gains them on open. */
const ADDED_COLUMNS: ReadonlyArray<{ table: string; column: string; type: string }> = [
  { table: 'tags', column: 'last_attempt', type: 'TEXT' },
];

export function addMissingColumns(db: Database.Database): void {
  for (const { table, column, type } of ADDED_COLUMNS) {
    const columns = db.prepare<[], { name: string }>(`SELECT name FROM pragma_table_info('${table}')`).all();
    if (!columns.some((c) => c.name === column)) db.exec(`ALTER TABLE ${table} ADD COLUMN ${column} ${type}`);
  }
}
