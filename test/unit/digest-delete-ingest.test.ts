import { digestDeletedOn, eventProblems, type Policy, type TagState } from '../../shared/core';
import { ingestWebhook } from '../../shared/guard/ingest';
import { MemoryHistoryStore } from '../../shared/history';
import type { Logger } from '../../shared/log';
import { at, deleteEvent, digestOf, pushEvent } from '../support/events';
import { distributionBody, distributionEnvelope, distributionItem } from '../support/webhook-bodies';

const A = digestOf('a');
const B = digestOf('b');
const HOST = '127.0.0.1:5000';
const policy: Policy = {
  defaults: { action: 'alert', owners: ['#team'], bump: false },
  rules: [],
};

function deps(store = new MemoryHistoryStore()) {
  const warnings: Array<[string, Record<string, unknown> | undefined]> = [];
  const log: Logger = { info() {}, warn: (message, fields) => warnings.push([message, fields]), error() {} };
  return { store, policy, log, auth: () => ({ open: true }), warnings };
}

/** A distribution manifest delete by digest: `target.digest` and no tag. */
function digestDeleteBody(id: string, digest: string): string {
  const item = distributionItem({ id, action: 'delete', digest, timestamp: '2026-11-22T11:00:00Z' });
  delete (item.target as Record<string, unknown>).tag;
  return JSON.stringify(distributionEnvelope(item));
}

async function post(d: ReturnType<typeof deps>, body: string) {
  const outcome = await ingestWebhook(d, {
    source: 'distribution',
    headers: {},
    query: new URLSearchParams(),
    body: Buffer.from(body),
  });
  if (outcome.kind !== 'recorded') throw new Error(`not recorded: ${JSON.stringify(outcome)}`);
  return outcome.summary;
}

const ref = (tag: string) => ({ registryHost: HOST, repository: 'payments/api', tag });

describe('a manifest delete by digest through ingest', () => {
  test('is recorded once per tag serving the digest, a redelivery collapses, other tags are untouched', async () => {
    const d = deps();
    await post(d, distributionBody({ tag: 'v1', digest: A }));
    await post(d, distributionBody({ tag: 'v2', digest: A }));
    await post(d, distributionBody({ tag: 'v3', digest: B }));
    const body = digestDeleteBody('del-1', A);
    const first = await post(d, body);
    expect(first.transitions).toEqual([
      { id: 'distribution:del-1@v1', tagRef: `${HOST}/payments/api:v1`, transition: 'digest-deleted' },
      { id: 'distribution:del-1@v2', tagRef: `${HOST}/payments/api:v2`, transition: 'digest-deleted' },
    ]);
    expect(first.ignored).toHaveLength(1);
    expect((await d.store.effectsOf('distribution:del-1@v1')).map((e) => e.kind)).toEqual(['alert']);
    // Redelivered: A is still the tags' approved digest, so both are named again, as duplicates.
    const again = await post(d, body);
    expect(again.transitions.map((t) => t.transition)).toEqual(['duplicate', 'duplicate']);
    expect((await d.store.tagState(ref('v3')))?.digest).toBe(B);
    expect((await d.store.history(ref('v1'))).map((r) => r.transition)).toEqual([
      'first-seen',
      'digest-deleted',
    ]);
  });

  test('when the store cannot answer the lookup, the delivery is refused for a retry, which records it', async () => {
    const store = new MemoryHistoryStore();
    const lookup = store.tagsServing.bind(store);
    store.tagsServing = async () => {
      throw new Error('connect ECONNREFUSED');
    };
    const d = deps(store);
    await post(d, distributionBody({ tag: 'v1', digest: A }));
    const body = `${digestDeleteBody('del-2', A).slice(0, -2)},${JSON.stringify(distributionItem({ tag: 'v2', digest: B }))}]}`;
    const request = {
      source: 'distribution',
      headers: {},
      query: new URLSearchParams(),
      body: Buffer.from(body),
    };
    expect(await ingestWebhook(d, request)).toMatchObject({ kind: 'unavailable' });
    store.tagsServing = lookup;
    const retried = await post(d, body);
    expect(retried.transitions.map((t) => [t.tagRef, t.transition])).toEqual([
      [`${HOST}/payments/api:v2`, 'duplicate'],
      [`${HOST}/payments/api:v1`, 'digest-deleted'],
    ]);
    expect((await d.store.history(ref('v1'))).map((r) => r.transition)).toEqual([
      'first-seen',
      'digest-deleted',
    ]);
  });
});

describe('digestDeletedOn', () => {
  const state = (over: Partial<TagState>): TagState => ({
    digest: A,
    lastDigest: A,
    eventTime: at(10),
    eventId: 'e0',
    pendingRestore: null,
    approvedDigest: A,
    version: 1,
    ...over,
  });
  const deleted = (seconds: number) => ({
    ...deleteEvent({ digest: A, timestamp: at(seconds) }),
    byDigest: true as const,
  });

  test('a delete older than the push of the digest the tag serves is stale: it was pushed again since', () => {
    expect(digestDeletedOn(state({}), deleted(5), at(5)).transition.kind).toBe('stale');
    expect(digestDeletedOn(state({}), deleted(15), at(15)).transition.kind).toBe('digest-deleted');
  });

  test('a tag that only had the digest approved does not move; one that has neither is stale', () => {
    const reverting = digestDeletedOn(state({ digest: B }), deleted(5), at(5));
    expect(reverting.transition).toEqual({ kind: 'digest-deleted', digest: A, serving: B, approved: A });
    expect(reverting.next).toBeNull();
    const moved = digestDeletedOn(state({ digest: B, approvedDigest: B }), deleted(15), at(15));
    expect(moved.transition).toEqual({ kind: 'stale', digest: A, current: B });
    expect(digestDeletedOn(null, deleted(15), at(15)).transition.kind).toBe('stale');
  });

  test('a byDigest marker on a push is refused by the grammar', () => {
    expect(eventProblems({ ...pushEvent(), byDigest: true })).toContain(
      'byDigest is only carried by deletes with a digest',
    );
  });
});
