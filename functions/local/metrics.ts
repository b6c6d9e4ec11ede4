import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { DriftOutcome } from '../../shared/guard/drift';
import type { EventObserver, EventOrigin } from '../../shared/guard/observer';
import type { Outbox } from '../../shared/history';

/**
 * `serve`'s Prometheus metrics (docs/operations.md, "Metrics"): one registry of its own (never
 * prom-client's global one), fed by one EventObserver. Labels carry only bounded values: a source's
 * parser name, a transition or effect kind, an outcome. Never a repository, tag or digest.
 */
export interface ServeMetrics {
  /** What `GET /metrics` answers with (LocalServerDeps.metrics). */
  metrics: Registry;
  /** Told of every fact (IngestDeps.observer, and the runner's settled effects). */
  observer: EventObserver;
  /** Told what became of every drift report (DriftRouteDeps.driftObserved). */
  driftObserved: (outcome: DriftOutcome) => void;
}

/** Seconds from the registry's event time to Tagwarden receiving it: webhooks in seconds, a sweep in minutes. */
const LATENCY_BUCKETS = [0.5, 1, 2, 5, 10, 30, 60, 300, 900, 3600];

export function serveMetrics(
  store: Pick<Outbox, 'outboxDepth'>,
  now: () => Date = () => new Date(),
): ServeMetrics {
  const registry = new Registry();
  const m = eventMetrics(registry);
  if (store.outboxDepth) outboxGauges(registry, store.outboxDepth.bind(store), now);
  const sourceOf = (origin?: EventOrigin) => ({ source: origin?.source ?? 'unknown' });
  const observer: EventObserver = {
    received: (count, origin) => m.received.inc(sourceOf(origin), count),
    rejected: (origin) => m.rejected.inc(sourceOf(origin)),
    recorded: ({ transition, eventTime }, origin) => {
      const labels = sourceOf(origin);
      m.recorded.inc({ ...labels, transition: transition.kind });
      if (transition.kind === 'overwrite' || transition.kind === 'overwritten') m.overwrites.inc(labels);
      const at = Date.parse(origin?.receivedAt ?? '') || now().getTime();
      const seconds = (at - Date.parse(eventTime)) / 1000;
      if (transition.kind !== 'duplicate' && Number.isFinite(seconds))
        m.latency.observe(labels, Math.max(0, seconds));
    },
    effectSettled: (kind, status) => m.effects.inc({ kind, outcome: status }),
    flush: () => {},
  };
  return { metrics: registry, observer, driftObserved: driftMetrics(registry) };
}

/** Drift reports by outcome, and the findings they opened and cleared (issue 15). */
function driftMetrics(registry: Registry): (outcome: DriftOutcome) => void {
  const reports = new Counter({
    name: 'tagwarden_drift_reports_total',
    help: 'Drift reports received from agents, by outcome (recorded, replay, unauthenticated, rejected)',
    labelNames: ['outcome'],
    registers: [registry],
  });
  const findings = new Counter({
    name: 'tagwarden_drift_findings_total',
    help: 'Drift findings the recorded reports opened or cleared, by change',
    labelNames: ['change'],
    registers: [registry],
  });
  reports.inc({ outcome: 'recorded' }, 0);
  findings.inc({ change: 'opened' }, 0);
  findings.inc({ change: 'cleared' }, 0);
  return (outcome) => {
    reports.inc({ outcome: outcome.kind });
    if (outcome.kind !== 'recorded') return;
    findings.inc({ change: 'opened' }, outcome.opened);
    findings.inc({ change: 'cleared' }, outcome.cleared);
  };
}

function eventMetrics(registry: Registry) {
  const registers = [registry];
  return {
    received: new Counter({
      name: 'tagwarden_events_received_total',
      help: 'Events read from webhook deliveries, by source',
      labelNames: ['source'],
      registers,
    }),
    recorded: new Counter({
      name: 'tagwarden_events_recorded_total',
      help: 'Events recorded in the history, by source and transition',
      labelNames: ['source', 'transition'],
      registers,
    }),
    rejected: new Counter({
      name: 'tagwarden_events_rejected_total',
      help: 'Delivered items or whole bodies that could not be read (kept as failed records), by source',
      labelNames: ['source'],
      registers,
    }),
    overwrites: new Counter({
      name: 'tagwarden_overwrites_detected_total',
      help: 'Tag overwrites detected (transition overwrite or overwritten), by source',
      labelNames: ['source'],
      registers,
    }),
    latency: new Histogram({
      name: 'tagwarden_detection_latency_seconds',
      help: "Seconds from an event's registry time to its receipt, by source (redeliveries excluded)",
      labelNames: ['source'],
      buckets: LATENCY_BUCKETS,
      registers,
    }),
    effects: new Counter({
      name: 'tagwarden_effects_total',
      help: 'Effect attempts settled, by kind and outcome (done; failed for good; pending: failed for now, retried)',
      labelNames: ['kind', 'outcome'],
      registers,
    }),
  };
}

/** Read from the store on each scrape, so they are true even when another process runs the effects. */
function outboxGauges(registry: Registry, depth: NonNullable<Outbox['outboxDepth']>, now: () => Date): void {
  new Gauge({
    name: 'tagwarden_outbox_pending_effects',
    help: 'Effects in the outbox still to run (waiting, due or in flight)',
    registers: [registry],
    async collect() {
      this.set((await depth()).pending);
    },
  });
  new Gauge({
    name: 'tagwarden_outbox_oldest_pending_age_seconds',
    help: 'Seconds the longest-waiting pending effect is past its due time (0 when none is)',
    registers: [registry],
    async collect() {
      const { oldestDueAt } = await depth();
      const age = oldestDueAt ? (now().getTime() - Date.parse(oldestDueAt)) / 1000 : 0;
      this.set(Math.max(0, age));
    },
  });
}
