import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DEFAULT_POLICY, tagRefOf } from '../../shared/core';
import { ingestWebhook } from '../../shared/guard/ingest';
import { MemoryHistoryStore } from '../../shared/history';
import { silentLogger } from '../../shared/log';
import { parserFor } from '../../shared/sources';
import { digestOf } from '../support/events';

const pushed = JSON.parse(
  readFileSync(join(__dirname, '..', 'fixtures', 'artifactory', 'docker-pushed-valid.json'), 'utf8'),
);

/** The same Artifactory push body for another digest: Artifactory sends no event id, so its id is derived from the content. */
function artifactoryPush(digest: string): Buffer {
  return Buffer.from(
    JSON.stringify({ ...pushed, data: { ...pushed.data, sha256: digest.slice('sha256:'.length) } }),
  );
}

describe('content-derived event ids (issue 11, item 6)', () => {
  test('Artifactory pushes A, B, A, B of one tag are first-seen, overwrite, overwrite, overwrite', async () => {
    const store = new MemoryHistoryStore();
    let second = 0;
    const deps = {
      store,
      policy: DEFAULT_POLICY,
      log: silentLogger,
      auth: () => ({ open: true }),
      now: () => new Date(Date.UTC(2026, 11, 1, 10, 0, second++)),
    };
    const [A, B] = [digestOf('content-a'), digestOf('content-b')];
    const transitions: string[] = [];
    for (const digest of [A, B, A, B]) {
      const outcome = await ingestWebhook(deps, {
        source: 'artifactory',
        headers: {},
        query: new URLSearchParams(),
        body: artifactoryPush(digest),
      });
      if (outcome.kind !== 'recorded') throw new Error(`not recorded: ${JSON.stringify(outcome)}`);
      transitions.push(...outcome.summary.transitions.map((t) => t.transition));
    }
    expect(transitions).toEqual(['first-seen', 'overwrite', 'overwrite', 'overwrite']);
    // History says what the registry serves: B, reached by a move each time.
    const event = parserFor('artifactory')!.parse(JSON.parse(artifactoryPush(B).toString('utf8')));
    if (!event.ok || event.items[0]?.kind !== 'event') throw new Error('fixture does not parse');
    const ref = tagRefOf(event.items[0].event);
    expect((await store.tagState(ref))?.digest).toBe(B);
    expect((await store.history(ref)).map((row) => row.transition)).toEqual([
      'first-seen',
      'overwrite',
      'overwrite',
      'overwrite',
    ]);
  });

  test('the same delivery again, while the tag serves its digest, plans nothing', async () => {
    const store = new MemoryHistoryStore();
    let second = 0;
    const deps = {
      store,
      policy: DEFAULT_POLICY,
      log: silentLogger,
      auth: () => ({ open: true }),
      now: () => new Date(Date.UTC(2026, 11, 1, 10, 0, second++)),
    };
    const request = {
      source: 'artifactory',
      headers: {},
      query: new URLSearchParams(),
      body: artifactoryPush(digestOf('content-a')),
    };
    await ingestWebhook(deps, request);
    const again = await ingestWebhook(deps, request);
    expect(again).toMatchObject({
      kind: 'recorded',
      summary: { transitions: [{ transition: 'unchanged' }] },
    });
    expect(await store.claimDueEffects('2026-12-02T00:00:00Z', '2026-12-02T00:01:00Z', 10)).toEqual([]);
  });
});
