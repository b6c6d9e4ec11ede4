import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DEFAULT_POLICY } from '../../shared/core';
import { ingestWebhook } from '../../shared/guard/ingest';
import { decodeRecord } from '../../shared/guard/queue-envelope';
import { MemoryHistoryStore } from '../../shared/history';
import { silentLogger } from '../../shared/log';
import { digestOf } from '../support/events';
import { distributionBody } from '../support/webhook-bodies';

const fixture = (source: string, name: string) =>
  JSON.parse(readFileSync(join(__dirname, '..', 'fixtures', source, name), 'utf8'));
const acrPush = fixture('acr', 'push-valid.json');
const ecrPush = fixture('ecr', 'push-valid.json');

function ingestDeps() {
  let second = 0;
  return {
    store: new MemoryHistoryStore(),
    policy: DEFAULT_POLICY,
    log: silentLogger,
    // Two (or more) enabled sources.
    auth: () => ({ open: true }),
    now: () => new Date(Date.UTC(2026, 11, 1, 10, 0, second++)),
  };
}

async function post(deps: ReturnType<typeof ingestDeps>, source: string, body: unknown) {
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  const outcome = await ingestWebhook(deps, {
    source,
    headers: {},
    query: new URLSearchParams(),
    body: Buffer.from(text),
  });
  if (outcome.kind !== 'recorded') throw new Error(`not recorded: ${JSON.stringify(outcome)}`);
  return outcome.summary.transitions;
}

describe('event ids are namespaced by source (issue 11, item 6)', () => {
  test('a source cannot pre-claim the id another source sends for a real push', async () => {
    const deps = ingestDeps();
    // Source B (distribution) posts first, with the id ACR will send for a real push.
    const claim = distributionBody({ id: acrPush.id, repository: 'other/repo', digest: digestOf('b') });
    const claimed = await post(deps, 'distribution', claim);
    expect(claimed.map((t) => t.transition)).toEqual(['first-seen']);
    // Source A's (ACR) real push is then recorded, not taken for a duplicate.
    const real = await post(deps, 'acr', acrPush);
    expect(real.map((t) => t.transition)).toEqual(['first-seen']);
    expect(await deps.store.tagState(tagOf(acrPush))).toMatchObject({ digest: acrPush.target.digest });
    // Each id in its source's namespace.
    expect([claimed[0]!.id, real[0]!.id]).toEqual([`distribution:${acrPush.id}`, `acr:${acrPush.id}`]);
  });

  test('an ECR push through EventBridge is not pre-claimed by a webhook source either', async () => {
    const claim = distributionBody({ id: ecrPush.id });
    const deps = ingestDeps();
    const [claimed] = await post(deps, 'distribution', claim);
    const decoded = decodeRecord(JSON.stringify(ecrPush));
    if (!decoded.ok) throw new Error(decoded.reason);
    expect(decoded.events.map((event) => event.id)).toEqual([`ecr:${ecrPush.id}`]);
    expect(decoded.events[0]!.id).not.toBe(claimed!.id);
  });

  test('the ACR webhook and Event Grid share one namespace: the same delivery is recorded once', async () => {
    const deps = ingestDeps();
    const gridPush = [
      { ...fixture('acr-eventgrid', 'docs-sample-image-pushed-cloudevents.json')[0], data: acrPush },
    ];
    expect(await post(deps, 'acr', acrPush)).toMatchObject([{ transition: 'first-seen' }]);
    expect(await post(deps, 'acr-eventgrid', gridPush)).toMatchObject([
      { id: `acr:${acrPush.id}`, transition: 'duplicate' },
    ]);
  });
});

function tagOf(push: { request: { host: string }; target: { repository: string; tag: string } }) {
  return { registryHost: push.request.host, repository: push.target.repository, tag: push.target.tag };
}
