import type { IncomingMessage, ServerResponse } from 'node:http';
import { Counter, Gauge, Registry } from 'prom-client';
import type { BumpReport } from '../../shared/agent/apply';
import type { GuessLimiter } from './guess-limit';
import { answerMetrics } from './metrics-http';

/** The environment variable that holds the token `GET /metrics` needs, when set. */
export const METRICS_TOKEN_ENV = 'TAGWARDEN_METRICS_TOKEN';

/** A refused or failed bump's answer, by status: the `reason` label (bounded: these and `other`). */
const REFUSALS: Record<number, string> = {
  400: 'bad_request',
  401: 'unauthenticated',
  409: 'replay',
  413: 'too_large',
  424: 'cluster_configuration',
  500: 'internal',
  502: 'kubernetes_api',
  503: 'replay_memory_full',
};

const DRIFT_KINDS = ['split', 'stale', 'risky'] as const;
type DriftKind = (typeof DRIFT_KINDS)[number];

/**
 * `tagwarden agent`'s Prometheus metrics (docs/operations.md, "Metrics"), in a registry of its own.
 * Labels carry only bounded values (an outcome, the mode, a reason): never a workload, image or digest.
 */
export class AgentMetrics {
  readonly registry = new Registry();
  private readonly received = new Counter({
    name: 'tagwarden_agent_bumps_received_total',
    help: 'Bumps POSTed to the agent, whatever became of them',
    registers: [this.registry],
  });
  private readonly refused = new Counter({
    name: 'tagwarden_agent_bumps_refused_total',
    help: 'Bumps answered with an error, by reason',
    labelNames: ['reason'],
    registers: [this.registry],
  });
  private readonly patches = new Counter({
    name: 'tagwarden_agent_patches_total',
    help: 'Workloads a bump moved, would move (dry run), left alone, could not read or failed, by outcome and mode',
    labelNames: ['outcome', 'mode'],
    registers: [this.registry],
  });
  private readonly drift = new Gauge({
    name: 'tagwarden_agent_drift_findings',
    help: "Findings of the agent's latest drift check, by kind",
    labelNames: ['kind'],
    registers: [this.registry],
  });

  /** `token`: when set, `GET /metrics` needs it as `Authorization: Bearer <token>`. */
  constructor(private readonly token?: string) {}

  /** A bump arrived: counted now, and its answer once sent. */
  bumpReceived(res: ServerResponse): void {
    this.received.inc();
    res.once('finish', () => {
      if (res.statusCode >= 400) this.refused.inc({ reason: REFUSALS[res.statusCode] ?? 'other' });
    });
  }

  /** What applying a bump did to each workload container. */
  bumpApplied(report: BumpReport): void {
    const mode = report.mode;
    this.patches.inc({ outcome: report.dryRun ? 'would_patch' : 'patched', mode }, report.patched.length);
    this.patches.inc({ outcome: 'unchanged', mode }, report.unchanged);
    this.patches.inc({ outcome: 'failed', mode }, report.failed.length);
    this.patches.inc({ outcome: 'unparsable', mode }, report.unparsable.length);
    this.patches.inc({ outcome: 'refused', mode }, report.refused.length);
  }

  /**
   * Sets the findings of the latest drift check of one kind. `kind` must come from a fixed set the
   * caller owns (never a workload, image or digest: each value is a time series of its own).
   */
  driftFindings(kind: string, count: number): void {
    this.drift.set({ kind }, count);
  }

  /** A drift round's findings, counted per kind (every kind set, so a kind that cleared reads 0). */
  driftRound(findings: readonly { kind: DriftKind }[]): void {
    for (const kind of DRIFT_KINDS) this.driftFindings(kind, findings.filter((f) => f.kind === kind).length);
  }

  /** `GET /metrics`; `guesses` counts wrong tokens per client address (the agent server's one limiter). */
  answer(req: IncomingMessage, res: ServerResponse, guesses?: GuessLimiter): Promise<void> {
    const access = { token: this.token, refused: () => {}, guesses, tokenName: METRICS_TOKEN_ENV };
    return answerMetrics(this.registry, access, req, res);
  }
}
