import type { IncomingMessage, ServerResponse } from 'node:http';
import { DRIFT_REPORT_PATH, MAX_REPORT_BYTES } from '../../shared/contracts/drift-report/payload';
import type { OpenFinding } from '../../shared/core';
import {
  admitDriftReport,
  type DriftOutcome,
  type DriftReceiverDeps,
  receiveDriftReport,
} from '../../shared/guard/drift';
import type { unauthorizedLog } from '../../shared/guard/refusal-log';
import type { DriftLog } from '../../shared/history';
import type { Logger } from '../../shared/log';
import { driftAnswer } from '../webhook-answer';
import { apiAuthorized } from './api-auth';
import type { GuessLimiter } from './guess-limit';
import { readBody, refuse, send } from './http-json';

export interface DriftRouteDeps extends Omit<DriftReceiverDeps, 'drift'> {
  /** Absent: the store keeps no drift (the routes answer 404). */
  drift?: DriftLog | undefined;
  apiToken?: string | undefined;
  log: Logger;
  unauthorized: ReturnType<typeof unauthorizedLog>;
  /** Wrong `api.token`s per client address (`GET /api/drift`). */
  guesses: GuessLimiter;
  onRecorded: () => void;
  /** Told what became of each report (serve's metrics). */
  driftObserved?: ((outcome: DriftOutcome) => void) | undefined;
}

/**
 * `POST /webhooks/agent` (drift reports from `tagwarden agent`) and `GET /api/drift` (open findings,
 * behind `api.token`). Returns false for any other path, for `route` to go on.
 */
export async function serveDrift(
  deps: DriftRouteDeps,
  path: string,
  url: URL,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<boolean> {
  if (path === DRIFT_REPORT_PATH) await serveReport(deps, req, res);
  else if (path === '/api/drift') await serveFindings(deps, url, req, res);
  else return false;
  return true;
}

async function serveReport(deps: DriftRouteDeps, req: IncomingMessage, res: ServerResponse): Promise<void> {
  if (req.method !== 'POST') return refuse(req, res, 405, { error: 'use POST' });
  const { drift } = deps;
  if (!drift) return refuse(req, res, 404, { error: 'this history store keeps no drift reports' });
  const remoteAddress = req.socket.remoteAddress ?? 'unknown';
  const admission = admitDriftReport(deps, req.headers);
  const refused = (reason: string) => deps.unauthorized({ source: 'agent', reason, remoteAddress });
  if (!admission.ok) {
    deps.driftObserved?.(admission.outcome);
    if (admission.outcome.kind === 'unauthenticated') refused(admission.outcome.reason);
    const answer = driftAnswer(admission.outcome);
    return refuse(req, res, answer.status, answer.body);
  }
  const body = await readBody(req, res, MAX_REPORT_BYTES);
  if (!body) return;
  const outcome = await receiveDriftReport({ ...deps, drift }, admission, req.headers, body);
  deps.driftObserved?.(outcome);
  if (outcome.kind === 'unauthenticated') refused(outcome.reason);
  const answer = driftAnswer(outcome);
  send(res, answer.status, answer.body);
  if (outcome.kind === 'recorded' && outcome.opened > 0) deps.onRecorded();
}

/** `GET /api/drift[?cluster=<name>]`: what `tagwarden drift --json` prints. */
async function serveFindings(deps: DriftRouteDeps, url: URL, req: IncomingMessage, res: ServerResponse) {
  if (req.method !== 'GET') return send(res, 405, { error: 'use GET' });
  if (!apiAuthorized(deps, req, res)) return;
  const cluster = url.searchParams.get('cluster') ?? undefined;
  const open = deps.drift ? await deps.drift.openFindings(cluster) : [];
  send(res, 200, driftListing(open));
}

/** Open findings grouped per cluster: the JSON of `GET /api/drift` and `tagwarden drift --json`. */
export function driftListing(open: OpenFinding[]) {
  const clusters: Record<string, unknown[]> = {};
  for (const f of open) {
    const listed = clusters[f.cluster] ?? [];
    listed.push({ key: f.key, openedAt: f.openedAt, reportId: f.reportId, ...f.finding });
    clusters[f.cluster] = listed;
  }
  return { clusters };
}
