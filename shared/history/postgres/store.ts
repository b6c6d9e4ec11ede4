import { Pool, type PoolClient, type PoolConfig } from 'pg';
import {
  type ApplyResult,
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
import { backOffAfterConflict } from '../conflict-retry';
import type { EffectUpdate, FailedRecord, HistoryStore, OutboxDepth } from '../port';
import { type HistoryRow, type OutboxRow, toHistoryEntry, toOutboxEffect } from '../sqlite/rows';
import { type TagRow, toTagState } from '../sqlite/store';
import { PostgresBrowser } from './browse';
import { PostgresDriftLog } from './drift';
import { migrate } from './schema';
import { insertEffect, inTransaction, type Queryable } from './sql';

/** A write that lost to another writer: the tag moved, or the event was recorded, since it was read. */
export interface PostgresConflict {
  eventId: string;
  reason: 'tag-moved' | 'event-recorded';
}

class Conflict extends Error {
  constructor(readonly conflict: PostgresConflict) {
    super(`conflict on ${conflict.eventId}: ${conflict.reason}`);
  }
}

export interface PostgresHistoryStoreOptions {
  /** `postgres://user:password@host:port/database?sslmode=…`; or `pool`. */
  url?: string;
  pool?: Pool;
  /** Conflicts one write may lose before it gives up with a TransientError (the caller retries later). */
  maxConflicts?: number;
  /** Told of every lost compare-and-set, before the write is retried. */
  onConflict?: (conflict: PostgresConflict) => void;
  /** How long connecting may take before it fails (default 10 s). */
  connectTimeoutMs?: number;
  /** How long one statement may run, on the server and in the client (default 30 s). */
  statementTimeoutMs?: number;
}

/**
 * Without these a database that stops answering holds every request (and every readiness probe)
 * with a connection or a query queued behind it for good; with them each fails, and is retried.
 */
const CONNECT_TIMEOUT_MS = 10_000;
const STATEMENT_TIMEOUT_MS = 30_000;

const TAG_COLUMNS =
  'digest, last_digest, event_time, event_id, pending_restore, approved_digest, version, last_attempt';
const WHERE_TAG = 'registry_host = $1 AND repository = $2 AND tag = $3';
const UNIQUE_VIOLATION = '23505';

/**
 * PostgreSQL history, for several replicas on one database. `apply` reads the tag, lets core decide,
 * and writes in one transaction with a compare-and-set on the tag's version (a new tag: an insert
 * that must not find one); a write that lost to another replica rolls back and is tried again from
 * the read. Outbox claims take rows `FOR UPDATE SKIP LOCKED`, so two replicas never claim one effect.
 */
export class PostgresHistoryStore implements HistoryStore, HistoryBrowser {
  /** The drift findings agents report, in the same database (`driftLogOf` finds it). */
  readonly drift: PostgresDriftLog;
  private readonly browser: PostgresBrowser;

  private constructor(
    readonly pool: Pool,
    private readonly options: PostgresHistoryStoreOptions,
  ) {
    this.drift = new PostgresDriftLog(pool);
    this.browser = new PostgresBrowser(pool);
  }

  /** Connects and migrates the schema (see `migrate`). */
  static async open(options: PostgresHistoryStoreOptions): Promise<PostgresHistoryStore> {
    const statementTimeout = options.statementTimeoutMs ?? STATEMENT_TIMEOUT_MS;
    const config: PoolConfig = {
      connectionString: options.url,
      max: 10,
      connectionTimeoutMillis: options.connectTimeoutMs ?? CONNECT_TIMEOUT_MS,
      // The server cancels a statement past it; the client stops waiting shortly after (a server
      // that does not answer at all cannot cancel anything).
      statement_timeout: statementTimeout,
      query_timeout: statementTimeout + 1_000,
    };
    const pool = options.pool ?? new Pool(config);
    // An idle connection the server dropped: the next query reconnects; never crash the process.
    pool.on('error', () => undefined);
    try {
      await migrate(pool);
    } catch (error) {
      if (!options.pool) await pool.end();
      throw error;
    }
    return new PostgresHistoryStore(pool, options);
  }

  async apply(event: RegistryEvent, policy: Policy, receivedAt: string): Promise<ApplyResult> {
    return (await this.applyAll([event], policy, receivedAt))[0]!;
  }

  /** The whole batch in one transaction, retried as a whole after a conflict. */
  async applyAll(events: RegistryEvent[], policy: Policy, receivedAt: string): Promise<ApplyResult[]> {
    for (let conflicts = 1; ; conflicts++) {
      try {
        return await inTransaction(this.pool, async (client) => {
          const results: ApplyResult[] = [];
          for (const event of events) results.push(await applyOne(client, event, policy, receivedAt));
          return results;
        });
      } catch (error) {
        if (!(error instanceof Conflict)) throw error;
        this.options.onConflict?.(error.conflict);
        await backOffAfterConflict(
          conflicts,
          this.options.maxConflicts ?? 50,
          () => `gave up recording ${error.conflict.eventId} after ${conflicts} conflicting writes`,
        );
      }
    }
  }

  async enqueueEffects(eventId: string, effects: Effect[], now: string): Promise<void> {
    await inTransaction(this.pool, async (client) => {
      for (const row of outboxRows(eventId, effects, now)) await insertEffect(client, row);
    });
  }

  async tagState(ref: TagRef): Promise<TagState | null> {
    return readTag(this.pool, ref);
  }

  async history(ref: TagRef): Promise<HistoryEntry[]> {
    const { rows } = await this.pool.query<HistoryRow>(
      `SELECT * FROM history WHERE ${WHERE_TAG} ORDER BY seq`,
      [ref.registryHost, ref.repository, ref.tag],
    );
    return rows.map((row) => toHistoryEntry({ ...row, seq: Number(row.seq) }));
  }

  async markPendingRestore(ref: TagRef, restore: PendingRestore): Promise<boolean> {
    const { rowCount } = await this.pool.query(
      `UPDATE tags SET pending_restore = $4, version = version + 1 WHERE ${WHERE_TAG} AND digest = $5`,
      [ref.registryHost, ref.repository, ref.tag, JSON.stringify(restore), restore.from],
    );
    return rowCount === 1;
  }

  async clearPendingRestore(ref: TagRef, digest: Digest): Promise<void> {
    await this.pool.query(
      `UPDATE tags SET pending_restore = NULL, version = version + 1
       WHERE ${WHERE_TAG} AND pending_restore::jsonb ->> 'digest' = $4`,
      [ref.registryHost, ref.repository, ref.tag, digest],
    );
  }

  async tagsServing(registryHost: string, repository: string, digest: Digest): Promise<TagRef[]> {
    const { rows } = await this.pool.query<{ tag: string }>(
      `SELECT tag FROM tags WHERE registry_host = $1 AND repository = $2
         AND (digest = $3 OR approved_digest = $3) ORDER BY tag`,
      [registryHost, repository, digest],
    );
    return rows.map(({ tag }) => ({ registryHost, repository, tag }));
  }

  async approveDigest(ref: TagRef, digest: Digest): Promise<boolean> {
    const { rowCount } = await this.pool.query(
      `UPDATE tags SET approved_digest = digest, version = version + 1 WHERE ${WHERE_TAG} AND digest = $4`,
      [ref.registryHost, ref.repository, ref.tag, digest],
    );
    return rowCount === 1;
  }

  /**
   * One statement: the due rows are locked, skipping any another replica is claiming right now, and
   * leased. A row another claim committed meanwhile is re-checked against `now` and left out.
   */
  async claimDueEffects(now: string, leaseUntil: string, limit: number): Promise<OutboxEffect[]> {
    const { rows } = await this.pool.query<OutboxRow & { was: string }>(
      `WITH due AS (
         SELECT key, next_attempt_at AS was FROM outbox WHERE status = 'pending' AND next_attempt_at <= $1
         ORDER BY next_attempt_at, event_id, position LIMIT $3 FOR UPDATE SKIP LOCKED)
       UPDATE outbox o SET next_attempt_at = $2 FROM due WHERE o.key = due.key RETURNING o.*, due.was`,
      [now, leaseUntil, limit],
    );
    const byDue = (x: OutboxRow & { was: string }, y: OutboxRow & { was: string }) =>
      x.was < y.was
        ? -1
        : x.was > y.was
          ? 1
          : x.event_id < y.event_id
            ? -1
            : x.event_id > y.event_id
              ? 1
              : x.position - y.position;
    // As the other stores return a claim: with the next attempt it was due at.
    return rows.sort(byDue).map(({ was, ...row }) => toOutboxEffect({ ...row, next_attempt_at: was }));
  }

  async renewLease(key: string, heldUntil: string, leaseUntil: string): Promise<boolean> {
    const { rowCount } = await this.pool.query(
      "UPDATE outbox SET next_attempt_at = $1 WHERE key = $2 AND status = 'pending' AND next_attempt_at = $3",
      [leaseUntil, key, heldUntil],
    );
    return rowCount === 1;
  }

  async effectsOf(eventId: string): Promise<OutboxEffect[]> {
    const { rows } = await this.pool.query<OutboxRow>(
      'SELECT * FROM outbox WHERE event_id = $1 ORDER BY position',
      [eventId],
    );
    return rows.map(toOutboxEffect);
  }

  async updateEffect(key: string, update: EffectUpdate, now: string): Promise<void> {
    if (update.status === 'waiting') {
      await this.pool.query('UPDATE outbox SET next_attempt_at = $1, updated_at = $2 WHERE key = $3', [
        update.nextAttemptAt,
        now,
        key,
      ]);
      return;
    }
    const { rowCount } = await this.pool.query(
      `UPDATE outbox SET status = $2, attempts = attempts + 1, outcome = COALESCE($3, outcome),
         last_error = COALESCE($4, last_error), next_attempt_at = COALESCE($5, next_attempt_at), updated_at = $6
       WHERE key = $1`,
      [
        key,
        update.status,
        update.status === 'done' ? update.outcome : null,
        update.status === 'done' ? null : update.error,
        update.status === 'pending' ? update.nextAttemptAt : null,
        now,
      ],
    );
    if (rowCount !== 1) throw new Error(`no effect ${key} in the outbox`);
  }

  async failedEffects(limit: number): Promise<OutboxEffect[]> {
    const { rows } = await this.pool.query<OutboxRow>(
      "SELECT * FROM outbox WHERE status = 'failed' ORDER BY updated_at DESC, key LIMIT $1",
      [limit],
    );
    return rows.map(toOutboxEffect);
  }

  /** One read of the `outbox_due` index, no lock taken. */
  async outboxDepth(): Promise<OutboxDepth> {
    const { rows } = await this.pool.query<{ pending: number; oldest: string | null }>(
      "SELECT count(*)::int AS pending, min(next_attempt_at) AS oldest FROM outbox WHERE status = 'pending'",
    );
    return { pending: rows[0]!.pending, oldestDueAt: rows[0]!.oldest };
  }

  recentTags(filter: TagFilter, limit: number, before?: number | null): Promise<Page<TagSummary>> {
    return this.browser.recentTags(filter, limit, before);
  }

  timeline(ref: TagRef, limit: number, before?: number | null): Promise<Page<HistoryEntry>> {
    return this.browser.timeline(ref, limit, before);
  }

  effectsWithStatus(status: 'pending' | 'failed', limit: number): Promise<OutboxEffect[]> {
    return this.browser.effectsWithStatus(status, limit);
  }

  async recordFailure(record: Omit<FailedRecord, 'id'>): Promise<void> {
    await this.pool.query(
      'INSERT INTO failures (source, reason, payload, received_at) VALUES ($1, $2, $3, $4)',
      [record.source, record.reason, record.payload, record.receivedAt],
    );
  }

  async failures(limit: number): Promise<FailedRecord[]> {
    const { rows } = await this.pool.query<{
      id: string;
      source: string;
      reason: string;
      payload: string;
      received_at: string;
    }>('SELECT * FROM failures ORDER BY id DESC LIMIT $1', [limit]);
    return rows.map((row) => ({
      id: Number(row.id),
      source: row.source,
      reason: row.reason,
      payload: row.payload,
      receivedAt: row.received_at,
    }));
  }

  async close(): Promise<void> {
    if (!this.options.pool && !this.pool.ended) await this.pool.end();
  }
}

async function readTag(db: Queryable, ref: TagRef): Promise<TagState | null> {
  const { rows } = await db.query<TagRow>(`SELECT ${TAG_COLUMNS} FROM tags WHERE ${WHERE_TAG}`, [
    ref.registryHost,
    ref.repository,
    ref.tag,
  ]);
  return rows[0] ? toTagState(rows[0]) : null;
}

/** One event inside an open transaction; throws Conflict when another writer got there first. */
async function applyOne(
  client: PoolClient,
  event: RegistryEvent,
  policy: Policy,
  receivedAt: string,
): Promise<ApplyResult> {
  const prev = await readTag(client, event);
  const seen = (await client.query('SELECT 1 FROM history WHERE event_id = $1', [event.id])).rowCount! > 0;
  const step = recordStep({ prev, seen, event, rule: ruleFor(policy, event), receivedAt });
  if (step.kind === 'duplicate') return step.result;
  if (!(await writeTag(client, event, prev, step.next)))
    throw new Conflict({ eventId: event.id, reason: 'tag-moved' });
  const h = step.history;
  try {
    await client.query(
      `INSERT INTO history (event_id, action, registry_host, repository, tag, digest, previous_digest, transition, event_time, received_at, actor)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
      [
        h.eventId,
        h.action,
        h.registryHost,
        h.repository,
        h.tag,
        h.digest,
        h.previousDigest,
        h.transition,
        h.eventTime,
        h.receivedAt,
        h.actor,
      ],
    );
  } catch (error) {
    if ((error as { code?: string }).code === UNIQUE_VIOLATION)
      throw new Conflict({ eventId: event.id, reason: 'event-recorded' });
    throw error;
  }
  for (const effect of step.result.effects) await insertEffect(client, effect);
  return step.result;
}

/**
 * The compare-and-set: an update only while the tag is at the version read, an insert only while
 * there is no row. A step that moves nothing still checks (and locks) the version it was decided on.
 * False when another writer moved the tag first.
 */
async function writeTag(
  client: PoolClient,
  ref: TagRef,
  prev: TagState | null,
  next: TagState | null,
): Promise<boolean> {
  const key = [ref.registryHost, ref.repository, ref.tag];
  if (!next) {
    if (!prev) return true; // the history row's unique event id guards this one
    const { rowCount } = await client.query(
      `UPDATE tags SET version = version WHERE ${WHERE_TAG} AND version = $4`,
      [...key, prev.version],
    );
    return rowCount === 1;
  }
  const values = [
    ...key,
    next.digest,
    next.lastDigest,
    next.eventTime,
    next.eventId,
    next.pendingRestore ? JSON.stringify(next.pendingRestore) : null,
    next.approvedDigest,
    next.version,
    next.lastAttempt ? JSON.stringify(next.lastAttempt) : null,
  ];
  const { rowCount } = prev
    ? await client.query(
        `UPDATE tags SET (${TAG_COLUMNS}) = ($4, $5, $6, $7, $8, $9, $10, $11) WHERE ${WHERE_TAG} AND version = $12`,
        [...values, prev.version],
      )
    : await client.query(
        `INSERT INTO tags (registry_host, repository, tag, ${TAG_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
         ON CONFLICT DO NOTHING`,
        values,
      );
  return rowCount === 1;
}
