import {
  MAX_REASON_CHARS,
  MAX_SUMMARY_REASONS,
  rejectedItemsRecord,
  summarizeReasons,
} from './failure-summary';

describe('rejected items summary', () => {
  it('keeps a single reason as it is', () => {
    expect(summarizeReasons(['events[1]: target.digest is not a digest'])).toBe(
      'events[1]: target.digest is not a digest',
    );
  });

  it('counts every rejected item and names only the first reasons, each cut short', () => {
    const reasons = Array.from({ length: 5000 }, (_, i) => `[${i}]: ${'x'.repeat(1000)}`);
    const summary = summarizeReasons(reasons);
    expect(summary.startsWith('5000 items rejected: [0]: ')).toBe(true);
    expect(summary).toContain(`[${MAX_SUMMARY_REASONS - 1}]: `);
    expect(summary).not.toContain(`[${MAX_SUMMARY_REASONS}]: `);
    expect(summary.endsWith(`; and ${5000 - MAX_SUMMARY_REASONS} more`)).toBe(true);
    expect(summary.length).toBeLessThan(MAX_SUMMARY_REASONS * (MAX_REASON_CHARS + 2) + 100);
  });

  it('names every reason when there are few, without a "more" tail', () => {
    expect(summarizeReasons(['a', 'b'])).toBe('2 items rejected: a; b');
  });

  it('keeps the body once, as given', () => {
    const record = rejectedItemsRecord('ecr', ['a', 'b', 'c'], '[{},{},{}]', '2026-01-01T00:00:00.000Z');
    expect(record).toEqual({
      source: 'ecr',
      reason: '3 items rejected: a; b; c',
      payload: '[{},{},{}]',
      receivedAt: '2026-01-01T00:00:00.000Z',
    });
  });
});
