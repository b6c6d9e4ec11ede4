import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { diffDrift, type KeyedFinding, type OpenFinding } from '../../shared/core';
import type { DriftPlan } from '../../shared/history';
import { createHistoryTable, DynamoDbHistoryStore } from '../../shared/history/dynamodb';
import { describeDriftLog, finding } from '../contract/drift-log.contract';
import { type RunningDynamoDb, startDynamoDbLocal } from '../support/dynamodb-local';
import { at } from '../support/events';

let dynamo: RunningDynamoDb;
let tables = 0;

beforeAll(async () => {
  dynamo = await startDynamoDbLocal();
}, 60_000);
afterAll(async () => {
  await dynamo?.stop();
});

async function freshStore(): Promise<DynamoDbHistoryStore> {
  const tableName = `drift-${++tables}`;
  await createHistoryTable(dynamo.client, tableName);
  return new DynamoDbHistoryStore({ client: dynamo.client, tableName });
}

describeDriftLog('dynamodb-local', async () => {
  const store = await freshStore();
  return { drift: store.drift, outbox: store, close: () => store.close() };
});

/** `n` findings, each on its own tag, and a plan queuing an alert and a revert for each one opened. */
function many(
  n: number,
  prefix = 'k',
): { reported: KeyedFinding[]; plan: (open: OpenFinding[]) => DriftPlan } {
  const reported = Array.from({ length: n }, (_, i) => ({
    key: `${prefix}${String(i).padStart(3, '0')}`,
    finding: finding({ tag: `v${i}` }),
  }));
  const plan = (open: OpenFinding[]): DriftPlan => {
    const diff = diffDrift(open, reported, false);
    return {
      diff,
      effects: diff.opened.map((f) => ({
        eventId: `drift-${f.key}`,
        effects: [
          { kind: 'alert', after: null, incident: alertIncident(f) },
          { kind: 'revert', after: null, incident: alertIncident(f) },
        ] as DriftPlan['effects'][number]['effects'],
      })),
    };
  };
  return { reported, plan };
}

function alertIncident(f: KeyedFinding) {
  const { registryHost, repository, tag } = f.finding;
  return {
    eventId: `drift-${f.key}`,
    ref: { registryHost, repository, tag },
    from: f.finding.tagDigest,
    to: f.finding.running[1]?.digest ?? null,
    restoreTo: null,
    actor: null,
    eventTime: at(0),
    ruleAction: 'alert',
    ruleSource: 'defaults',
    owners: [],
  };
}

const input = (reportId: string, receivedAt = at(10)) => ({
  cluster: 'prod-eu',
  reportId,
  receivedAt,
  forgetBefore: at(0),
});

describe('DynamoDB drift log beyond one transaction (100 items)', () => {
  it('records a report opening 150 findings (600 writes, split) whole, then one clearing them all', async () => {
    const store = await freshStore();
    const { reported, plan } = many(150);
    expect(await store.drift.applyReport(input('big'), plan)).toEqual({
      kind: 'applied',
      opened: 150,
      cleared: 0,
    });
    expect((await store.drift.openFindings('prod-eu')).map((f) => f.key)).toEqual(reported.map((f) => f.key));
    expect((await store.effectsOf('drift-k149')).map((e) => e.key)).toEqual([
      'drift-k149#alert',
      'drift-k149#revert',
    ]);
    expect(await store.drift.applyReport(input('big'), plan)).toEqual({ kind: 'replay' });
    const empty = many(0).plan;
    expect(await store.drift.applyReport(input('gone', at(20)), empty)).toEqual({
      kind: 'applied',
      opened: 0,
      cleared: 150,
    });
    expect(await store.drift.openFindings()).toEqual([]);
    expect((await store.drift.driftHistory(reported[7]!.finding)).map((r) => r.change)).toEqual([
      'opened',
      'cleared',
    ]);
  }, 60_000);

  it('lets two writers delivering one report at once record it once, each finding alerted once', async () => {
    const store = await freshStore();
    const client = new DynamoDBClient({
      region: 'us-east-1',
      endpoint: dynamo.endpoint,
      credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    });
    const rival = new DynamoDbHistoryStore({ client, tableName: `drift-${tables}` });
    const { plan } = many(120);
    const results = await Promise.all([store, rival].map((s) => s.drift.applyReport(input('twice'), plan)));
    expect(results.map((r) => r.kind).sort()).toEqual(['applied', 'replay']);
    expect(await store.drift.openFindings()).toHaveLength(120);
    const rows = await store.drift.driftHistory(finding({ tag: 'v42' }));
    expect(rows.map((r) => [r.change, r.reportId])).toEqual([['opened', 'twice']]);
    client.destroy();
  }, 60_000);
});
