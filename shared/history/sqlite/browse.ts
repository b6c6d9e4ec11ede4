import type Database from 'better-sqlite3';
import { globMatches, type HistoryEntry, type OutboxEffect, type TagRef } from '../../core';
import { type Page, pageOf, type TagFilter, type TagSummary } from '../browse';
import { type HistoryRow, type OutboxRow, toHistoryEntry, toOutboxEffect } from './rows';

type SummaryRow = HistoryRow & { serving: string | null; approved: string | null };

interface TagQuery {
  host: string | null;
  glob: string | null;
  transition: string | null;
  before: number | null;
  limit: number;
}

/**
 * The paged reads of the web interface on SQLite. The newest row of each tag comes from a walk of
 * the `history_by_tag` index; the repository glob is the policy's own matcher, registered as a
 * function so a filter means here what it means in a rule.
 */
export class SqliteBrowser {
  private readonly statements;

  constructor(db: Database.Database) {
    db.function('tagwarden_glob', { deterministic: true }, (glob, value) =>
      globMatches(String(glob), String(value)) ? 1 : 0,
    );
    this.statements = {
      recent: db.prepare<[TagQuery], SummaryRow>(
        // The newest row of each tag from the index alone, cut to the page before any row is read,
        // unless the page filters on the transition, which only the row holds.
        `SELECT h.*, t.digest AS serving, t.approved_digest AS approved
         FROM (SELECT MAX(seq) AS last FROM history
               WHERE (@host IS NULL OR registry_host = @host) AND (@glob IS NULL OR tagwarden_glob(@glob, repository))
               GROUP BY registry_host, repository, tag HAVING (@before IS NULL OR last < @before)
               ORDER BY last DESC LIMIT CASE WHEN @transition IS NULL THEN @limit ELSE -1 END) m
         JOIN history h ON h.seq = m.last
         LEFT JOIN tags t ON t.registry_host = h.registry_host AND t.repository = h.repository AND t.tag = h.tag
         WHERE @transition IS NULL OR h.transition = @transition
         ORDER BY h.seq DESC LIMIT @limit`,
      ),
      timeline: db.prepare<[string, string, string, number, number], HistoryRow>(
        'SELECT * FROM history WHERE registry_host = ? AND repository = ? AND tag = ? AND seq < ? ORDER BY seq DESC LIMIT ?',
      ),
      withStatus: db.prepare<[string, number], OutboxRow>(
        'SELECT * FROM outbox WHERE status = ? ORDER BY updated_at DESC, key LIMIT ?',
      ),
    };
  }

  async recentTags(filter: TagFilter, limit: number, before?: number | null): Promise<Page<TagSummary>> {
    const rows = this.statements.recent.all({
      host: filter.registryHost ?? null,
      glob: filter.repository ?? null,
      transition: filter.transition ?? null,
      before: before ?? null,
      limit: limit + 1,
    });
    const summaries = rows.map((row) => ({
      ref: { registryHost: row.registry_host, repository: row.repository, tag: row.tag },
      digest: row.serving,
      approvedDigest: row.approved,
      last: toHistoryEntry(row),
    }));
    return pageOf(summaries, limit, (s) => s.last.seq);
  }

  async timeline(ref: TagRef, limit: number, before?: number | null): Promise<Page<HistoryEntry>> {
    const rows = this.statements.timeline
      .all(ref.registryHost, ref.repository, ref.tag, before ?? Number.MAX_SAFE_INTEGER, limit + 1)
      .map(toHistoryEntry);
    return pageOf(rows, limit, (row) => row.seq);
  }

  async effectsWithStatus(status: 'pending' | 'failed', limit: number): Promise<OutboxEffect[]> {
    return this.statements.withStatus.all(status, limit).map(toOutboxEffect);
  }
}
