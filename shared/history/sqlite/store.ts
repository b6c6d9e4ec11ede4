import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { Worker } from 'node:worker_threads';
import Database from 'better-sqlite3';
import {
  type ApplyResult,
  type AttemptGroup,
  type Digest,
  type Effect,
  type HistoryEntry,
  type OutboxEffect,
  outboxRows,
  type PendingRestore,
  type Policy,
  type RegistryEvent,
  recordStep,
  ruleFor,
  type TagRef,
  type TagState,
} from '../../core';
import type { HistoryBrowser, Page, TagFilter, TagSummary } from '../browse';
import type { EffectUpdate, FailedRecord, HistoryStore, OutboxDepth } from '../port';
import { SqliteBrowser } from './browse';
import { tagsServingIn } from './digest-lookup';
import { SqliteDriftLog } from './drift';
import { type HistoryRow, type OutboxRow, toHistoryEntry, toOutboxEffect } from './rows';
import { addMissingColumns, SCHEMA } from './schema';

/** Runs in a worker thread with its own connection: PASSIVE checkpoints never block the writer. */
const CHECKPOINTER = `
const { workerData } = require('node:worker_threads');
const Database = require(workerData.driver);
const db = new Database(workerData.path);
db.pragma('busy_timeout = 1000');
setInterval(() => {
  try { db.pragma('wal_checkpoint(PASSIVE)'); } catch {}
}, workerData.intervalMs);
`;

/** A `tags` row as SQLite (and the PostgreSQL store) return it. */
export interface TagRow {
  digest: string | null;
  last_digest: string | null;
  event_time: string;
  event_id: string;
  pending_restore: string | null;
  approved_digest: string | null;
  version: number;
  last_attempt: string | null;
}

export interface SqliteHistoryStoreOptions {
  /** A file path, or `:memory:`. */
  path: string;
  /**
   * Checkpoint the WAL from a worker thread every this many milliseconds instead of inside commits.
   * SQLite's automatic checkpoint runs in the committing call and blocks the event loop for tens of
   * milliseconds every thousand pages; `serve` moves it off the request path (p99 24 ms → 6 ms).
   */
  backgroundCheckpointMs?: number;
  /** An existing database (used for dry runs on a copy). */
  database?: Database.Database;
}

/**
 * SQLite history (better-sqlite3, WAL). `apply` runs in a `BEGIN IMMEDIATE` transaction, which takes
 * the write lock up front, so two processes on one file are serialized and neither reads a state
 * the other is about to change.
 */
export class SqliteHistoryStore implements HistoryStore, HistoryBrowser {
  readonly db: Database.Database;
  private readonly statements;
  private readonly applyTransaction;
  private readonly claimTransaction;
  private checkpointer: Worker | null = null;
  /** Drift findings (issue 15), in the same file; their alerts go to this outbox. */
  readonly drift: SqliteDriftLog;

  constructor(options: SqliteHistoryStoreOptions) {
    if (options.database) this.db = options.database;
    else {
      if (options.path !== ':memory:') mkdirSync(dirname(options.path), { recursive: true });
      this.db = new Database(options.path);
    }
    this.db.pragma('journal_mode = WAL');
    // NORMAL is durable across process crashes in WAL mode; only an OS crash can lose the last commits.
    this.db.pragma('synchronous = NORMAL');
    this.db.pragma('busy_timeout = 10000');
    this.db.exec(SCHEMA);
    addMissingColumns(this.db);
    this.drift = new SqliteDriftLog(this.db);
    if (options.backgroundCheckpointMs && options.path !== ':memory:' && !options.database) {
      this.startCheckpointer(options.path, options.backgroundCheckpointMs);
    }
    const db = this.db;
    this.statements = {
      tag: db.prepare<[string, string, string], TagRow>(
        'SELECT digest, last_digest, event_time, event_id, pending_restore, approved_digest, version, last_attempt FROM tags WHERE registry_host = ? AND repository = ? AND tag = ?',
      ),
      seen: db.prepare<[string], { one: number }>('SELECT 1 AS one FROM history WHERE event_id = ?'),
      upsertTag: db.prepare(
        `INSERT INTO tags (registry_host, repository, tag, digest, last_digest, event_time, event_id, pending_restore, approved_digest, version, last_attempt)
         VALUES (@registryHost, @repository, @tag, @digest, @lastDigest, @eventTime, @eventId, @pendingRestore, @approvedDigest, @version, @lastAttempt)
         ON CONFLICT (registry_host, repository, tag) DO UPDATE SET digest = excluded.digest, last_digest = excluded.last_digest,
           event_time = excluded.event_time, event_id = excluded.event_id, pending_restore = excluded.pending_restore, approved_digest = excluded.approved_digest, version = excluded.version,
           last_attempt = excluded.last_attempt`,
      ),
      setPending: db.prepare(
        'UPDATE tags SET pending_restore = ?, version = version + 1 WHERE registry_host = ? AND repository = ? AND tag = ? AND digest = ?',
      ),
      clearPending: db.prepare(
        `UPDATE tags SET pending_restore = NULL, version = version + 1
         WHERE registry_host = ? AND repository = ? AND tag = ? AND json_extract(pending_restore, '$.digest') = ?`,
      ),
      approve: db.prepare(
        'UPDATE tags SET approved_digest = digest, version = version + 1 WHERE registry_host = ? AND repository = ? AND tag = ? AND digest = ?',
      ),
      insertHistory: db.prepare(
        `INSERT INTO history (event_id, action, registry_host, repository, tag, digest, previous_digest, transition, event_time, received_at, actor)
         VALUES (@eventId, @action, @registryHost, @repository, @tag, @digest, @previousDigest, @transition, @eventTime, @receivedAt, @actor)`,
      ),
      history: db.prepare<[string, string, string], HistoryRow>(
        'SELECT * FROM history WHERE registry_host = ? AND repository = ? AND tag = ? ORDER BY seq',
      ),
      insertEffect: db.prepare(
        `INSERT OR IGNORE INTO outbox (key, event_id, kind, position, effect, status, attempts, next_attempt_at, last_error, outcome, updated_at)
         VALUES (@key, @eventId, @kind, @position, @effect, @status, @attempts, @nextAttemptAt, NULL, NULL, @nextAttemptAt)`,
      ),
      due: db.prepare<[string, number], OutboxRow>(
        "SELECT * FROM outbox WHERE status = 'pending' AND next_attempt_at <= ? ORDER BY next_attempt_at, event_id, position LIMIT ?",
      ),
      lease: db.prepare(
        "UPDATE outbox SET next_attempt_at = ? WHERE key = ? AND status = 'pending' AND next_attempt_at = ?",
      ),
      wait: db.prepare('UPDATE outbox SET next_attempt_at = ?, updated_at = ? WHERE key = ?'),
      // Keys are `<eventId>#<kind>`: a range scan on the primary key finds an event's effects ('$' follows '#').
      effectsOf: db.prepare<[string, string], OutboxRow>(
        'SELECT * FROM outbox WHERE key >= ? AND key < ? ORDER BY position',
      ),
      // The outbox_due index (status, next_attempt_at) answers both without reading a row.
      depth: db.prepare<[], { pending: number; oldest: string | null }>(
        "SELECT COUNT(*) AS pending, MIN(next_attempt_at) AS oldest FROM outbox WHERE status = 'pending'",
      ),
      failedEffects: db.prepare<[number], OutboxRow>(
        "SELECT * FROM outbox WHERE status = 'failed' ORDER BY updated_at DESC LIMIT ?",
      ),
      updateEffect: db.prepare(
        `UPDATE outbox SET status = @status, attempts = attempts + 1, outcome = COALESCE(@outcome, outcome),
           last_error = COALESCE(@error, last_error), next_attempt_at = COALESCE(@nextAttemptAt, next_attempt_at), updated_at = @now
         WHERE key = @key`,
      ),
      insertFailure: db.prepare(
        'INSERT INTO failures (source, reason, payload, received_at) VALUES (@source, @reason, @payload, @receivedAt)',
      ),
      failures: db.prepare<
        [number],
        { id: number; source: string; reason: string; payload: string; received_at: string }
      >('SELECT * FROM failures ORDER BY id DESC LIMIT ?'),
    };
    this.applyTransaction = db.transaction((events: RegistryEvent[], policy: Policy, receivedAt: string) =>
      events.map((event) => this.applyOne(event, policy, receivedAt)),
    );
    this.claimTransaction = db.transaction((now: string, leaseUntil: string, limit: number) =>
      this.claim(now, leaseUntil, limit),
    );
  }

  /** One event inside an open transaction. */
  private applyOne(event: RegistryEvent, policy: Policy, receivedAt: string): ApplyResult {
    const prev = this.readTag(event);
    const seen = this.statements.seen.get(event.id) !== undefined;
    const step = recordStep({ prev, seen, event, rule: ruleFor(policy, event), receivedAt });
    if (step.kind === 'duplicate') return step.result;
    const { next } = step;
    if (next) {
      this.statements.upsertTag.run({
        registryHost: event.registryHost,
        repository: event.repository,
        tag: event.tag,
        digest: next.digest,
        lastDigest: next.lastDigest,
        eventTime: next.eventTime,
        eventId: next.eventId,
        pendingRestore: next.pendingRestore ? JSON.stringify(next.pendingRestore) : null,
        approvedDigest: next.approvedDigest,
        version: next.version,
        lastAttempt: next.lastAttempt ? JSON.stringify(next.lastAttempt) : null,
      });
    }
    // seq is SQLite's rowid, assigned on insert.
    this.statements.insertHistory.run(step.history);
    for (const effect of step.result.effects) {
      this.statements.insertEffect.run({ ...effect, effect: JSON.stringify(effect.effect) });
    }
    return step.result;
  }

  private claim(now: string, leaseUntil: string, limit: number): OutboxEffect[] {
    const rows = this.statements.due.all(now, limit);
    for (const row of rows) this.statements.lease.run(leaseUntil, row.key, row.next_attempt_at);
    return rows.map(toOutboxEffect);
  }

  private readTag(ref: TagRef): TagState | null {
    const row = this.statements.tag.get(ref.registryHost, ref.repository, ref.tag);
    return row ? toTagState(row) : null;
  }

  async apply(event: RegistryEvent, policy: Policy, receivedAt: string): Promise<ApplyResult> {
    return this.applySync(event, policy, receivedAt);
  }

  async applyAll(events: RegistryEvent[], policy: Policy, receivedAt: string): Promise<ApplyResult[]> {
    return this.applyAllSync(events, policy, receivedAt);
  }

  /** The synchronous forms, for the race test's child process and the bench. */
  applySync(event: RegistryEvent, policy: Policy, receivedAt: string): ApplyResult {
    return this.applyTransaction.immediate([event], policy, receivedAt)[0]!;
  }

  applyAllSync(events: RegistryEvent[], policy: Policy, receivedAt: string): ApplyResult[] {
    return this.applyTransaction.immediate(events, policy, receivedAt);
  }

  async enqueueEffects(eventId: string, effects: Effect[], now: string): Promise<void> {
    this.db
      .transaction(() => {
        for (const row of outboxRows(eventId, effects, now)) {
          this.statements.insertEffect.run({ ...row, effect: JSON.stringify(row.effect) });
        }
      })
      .immediate();
  }

  async tagState(ref: TagRef): Promise<TagState | null> {
    return this.readTag(ref);
  }

  async history(ref: TagRef): Promise<HistoryEntry[]> {
    return this.statements.history.all(ref.registryHost, ref.repository, ref.tag).map(toHistoryEntry);
  }

  async markPendingRestore(ref: TagRef, restore: PendingRestore): Promise<boolean> {
    const info = this.statements.setPending.run(
      JSON.stringify(restore),
      ref.registryHost,
      ref.repository,
      ref.tag,
      restore.from,
    );
    return info.changes === 1;
  }

  async clearPendingRestore(ref: TagRef, digest: Digest): Promise<void> {
    this.statements.clearPending.run(ref.registryHost, ref.repository, ref.tag, digest);
  }

  async tagsServing(registryHost: string, repository: string, digest: Digest): Promise<TagRef[]> {
    return tagsServingIn(this.db, registryHost, repository, digest);
  }

  async approveDigest(ref: TagRef, digest: Digest): Promise<boolean> {
    return this.statements.approve.run(ref.registryHost, ref.repository, ref.tag, digest).changes === 1;
  }

  async claimDueEffects(now: string, leaseUntil: string, limit: number): Promise<OutboxEffect[]> {
    // A plain read first: polling an idle outbox should not take the write lock every time.
    if (!this.statements.due.get(now, 1)) return [];
    return this.claimTransaction.immediate(now, leaseUntil, limit);
  }

  async renewLease(key: string, heldUntil: string, leaseUntil: string): Promise<boolean> {
    return this.statements.lease.run(leaseUntil, key, heldUntil).changes === 1;
  }

  async effectsOf(eventId: string): Promise<OutboxEffect[]> {
    return this.statements.effectsOf
      .all(`${eventId}#`, `${eventId}$`)
      .filter((row) => row.event_id === eventId) // an id may itself contain '#'
      .map(toOutboxEffect);
  }

  async updateEffect(key: string, update: EffectUpdate, now: string): Promise<void> {
    if (update.status === 'waiting') {
      this.statements.wait.run(update.nextAttemptAt, now, key);
      return;
    }
    const info = this.statements.updateEffect.run({
      key,
      status: update.status,
      outcome: update.status === 'done' ? update.outcome : null,
      error: update.status === 'done' ? null : update.error,
      nextAttemptAt: update.status === 'pending' ? update.nextAttemptAt : null,
      now,
    });
    if (info.changes !== 1) throw new Error(`no effect ${key} in the outbox`);
  }

  async failedEffects(limit: number): Promise<OutboxEffect[]> {
    return this.statements.failedEffects.all(limit).map(toOutboxEffect);
  }

  async outboxDepth(): Promise<OutboxDepth> {
    const row = this.statements.depth.get()!;
    return { pending: row.pending, oldestDueAt: row.oldest };
  }

  recentTags(filter: TagFilter, limit: number, before?: number | null): Promise<Page<TagSummary>> {
    return this.browser().recentTags(filter, limit, before);
  }

  timeline(ref: TagRef, limit: number, before?: number | null): Promise<Page<HistoryEntry>> {
    return this.browser().timeline(ref, limit, before);
  }

  effectsWithStatus(status: 'pending' | 'failed', limit: number): Promise<OutboxEffect[]> {
    return this.browser().effectsWithStatus(status, limit);
  }

  private browsing: SqliteBrowser | null = null;
  private browser(): SqliteBrowser {
    this.browsing ??= new SqliteBrowser(this.db);
    return this.browsing;
  }

  async recordFailure(record: Omit<FailedRecord, 'id'>): Promise<void> {
    this.statements.insertFailure.run(record);
  }

  async failures(limit: number): Promise<FailedRecord[]> {
    return this.statements.failures.all(limit).map((row) => ({
      id: row.id,
      source: row.source,
      reason: row.reason,
      payload: row.payload,
      receivedAt: row.received_at,
    }));
  }

  private startCheckpointer(path: string, intervalMs: number): void {
    this.db.pragma('wal_autocheckpoint = 0');
    const worker = new Worker(CHECKPOINTER, {
      eval: true,
      workerData: { driver: require.resolve('better-sqlite3'), path, intervalMs },
    });
    worker.unref();
    // Should the worker die, checkpoint in commits again rather than let the WAL grow without bound.
    worker.on('error', () => this.db.open && this.db.pragma('wal_autocheckpoint = 1000'));
    this.checkpointer = worker;
  }

  async close(): Promise<void> {
    if (this.checkpointer) {
      await this.checkpointer.terminate();
      this.checkpointer = null;
      if (this.db.open) this.db.pragma('wal_checkpoint(TRUNCATE)');
    }
    if (this.db.open) this.db.close();
  }
}

export function toTagState(row: TagRow): TagState {
  return {
    digest: row.digest,
    lastDigest: row.last_digest,
    eventTime: row.event_time,
    eventId: row.event_id,
    pendingRestore: row.pending_restore ? (JSON.parse(row.pending_restore) as PendingRestore) : null,
    approvedDigest: row.approved_digest,
    version: row.version,
    ...(row.last_attempt ? { lastAttempt: JSON.parse(row.last_attempt) as AttemptGroup } : {}),
  };
}
