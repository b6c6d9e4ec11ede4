import { type Effect, formatTagRef, type OpenFinding, type TagRef } from '../../core';
import type { DriftApplyResult, DriftLog, DriftPlan, DriftReportInput, DriftRow } from '../drift-port';

type Enqueue = (eventId: string, effects: Effect[], now: string) => Promise<void>;

/** In-process drift log for tests; atomic because nothing in `applyReport` awaits before it writes. */
export class MemoryDriftLog implements DriftLog {
  private readonly open = new Map<string, OpenFinding>();
  private readonly reports = new Map<string, string>();
  private readonly rows: (DriftRow & { tagRef: string })[] = [];

  constructor(private readonly enqueue: Enqueue) {}

  async openFindings(cluster?: string): Promise<OpenFinding[]> {
    return structuredClone(
      [...this.open.values()]
        .filter((f) => cluster === undefined || f.cluster === cluster)
        .sort((a, b) => a.cluster.localeCompare(b.cluster) || a.key.localeCompare(b.key)),
    );
  }

  async applyReport(
    input: DriftReportInput,
    plan: (open: OpenFinding[]) => DriftPlan,
  ): Promise<DriftApplyResult> {
    const { cluster, reportId, receivedAt } = input;
    for (const [id, at] of this.reports) if (at < input.forgetBefore) this.reports.delete(id);
    if (this.reports.has(`${cluster}\n${reportId}`)) return { kind: 'replay' };
    const current = [...this.open.values()].filter((f) => f.cluster === cluster);
    const { diff, effects } = plan(structuredClone(current));
    this.reports.set(`${cluster}\n${reportId}`, receivedAt);
    const row = (change: DriftRow['change'], f: { key: string; finding: DriftRow['finding'] }) => {
      const tagRef = formatTagRef(f.finding);
      this.rows.push({
        seq: this.rows.length + 1,
        cluster,
        change,
        key: f.key,
        finding: f.finding,
        reportId,
        receivedAt,
        tagRef,
      });
    };
    for (const f of diff.cleared) {
      this.open.delete(`${cluster}\n${f.key}`);
      row('cleared', f);
    }
    for (const f of diff.opened) {
      this.open.set(`${cluster}\n${f.key}`, { ...f, cluster, openedAt: receivedAt, reportId });
      row('opened', f);
    }
    for (const e of effects) void this.enqueue(e.eventId, e.effects, receivedAt);
    return { kind: 'applied', opened: diff.opened.length, cleared: diff.cleared.length };
  }

  async driftHistory(ref: TagRef): Promise<DriftRow[]> {
    const tagRef = formatTagRef(ref);
    return structuredClone(this.rows.filter((r) => r.tagRef === tagRef).map(({ tagRef: _, ...row }) => row));
  }
}
