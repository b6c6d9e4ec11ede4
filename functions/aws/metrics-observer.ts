import { type Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import type { EventObserver } from '../../shared/guard/observer';

/** The guard's events as CloudWatch metrics (EMF through Powertools), named as the stack's alarms expect. */
export function metricsObserver(metrics: Metrics, now: () => Date = () => new Date()): EventObserver {
  const count = (name: string) => metrics.addMetric(name, MetricUnit.Count, 1);
  return {
    rejected: () => count('EventRejected'),
    recorded: ({ transition, eventTime }) => {
      count('EventProcessed');
      if (transition.kind === 'attempt') count('OverwriteAttemptBlocked');
      if (transition.kind !== 'overwrite' && transition.kind !== 'overwritten') return;
      count('TagOverwriteDetected');
      metrics.addMetric(
        'DetectionLatencyMs',
        MetricUnit.Milliseconds,
        Math.max(0, now().getTime() - Date.parse(eventTime)),
      );
    },
    effectSettled: (kind, status) => {
      if (kind === 'revert' && status === 'done') count('TagReverted');
      if (kind === 'revert' && status === 'failed') count('TagRevertFailed');
      if (status === 'failed') count('EffectFailed');
    },
    // Only when something was counted: an empty publish logs Powertools' "No application metrics to
    // publish" warning, which the one-minute outbox run would print every minute for nothing.
    flush: () => {
      if (metrics.hasStoredMetrics()) metrics.publishStoredMetrics();
    },
  };
}
