import { decodeOutcome, type EffectOutcome, encodeOutcome, outcomeText, renderOutcome } from './outcome';

const OLD = `sha256:${'a'.repeat(64)}`;
const NEW = `sha256:${'b'.repeat(64)}`;

describe('effect outcomes as data', () => {
  const every: EffectOutcome[] = [
    { kind: 'reverted', restored: OLD, offending: NEW, keptAs: 'tagwarden-keep-bbbbbbbbbbbb' },
    { kind: 'reverted', restored: OLD, offending: NEW, keptAs: null },
    { kind: 'skipped', reason: `the tag already serves ${OLD} again` },
    { kind: 'locked' },
    { kind: 'notLocked', reason: 'distribution has no tag locks' },
    { kind: 'alerted', via: 'slack' },
    { kind: 'fannedOut', clusters: ['prod', 'staging'] },
    { kind: 'delivered', report: 'delivered to cluster "prod" (127.0.0.1:9000): HTTP 200' },
    { kind: 'resolved', digest: NEW, transition: 'overwrite' },
    { kind: 'note', text: 'anything else' },
  ];

  test.each(every)('$kind is stored as JSON and read back as it was', (outcome) => {
    const stored = encodeOutcome(outcome);
    expect(JSON.parse(stored)).toEqual(outcome);
    expect(decodeOutcome(stored)).toEqual(outcome);
  });

  test('no outcome yet is null', () => {
    expect(decodeOutcome(null)).toBeNull();
    expect(outcomeText(null)).toBeNull();
  });

  // Every form the outcome column held before outcomes were data, as existing databases hold them.
  const legacy: Array<[string, EffectOutcome]> = [
    ['reverted', { kind: 'reverted', restored: null, offending: null, keptAs: null }],
    [`reverted to ${OLD}`, { kind: 'reverted', restored: OLD, offending: null, keptAs: null }],
    [
      `reverted to ${OLD}; ${NEW} kept as tag tagwarden-keep-bbbbbbbbbbbb`,
      { kind: 'reverted', restored: OLD, offending: NEW, keptAs: 'tagwarden-keep-bbbbbbbbbbbb' },
    ],
    [
      'skipped: no cluster endpoints configured',
      { kind: 'skipped', reason: 'no cluster endpoints configured' },
    ],
    [
      `skipped: the tag now serves ${NEW}, not ${OLD}; a later event decides`,
      { kind: 'skipped', reason: `the tag now serves ${NEW}, not ${OLD}; a later event decides` },
    ],
    ['locked', { kind: 'locked' }],
    ['not locked: no digest known', { kind: 'notLocked', reason: 'no digest known' }],
    ['sent via slack', { kind: 'alerted', via: 'slack' }],
    ['queued for cluster(s): prod, staging', { kind: 'fannedOut', clusters: ['prod', 'staging'] }],
    ['queued for cluster(s): web', { kind: 'fannedOut', clusters: ['web'] }],
    [
      'delivered to cluster "prod" (127.0.0.1:9000) by an earlier attempt (HTTP 409: it already had e#bump)',
      {
        kind: 'delivered',
        report:
          'delivered to cluster "prod" (127.0.0.1:9000) by an earlier attempt (HTTP 409: it already had e#bump)',
      },
    ],
    [`resolved to ${NEW}: overwrite`, { kind: 'resolved', digest: NEW, transition: 'overwrite' }],
    [
      'something a future or past version wrote',
      { kind: 'note', text: 'something a future or past version wrote' },
    ],
    ['{"kind":"unheard-of"}', { kind: 'note', text: '{"kind":"unheard-of"}' }],
    ['{not json', { kind: 'note', text: '{not json' }],
  ];

  test.each(legacy)('the older text %j is read as data and shown in the same words', (text, outcome) => {
    expect(decodeOutcome(text)).toEqual(outcome);
    expect(renderOutcome(outcome)).toBe(text);
    expect(outcomeText(text)).toBe(text);
  });

  test('an outcome in words reads as the older versions wrote it', () => {
    expect(outcomeText(encodeOutcome(every[0]!))).toBe(
      `reverted to ${OLD}; ${NEW} kept as tag tagwarden-keep-bbbbbbbbbbbb`,
    );
    expect(outcomeText(encodeOutcome({ kind: 'notLocked', reason: 'no digest known' }))).toBe(
      'not locked: no digest known',
    );
  });
});
