import { renderConsoleLine } from '../../shared/adapters/notify/console';
import { renderSlackMessage } from '../../shared/adapters/notify/slack';
import {
  type DriftFindingFacts,
  driftAlert,
  driftEffects,
  driftNotice,
  type Incident,
} from '../../shared/core';

const A = `sha256:${'a'.repeat(64)}`;
const B = `sha256:${'b'.repeat(64)}`;
const finding: DriftFindingFacts = {
  kind: 'split',
  workload: { kind: 'Deployment', namespace: 'payments', name: 'api<!channel>*bold*' },
  container: 'api\u001b[31m',
  registryHost: 'registry.example.com',
  repository: 'payments/api',
  tag: '1.4.2',
  running: [
    { digest: A, pods: 3 },
    { digest: B, pods: 2 },
  ],
  tagDigest: A,
};

function alertFor(f: DriftFindingFacts) {
  const notice = driftNotice('prod-eu', f, A);
  const rule = { action: 'alert' as const, owners: ['#payments'], bump: false, source: 'defaults' };
  const [effect] = driftEffects(
    'drift-1',
    notice,
    { finding: f, serves: A },
    rule,
    '2026-11-22T10:00:00.000Z',
  );
  const incident = (effect as { incident: Incident }).incident;
  return driftAlert(incident, incident.drift!);
}

describe('a drift alert as the notifiers render it', () => {
  it('escapes what the agent reported for Slack: no mention, no formatting', () => {
    const message = JSON.stringify(renderSlackMessage(alertFor(finding)));
    expect(message).not.toContain('<!channel>');
    expect(message).toContain('&lt;!channel&gt;');
    expect(message).not.toContain('*bold*');
    expect(message).toContain('Pods run different images under one tag');
  });

  it('is one clean console line with both digests, the pod counts and the cluster', () => {
    const line = renderConsoleLine(alertFor(finding));
    expect(line.includes('\u001b') || line.includes('\n')).toBe(false);
    expect(line).toContain(
      'sha256:aaaaaaaaaaaa… on 3 pods and sha256:bbbbbbbbbbbb… on 2 pods under payments/api:1.4.2',
    );
    expect(line).toContain('(cluster prod-eu)');
  });
});
