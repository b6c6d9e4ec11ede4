import { InvalidArgumentError } from 'commander';
import type { WorkloadClient } from '../../shared/agent/apply';
import type { ApprovedDigests } from '../../shared/agent/drift';
import { apiBase } from '../../shared/agent/drift-api';
import { driftLoop } from '../../shared/agent/drift-loop';
import { reportTarget, sendReport } from '../../shared/agent/drift-report';
import type { AgentMode } from '../../shared/agent/planner';
import type { Logger } from '../../shared/log';
import type { AgentMetrics } from './metrics-agent';

export const DEFAULT_REPORT_EVERY_SECONDS = 300;
/** The bearer token for `--tagwarden-api` (Tagwarden's `api.token`), when it needs one. */
export const API_TOKEN_ENV = 'TAGWARDEN_API_TOKEN';
/** The first round runs this soon after start, later ones this often (both at most `--report-every`). */
const FIRST_ROUND_MS = 5_000;
const ROUND_EVERY_MS = 30_000;

export interface DriftCommandOptions {
  reportUrl?: string;
  clusterName?: string;
  reportEvery: number;
  fix?: 'drift';
  manifests?: string[];
  tagwardenApi?: string;
}

/** Checks the drift flags together; throws a one-line reason. Null when drift is off. */
export function driftSettings(
  options: DriftCommandOptions,
): { url: URL | null; cluster: string; everyMs: number; fix: boolean; api: URL | null } | null {
  if (!options.reportUrl && !options.fix) {
    if (options.clusterName) throw new Error('--cluster-name needs --report-url');
    if (options.tagwardenApi) throw new Error('--tagwarden-api needs --report-url or --fix drift');
    return null;
  }
  if (options.manifests)
    throw new Error('--report-url and --fix drift read pods: they need a cluster, not --manifests');
  if (options.reportUrl && !options.clusterName)
    throw new Error("--report-url needs --cluster-name (the cluster's name in Tagwarden's clusters[])");
  return {
    url: options.reportUrl ? reportTarget(options.reportUrl) : null,
    cluster: options.clusterName ?? 'local',
    everyMs: options.reportEvery * 1000,
    fix: options.fix === 'drift',
    api: options.tagwardenApi ? apiBase(options.tagwardenApi) : null,
  };
}

/**
 * Starts drift rounds in the background: the first shortly after start, then every 30 s (or
 * `--report-every` when shorter), reading the approved digests the bump server fills. Returns a stop.
 */
export function startDrift(
  settings: NonNullable<ReturnType<typeof driftSettings>>,
  deps: {
    client: WorkloadClient;
    secret: string;
    log: Logger;
    mode: AgentMode;
    namespaces: readonly string[] | null;
    dryRun: boolean;
    approved: ApprovedDigests;
    /** Set from every round that read the cluster: `tagwarden_agent_drift_findings{kind}`. */
    metrics?: Pick<AgentMetrics, 'driftRound'>;
  },
): () => void {
  const { url } = settings;
  const loop = driftLoop({
    ...deps,
    cluster: settings.cluster,
    send: url ? (report) => sendReport(url, deps.secret, report) : null,
    reportEveryMs: settings.everyMs,
    fix: settings.fix,
    api: settings.api ? { base: settings.api, token: process.env[API_TOKEN_ENV] || undefined } : undefined,
  });
  let stopped = false;
  let timer: NodeJS.Timeout;
  const run = () => {
    loop
      .round()
      .then((round) => {
        if (round.observed) deps.metrics?.driftRound(round.findings);
      })
      .catch((error: unknown) => deps.log.error('drift round failed', { error: String(error) }))
      .finally(() => {
        if (!stopped) timer = setTimeout(run, Math.min(ROUND_EVERY_MS, settings.everyMs));
      });
  };
  timer = setTimeout(run, Math.min(FIRST_ROUND_MS, settings.everyMs));
  return () => {
    stopped = true;
    clearTimeout(timer);
  };
}

/** The startup line's drift part: where reports go (host only) and whether drift is fixed. */
export function describeDrift(settings: ReturnType<typeof driftSettings>): string {
  if (!settings) return '';
  const report = settings.url ? `, drift reports to ${settings.url.host} as ${settings.cluster}` : '';
  return `${report}${settings.fix ? ', fix drift' : ''}`;
}

export function clusterName(value: string): string {
  if (!/^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/.test(value))
    throw new InvalidArgumentError('expected a cluster name of lowercase letters, digits and - (at most 63)');
  return value;
}

export function reportSeconds(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > 86_400)
    throw new InvalidArgumentError('expected whole seconds from 1 to 86400');
  return n;
}
