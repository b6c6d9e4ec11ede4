import type { Metrics } from '@aws-lambda-powertools/metrics';
import { metricsObserver } from '../../functions/aws/metrics-observer';

function recordingMetrics() {
  const added: [string, string, number][] = [];
  let published = 0;
  const metrics = {
    addMetric: (name: string, unit: string, value: number) => added.push([name, unit, value]),
    hasStoredMetrics: () => added.length > 0,
    publishStoredMetrics: () => {
      published += 1;
    },
  } as unknown as Metrics;
  return { metrics, added, published: () => published };
}

describe('the AWS metrics observer', () => {
  const now = () => new Date('2026-11-22T10:00:02.500Z');

  it('counts every recorded event, and overwrites with their detection latency', () => {
    const { metrics, added } = recordingMetrics();
    const observer = metricsObserver(metrics, now);
    observer.recorded({ transition: { kind: 'first-seen' }, eventTime: '2026-11-22T10:00:00.000Z' });
    expect(added).toEqual([['EventProcessed', 'Count', 1]]);
    added.length = 0;
    for (const kind of ['overwrite', 'overwritten'] as const)
      observer.recorded({ transition: { kind }, eventTime: '2026-11-22T10:00:00.000Z' });
    expect(added).toEqual([
      ['EventProcessed', 'Count', 1],
      ['TagOverwriteDetected', 'Count', 1],
      ['DetectionLatencyMs', 'Milliseconds', 2500],
      ['EventProcessed', 'Count', 1],
      ['TagOverwriteDetected', 'Count', 1],
      ['DetectionLatencyMs', 'Milliseconds', 2500],
    ]);
  });

  it('counts a refused push (an attempt) as an event and as a blocked overwrite attempt, with no latency', () => {
    const { metrics, added } = recordingMetrics();
    metricsObserver(metrics, now).recorded({
      transition: { kind: 'attempt' },
      eventTime: '2026-11-22T10:00:00.000Z',
    });
    expect(added).toEqual([
      ['EventProcessed', 'Count', 1],
      ['OverwriteAttemptBlocked', 'Count', 1],
    ]);
  });

  it('never reports a negative latency for an event stamped in the future', () => {
    const { metrics, added } = recordingMetrics();
    metricsObserver(metrics, now).recorded({
      transition: { kind: 'overwrite' },
      eventTime: '2026-11-22T10:05:00.000Z',
    });
    expect(added).toContainEqual(['DetectionLatencyMs', 'Milliseconds', 0]);
  });

  it('counts rejections, reverts done or failed and every failed effect; flush publishes', () => {
    const { metrics, added, published } = recordingMetrics();
    const observer = metricsObserver(metrics, now);
    observer.rejected();
    observer.effectSettled('revert', 'done');
    observer.effectSettled('revert', 'failed');
    observer.effectSettled('alert', 'failed');
    observer.effectSettled('alert', 'done');
    observer.effectSettled('revert', 'pending');
    expect(added.map(([name]) => name)).toEqual([
      'EventRejected',
      'TagReverted',
      'TagRevertFailed',
      'EffectFailed',
      'EffectFailed',
    ]);
    observer.flush();
    expect(published()).toBe(1);
  });
});
