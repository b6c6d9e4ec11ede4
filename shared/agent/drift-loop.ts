import type { DriftFinding, DriftReport } from '../contracts/drift-report/payload';
import { errorMessage } from '../core/errors';
import type { Logger } from '../log';
import type { AgentOptions, WorkloadClient } from './apply';
import { type ApprovedDigests, observeDrift, tagsInUse } from './drift';
import { digestsWithApi } from './drift-api';
import { fixDrift } from './drift-fix';
import { buildReport, reportSignature } from './drift-report';

export interface DriftLoopOptions extends AgentOptions {
  client: WorkloadClient;
  approved: ApprovedDigests;
  log: Logger;
  /** The `clusters[]` entry name on Tagwarden's side. */
  cluster: string;
  /** Sends a report (throws on failure); null: observe (and fix) only. */
  send: ((report: DriftReport) => Promise<void>) | null;
  /** A report with unchanged findings is sent again after this long. */
  reportEveryMs: number;
  /** `--fix drift`: pin split and stale workloads to the tag's approved digest (per the bumps only). */
  fix: boolean;
  /** `--tagwarden-api`: asked what a tag serves when no bump said it (for `stale`), once per tag and round. */
  api?: { base: URL; token?: string | undefined } | undefined;
  now?: () => number;
}

export interface DriftRound {
  /** False when the cluster could not be read: `findings` is then empty, not a finding-free cluster. */
  observed: boolean;
  findings: DriftFinding[];
  /** Whether a report was sent this round (false also when sending failed: see `error`). */
  sent: boolean;
  error?: string;
}

/**
 * One round of drift: list workloads and pods, find drift, fix it when asked, and report it when the
 * finding set changed since the last report that got through, or `reportEveryMs` after it. Never
 * throws: a failure is logged and the next round tries again.
 */
export function driftLoop(options: DriftLoopOptions): { round(): Promise<DriftRound> } {
  const now = options.now ?? Date.now;
  let last: { signature: string; at: number } | null = null;
  return {
    async round() {
      let findings: DriftFinding[];
      try {
        findings = await observeAndFix(options, now);
      } catch (error) {
        options.log.warn('drift: reading the cluster failed; next round retries', {
          error: errorMessage(error),
        });
        return { observed: false, findings: [], sent: false, error: errorMessage(error) };
      }
      if (!options.send) return { observed: true, findings, sent: false };
      const signature = reportSignature(options.cluster, findings);
      const at = now();
      if (last && last.signature === signature && at - last.at < options.reportEveryMs)
        return { observed: true, findings, sent: false };
      const report = buildReport(options.cluster, options.namespaces, findings, at);
      try {
        await options.send(report);
      } catch (error) {
        options.log.warn('drift report failed; next round retries', { error: errorMessage(error) });
        return { observed: true, findings, sent: false, error: errorMessage(error) };
      }
      last = { signature, at };
      options.log.info('drift report sent', {
        reportId: report.id,
        findings: report.findings.length,
        truncated: report.truncated,
      });
      return { observed: true, findings, sent: true };
    },
  };
}

async function observeAndFix(options: DriftLoopOptions, now: () => number): Promise<DriftFinding[]> {
  const workloads = await options.client.list(options.namespaces);
  const running = await options.client.running(options.namespaces);
  const digests = options.api
    ? await digestsWithApi(options.approved, tagsInUse(workloads, running, options.namespaces), {
        ...options.api,
        onProblem: (tag, problem) =>
          options.log.warn('drift: asking Tagwarden what a tag serves failed', { tag, problem }),
      })
    : options.approved;
  const findings = observeDrift(workloads, running, digests, options.namespaces);
  if (options.fix)
    await fixDrift(options.client, findings, workloads, options.approved, options, options.log, now);
  return findings;
}
