import type { Pool } from 'pg';
import { globPattern, type HistoryEntry, type OutboxEffect, type TagRef } from '../../core';
import { type HistoryBrowser, type Page, pageOf, type TagFilter, type TagSummary } from '../browse';
import { type HistoryRow, type OutboxRow, toHistoryEntry, toOutboxEffect } from '../sqlite/rows';

type SummaryRow = Omit<HistoryRow, 'seq'> & { seq: string; serving: string | null; approved: string | null };

const entryOf = (row: Omit<HistoryRow, 'seq'> & { seq: string }): HistoryEntry =>
  toHistoryEntry({ ...row, seq: Number(row.seq) });

/**
 * The paged reads of the web interface on PostgreSQL, as SQLite answers them. The newest row of each
 * tag comes from the `history_by_tag` index; the repository glob is the policy's own pattern, matched
 * by the database as a regular expression (the two dialects agree on what a glob translates to).
 */
export class PostgresBrowser implements HistoryBrowser {
  constructor(private readonly pool: Pool) {}

  async recentTags(filter: TagFilter, limit: number, before?: number | null): Promise<Page<TagSummary>> {
    const { rows } = await this.pool.query<SummaryRow>(
      // Cut to the page before any row is read, unless the page filters on the transition, which only the row holds.
      `SELECT h.*, t.digest AS serving, t.approved_digest AS approved
       FROM (SELECT MAX(seq) AS last FROM history
             WHERE ($1::text IS NULL OR registry_host = $1) AND ($2::text IS NULL OR repository ~ $2)
             GROUP BY registry_host, repository, tag HAVING ($3::bigint IS NULL OR MAX(seq) < $3)
             ORDER BY last DESC LIMIT CASE WHEN $4::text IS NULL THEN $5::int END) m
       JOIN history h ON h.seq = m.last
       LEFT JOIN tags t ON t.registry_host = h.registry_host AND t.repository = h.repository AND t.tag = h.tag
       WHERE $4::text IS NULL OR h.transition = $4
       ORDER BY h.seq DESC LIMIT $5::int`,
      [
        filter.registryHost ?? null,
        filter.repository === undefined ? null : globPattern(filter.repository).source,
        before ?? null,
        filter.transition ?? null,
        limit + 1,
      ],
    );
    const summaries = rows.map((row) => ({
      ref: { registryHost: row.registry_host, repository: row.repository, tag: row.tag },
      digest: row.serving,
      approvedDigest: row.approved,
      last: entryOf(row),
    }));
    return pageOf(summaries, limit, (s) => s.last.seq);
  }

  async timeline(ref: TagRef, limit: number, before?: number | null): Promise<Page<HistoryEntry>> {
    const { rows } = await this.pool.query<Omit<HistoryRow, 'seq'> & { seq: string }>(
      `SELECT * FROM history WHERE registry_host = $1 AND repository = $2 AND tag = $3
         AND ($4::bigint IS NULL OR seq < $4) ORDER BY seq DESC LIMIT $5::int`,
      [ref.registryHost, ref.repository, ref.tag, before ?? null, limit + 1],
    );
    return pageOf(rows.map(entryOf), limit, (row) => row.seq);
  }

  async effectsWithStatus(status: 'pending' | 'failed', limit: number): Promise<OutboxEffect[]> {
    const { rows } = await this.pool.query<OutboxRow>(
      'SELECT * FROM outbox WHERE status = $1 ORDER BY updated_at DESC, key LIMIT $2',
      [status, limit],
    );
    return rows.map(toOutboxEffect);
  }
}
