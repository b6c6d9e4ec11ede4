import { type DriftFindingFacts, diffDrift, driftEffects, driftNotice, type OpenFinding } from './drift';
import type { ResolvedRule } from './policy';

const A = `sha256:${'a'.repeat(64)}`;
const B = `sha256:${'b'.repeat(64)}`;
const finding: DriftFindingFacts = {
  kind: 'stale',
  workload: { kind: 'StatefulSet', namespace: 'db', name: 'pg' },
  container: 'pg',
  registryHost: 'registry.example.com',
  repository: 'db/pg',
  tag: '16',
  running: [{ digest: B, pods: 1 }],
  tagDigest: A,
};
const open = (key: string): OpenFinding => ({ key, finding, cluster: 'c', openedAt: 't', reportId: 'r' });
const rule: ResolvedRule = { action: 'revert', owners: ['#db'], bump: false, source: 'rules[0]' };

describe('diffDrift', () => {
  it('opens what is new once, clears what is gone, keeps what stays', () => {
    const diff = diffDrift(
      [open('kept'), open('gone')],
      [
        { key: 'kept', finding },
        { key: 'new', finding },
        { key: 'new', finding },
      ],
      false,
    );
    expect(diff.opened.map((f) => f.key)).toEqual(['new']);
    expect(diff.cleared.map((f) => f.key)).toEqual(['gone']);
  });

  it('clears nothing when the report was truncated', () => {
    expect(diffDrift([open('gone')], [], true)).toEqual({ opened: [], cleared: [] });
  });
});

describe('driftNotice', () => {
  it('says what a stale workload runs and what the tag serves, with the cluster', () => {
    const notice = driftNotice('prod-eu', finding, A);
    expect(notice.text).toBe(
      'StatefulSet db/pg runs sha256:bbbbbbbbbbbb… on 1 pod under db/pg:16; the tag serves sha256:aaaaaaaaaaaa… (cluster prod-eu)',
    );
    expect(notice.title).toBe('Pods run an image the tag no longer serves');
  });

  it('names the pull policy of a risky workload, and says when the served digest is unknown', () => {
    const notice = driftNotice('c', { ...finding, kind: 'risky', running: [] }, null);
    expect(notice.text).toBe(
      'StatefulSet db/pg pulls db/pg:16 by tag with imagePullPolicy: IfNotPresent, so each node keeps the digest it pulled first; Tagwarden does not know what the tag serves (cluster c)',
    );
    expect(notice.notes[1]).toMatch(/pin the image by digest, or set imagePullPolicy: Always/);
  });
});

describe('driftEffects', () => {
  it('is one alert to the rule owners carrying the notice, and none under allow', () => {
    const notice = driftNotice('c', finding, A);
    const [effect, ...rest] = driftEffects('drift-1', notice, { finding, serves: A }, rule, 't0');
    expect(rest).toEqual([]);
    expect(effect).toMatchObject({
      kind: 'alert',
      after: null,
      incident: { eventId: 'drift-1', owners: ['#db'], from: A, to: B, drift: notice },
    });
    expect(
      driftEffects('drift-1', notice, { finding, serves: A }, { ...rule, action: 'allow' }, 't0'),
    ).toEqual([]);
  });
});
