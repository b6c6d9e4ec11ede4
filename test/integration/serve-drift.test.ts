import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { signBody } from '../../shared/contracts/cluster-bump/signature';
import type { DriftReport } from '../../shared/contracts/drift-report/payload';
import { finding } from '../contract/drift-log.contract';
import { parsePrometheusText, sampleValue } from '../support/prometheus-text';
import { buildCli, eventually, type RunningTagwarden, startTagwarden } from '../support/tagwarden';

const SECRET = 'prod-eu-drift-secret-0123';
let dir: string;
let running: RunningTagwarden | undefined;

beforeAll(() => {
  buildCli();
  dir = mkdtempSync(join(tmpdir(), 'tagwarden-serve-drift-'));
}, 60_000);
afterAll(async () => {
  await running?.stop();
  rmSync(dir, { recursive: true, force: true });
});

function post(url: string, report: DriftReport, secret: string) {
  const body = JSON.stringify(report);
  return fetch(`${url}/webhooks/agent`, {
    method: 'POST',
    headers: {
      'X-Tagwarden-Cluster': report.cluster,
      'X-Tagwarden-Timestamp': report.timestamp,
      'X-Tagwarden-Signature': signBody(secret, body),
    },
    body,
  });
}

describe('tagwarden serve receives drift reports from the clusters in its config', () => {
  it("verifies with the cluster's secret from the environment, records, and alerts on the console", async () => {
    const config = join(dir, 'tagwarden.yaml');
    writeFileSync(
      config,
      [
        'defaults: { action: alert, owners: ["#payments"] }',
        'clusters:',
        '  - name: prod-eu',
        '    url: http://127.0.0.1:9/bump',
        // biome-ignore lint/suspicious/noTemplateCurlyInString: the config's ${VAR} syntax.
        '    secret: "${DRIFT_SECRET}"',
      ].join('\n'),
    );
    running = await startTagwarden(['--port', '0', '--db', join(dir, 'history.db'), '--config', config], {
      DRIFT_SECRET: SECRET,
    });
    const report: DriftReport = {
      id: 'report-1',
      cluster: 'prod-eu',
      timestamp: new Date().toISOString(),
      namespaces: null,
      findings: [finding()],
      truncated: false,
    };
    expect((await post(running.url, report, 'another-secret-0123456789')).status).toBe(401);
    const answer = await post(running.url, report, SECRET);
    expect(answer.status).toBe(200);
    expect(await answer.json()).toMatchObject({ status: 'recorded', opened: 1 });
    const line = await eventually(
      async () =>
        /ALERT pods run different images under one tag: .*\(cluster prod-eu\)/.exec(running!.output())?.[0],
      'the drift alert on the console',
    );
    expect(line).toContain('on 3 pods and');
    const drift = await (await fetch(`${running.url}/api/drift`)).json();
    expect(Object.keys((drift as { clusters: object }).clusters)).toEqual(['prod-eu']);

    // The same report again is a replay; a later one without the finding clears it. All counted.
    expect((await post(running.url, report, SECRET)).status).toBe(409);
    const later = { ...report, id: 'report-2', timestamp: new Date().toISOString(), findings: [] };
    expect(await (await post(running.url, later, SECRET)).json()).toMatchObject({ opened: 0, cleared: 1 });
    const m = parsePrometheusText(await (await fetch(`${running.url}/metrics`)).text());
    const reports = (outcome: string) => sampleValue(m, 'tagwarden_drift_reports_total', { outcome });
    expect([reports('recorded'), reports('replay'), reports('unauthenticated')]).toEqual([2, 1, 1]);
    const findings = (change: string) => sampleValue(m, 'tagwarden_drift_findings_total', { change });
    expect([findings('opened'), findings('cleared')]).toEqual([1, 1]);
  });
});
