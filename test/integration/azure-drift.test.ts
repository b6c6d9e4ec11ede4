import { TableClient } from '@azure/data-tables';
import { HttpRequest, InvocationContext } from '@azure/functions';
import type { AzureDependencies } from '../../functions/azure/dependencies';
import { handleDriftReport } from '../../functions/azure/drift-report';
import type { DriftReport } from '../../shared/contracts/drift-report/payload';
import { type Policy, tagRefOf } from '../../shared/core';
import { EffectRunner } from '../../shared/guard/effects';
import { TableStorageHistoryStore } from '../../shared/history/table-storage';
import { silentLogger } from '../../shared/log';
import { type RunningAzurite, startAzurite } from '../support/azurite';
import { digestOf, pushEvent } from '../support/events';
import { RecordingNotifier } from '../support/recording-notifier';
import { DRIFT_NOW, DRIFT_SECRET, driftReport, SPLIT, signedDrift } from '../support/signed-drift';

const policy: Policy = { defaults: { action: 'alert', owners: ['#payments'], bump: false }, rules: [] };
let az: RunningAzurite;
let tables = 0;

beforeAll(async () => {
  az = await startAzurite();
}, 60_000);
afterAll(async () => {
  await az?.stop();
});

async function functionApp() {
  const table = TableClient.fromConnectionString(az.connectionString, `azdrift${++tables}`, {
    allowInsecureConnection: true,
  });
  const store = new TableStorageHistoryStore(table);
  await store.ensureTable();
  await store.apply(pushEvent({ digest: digestOf('a') }), policy, DRIFT_NOW.toISOString());
  const notifier = new RecordingNotifier();
  const now = () => DRIFT_NOW;
  const runner = new EffectRunner({
    store,
    registries: () => null,
    notifier,
    log: silentLogger,
    now,
    policy,
  });
  const deps = {
    store,
    policy,
    log: silentLogger,
    runner,
    now,
    clusterSecret: (name: string) => (name === 'prod-eu' ? DRIFT_SECRET : null),
  } as unknown as AzureDependencies;
  return { deps, store, notifier };
}

function request(report: DriftReport, secret?: string) {
  const { body, headers } = signedDrift(report, secret);
  return new HttpRequest({
    method: 'POST',
    url: 'https://tagwarden.azurewebsites.net/api/webhooks/agent',
    headers,
    body: { string: body },
  });
}

describe('POST /api/webhooks/agent on the Azure Function App (issue 15 item 2)', () => {
  it('records a split report, alerts once through the outbox, and refuses its replay with 409', async () => {
    const { deps, store, notifier } = await functionApp();
    const report = driftReport('r1', [SPLIT]);
    const answer = await handleDriftReport(deps, request(report), new InvocationContext());
    expect(answer.status).toBe(200);
    expect(answer.jsonBody).toMatchObject({ status: 'recorded', opened: 1, cleared: 0 });
    expect(notifier.alerts).toHaveLength(1);
    expect((await store.drift.openFindings('prod-eu')).map((f) => f.reportId)).toEqual(['r1']);
    const replay = await handleDriftReport(deps, request(report), new InvocationContext());
    expect(replay.status).toBe(409);
    expect(notifier.alerts).toHaveLength(1);
    expect(await store.drift.driftHistory(tagRefOf(pushEvent()))).toHaveLength(1);
  }, 30_000);

  it('refuses a forged report (401) and an old one (401), recording nothing', async () => {
    const { deps, store, notifier } = await functionApp();
    const forged = await handleDriftReport(
      deps,
      request(driftReport('r2', [SPLIT]), 'not-the-secret-0123456789'),
      new InvocationContext(),
    );
    expect(forged.status).toBe(401);
    const old = new Date(DRIFT_NOW.getTime() - 10 * 60_000).toISOString();
    const late = await handleDriftReport(
      deps,
      request(driftReport('r3', [SPLIT], old)),
      new InvocationContext(),
    );
    expect(late.status).toBe(401);
    expect(late.jsonBody).toMatchObject({ error: expect.stringContaining('outside the accepted window') });
    expect(await store.drift.openFindings()).toEqual([]);
    expect(notifier.alerts).toEqual([]);
  }, 30_000);
});
