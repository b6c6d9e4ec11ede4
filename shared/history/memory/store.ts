import {
  type ApplyResult,
  type Digest,
  type Effect,
  formatTagRef,
  globMatches,
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
  tagRefOf,
} from '../../core';
import { applyInOrder } from '../apply-all';
import { type HistoryBrowser, type Page, pageOf, type TagFilter, type TagSummary } from '../browse';
import type { EffectUpdate, FailedRecord, HistoryStore, OutboxDepth } from '../port';
import { MemoryDriftLog } from './drift';

/** In-process store for tests and dry runs. Atomic because nothing inside `apply` awaits. */
export class MemoryHistoryStore implements HistoryStore, HistoryBrowser {
  private readonly tags = new Map<string, TagState>();
  private readonly refs = new Map<string, TagRef>();
  private readonly rows = new Map<string, HistoryEntry[]>();
  private readonly seenEventIds = new Set<string>();
  private readonly outbox = new Map<string, OutboxEffect>();
  private readonly failed: FailedRecord[] = [];
  private seq = 0;
  /** Drift findings (issue 15); their alerts go to this store's outbox. */
  readonly drift = new MemoryDriftLog((eventId, effects, now) => this.enqueueEffects(eventId, effects, now));

  async apply(event: RegistryEvent, policy: Policy, receivedAt: string): Promise<ApplyResult> {
    const key = formatTagRef(event);
    const prev = this.tags.get(key) ?? null;
    const seen = this.seenEventIds.has(event.id);
    const step = recordStep({ prev, seen, event, rule: ruleFor(policy, event), receivedAt });
    if (step.kind === 'duplicate') return step.result;
    this.seenEventIds.add(event.id);
    if (step.next) this.tags.set(key, step.next);
    if (step.next) this.refs.set(key, tagRefOf(event));
    const list = this.rows.get(key) ?? [];
    list.push({ seq: ++this.seq, ...step.history });
    this.rows.set(key, list);
    for (const effect of step.result.effects) this.outbox.set(effect.key, effect);
    return structuredClone(step.result);
  }

  applyAll(events: RegistryEvent[], policy: Policy, receivedAt: string): Promise<ApplyResult[]> {
    return applyInOrder((e, p, r) => this.apply(e, p, r), events, policy, receivedAt);
  }

  async enqueueEffects(eventId: string, effects: Effect[], now: string): Promise<void> {
    for (const row of outboxRows(eventId, effects, now))
      if (!this.outbox.has(row.key)) this.outbox.set(row.key, row);
  }

  async tagState(ref: TagRef): Promise<TagState | null> {
    const state = this.tags.get(formatTagRef(ref));
    return state ? structuredClone(state) : null;
  }

  async history(ref: TagRef): Promise<HistoryEntry[]> {
    return structuredClone(this.rows.get(formatTagRef(ref)) ?? []);
  }

  async markPendingRestore(ref: TagRef, restore: PendingRestore): Promise<boolean> {
    const state = this.tags.get(formatTagRef(ref));
    if (!state || state.digest !== restore.from) return false;
    this.tags.set(formatTagRef(ref), { ...state, pendingRestore: restore, version: state.version + 1 });
    return true;
  }

  async clearPendingRestore(ref: TagRef, digest: Digest): Promise<void> {
    const state = this.tags.get(formatTagRef(ref));
    if (state?.pendingRestore?.digest === digest) {
      this.tags.set(formatTagRef(ref), { ...state, pendingRestore: null, version: state.version + 1 });
    }
  }

  async tagsServing(registryHost: string, repository: string, digest: Digest): Promise<TagRef[]> {
    const found: TagRef[] = [];
    for (const [key, state] of this.tags) {
      const ref = this.refs.get(key)!;
      const named = state.digest === digest || state.approvedDigest === digest;
      if (named && ref.registryHost === registryHost && ref.repository === repository) found.push(ref);
    }
    return found.sort((a, b) => a.tag.localeCompare(b.tag));
  }

  async approveDigest(ref: TagRef, digest: Digest): Promise<boolean> {
    const state = this.tags.get(formatTagRef(ref));
    if (!state || state.digest !== digest) return false;
    this.tags.set(formatTagRef(ref), { ...state, approvedDigest: digest, version: state.version + 1 });
    return true;
  }

  async claimDueEffects(now: string, leaseUntil: string, limit: number): Promise<OutboxEffect[]> {
    const due = [...this.outbox.values()]
      .filter((e) => e.status === 'pending' && e.nextAttemptAt <= now)
      .sort(
        (a, b) =>
          a.nextAttemptAt.localeCompare(b.nextAttemptAt) ||
          a.eventId.localeCompare(b.eventId) ||
          a.position - b.position,
      )
      .slice(0, limit);
    const claimed = due.map((e) => structuredClone(e));
    for (const e of due) e.nextAttemptAt = leaseUntil;
    return claimed;
  }

  async renewLease(key: string, heldUntil: string, leaseUntil: string): Promise<boolean> {
    const effect = this.outbox.get(key);
    if (effect?.status !== 'pending' || effect.nextAttemptAt !== heldUntil) return false;
    effect.nextAttemptAt = leaseUntil;
    return true;
  }

  async effectsOf(eventId: string): Promise<OutboxEffect[]> {
    return [...this.outbox.values()]
      .filter((e) => e.eventId === eventId)
      .sort((a, b) => a.position - b.position)
      .map((e) => structuredClone(e));
  }

  async updateEffect(key: string, update: EffectUpdate, _now: string): Promise<void> {
    const effect = this.outbox.get(key);
    if (!effect) throw new Error(`no effect ${key} in the outbox`);
    if (update.status === 'waiting') {
      effect.nextAttemptAt = update.nextAttemptAt;
      return;
    }
    effect.attempts += 1;
    effect.status = update.status;
    if (update.status === 'done') effect.outcome = update.outcome;
    else effect.lastError = update.error;
    if (update.status === 'pending') effect.nextAttemptAt = update.nextAttemptAt;
  }

  async failedEffects(limit: number): Promise<OutboxEffect[]> {
    return [...this.outbox.values()]
      .filter((e) => e.status === 'failed')
      .reverse()
      .slice(0, limit)
      .map((e) => structuredClone(e));
  }

  async outboxDepth(): Promise<OutboxDepth> {
    const pending = [...this.outbox.values()].filter((e) => e.status === 'pending');
    const due = pending.map((e) => e.nextAttemptAt).sort();
    return { pending: pending.length, oldestDueAt: due[0] ?? null };
  }

  async recentTags(filter: TagFilter, limit: number, before?: number | null): Promise<Page<TagSummary>> {
    const matching = [...this.rows.values()]
      .map((rows) => rows[rows.length - 1]!)
      .filter(
        (last) =>
          (before == null || last.seq < before) &&
          (filter.registryHost === undefined || last.registryHost === filter.registryHost) &&
          (filter.repository === undefined || globMatches(filter.repository, last.repository)) &&
          (filter.transition === undefined || last.transition === filter.transition),
      )
      .sort((a, b) => b.seq - a.seq)
      .slice(0, limit + 1)
      .map((last) => {
        const state = this.tags.get(formatTagRef(last));
        const ref = { registryHost: last.registryHost, repository: last.repository, tag: last.tag };
        const approvedDigest = state?.approvedDigest ?? null;
        return { ref, digest: state?.digest ?? null, approvedDigest, last: structuredClone(last) };
      });
    return pageOf(matching, limit, (s) => s.last.seq);
  }

  async timeline(ref: TagRef, limit: number, before?: number | null): Promise<Page<HistoryEntry>> {
    const rows = (this.rows.get(formatTagRef(ref)) ?? []).filter((row) => before == null || row.seq < before);
    return pageOf(structuredClone(rows.slice(-limit - 1).reverse()), limit, (row) => row.seq);
  }

  async effectsWithStatus(status: 'pending' | 'failed', limit: number): Promise<OutboxEffect[]> {
    return [...this.outbox.values()]
      .filter((e) => e.status === status)
      .reverse()
      .slice(0, limit)
      .map((e) => structuredClone(e));
  }

  async recordFailure(record: Omit<FailedRecord, 'id'>): Promise<void> {
    this.failed.push({ ...record, id: this.failed.length + 1 });
  }

  async failures(limit: number): Promise<FailedRecord[]> {
    return this.failed.slice(-limit).reverse();
  }

  async close(): Promise<void> {}
}
