import type { HttpRequest, HttpResponseInit, InvocationContext } from '@azure/functions';
import { admitDriftReport, type DriftOutcome, receiveDriftReport } from '../../shared/guard/drift';
import { driftLogOf } from '../../shared/history/drift-port';
import { driftAnswer } from '../webhook-answer';
import type { AzureDependencies, DependenciesProvider } from './dependencies';
import { runDueEffects } from './effects';
import { boundedBody, json } from './http';

/**
 * `POST /api/webhooks/agent`: a drift report from `tagwarden agent` (issue 15), verified and recorded
 * by shared/guard/drift.ts in the Table Storage history; the alerts it queues run at once, and the
 * timer retries them like every other effect.
 */
export async function handleDriftReport(
  deps: AzureDependencies,
  request: HttpRequest,
  context: InvocationContext,
): Promise<HttpResponseInit> {
  if (request.method !== 'POST') return json(405, { error: 'use POST' }, { allow: 'POST' });
  const drift = driftLogOf(deps.store);
  if (!drift) return json(404, { error: 'this history store keeps no drift reports' });
  const headers: Record<string, string> = {};
  request.headers.forEach((value, name) => {
    headers[name.toLowerCase()] = value;
  });
  // Cluster and secret from the headers first: the body is read only for a cluster that has one.
  const admission = admitDriftReport(deps, headers);
  if (!admission.ok) return answered(deps, admission.outcome);
  const body = await boundedBody(request, headers['content-length']);
  if (typeof body === 'string') return json(413, { error: body });
  const outcome = await receiveDriftReport({ ...deps, drift }, admission, headers, body);
  if (outcome.kind === 'recorded' && outcome.opened > 0) await runDueEffects(deps, context);
  return answered(deps, outcome);
}

/** The outcome as HTTP; a refused signature, cluster or time is logged (never the body). */
function answered(deps: AzureDependencies, outcome: DriftOutcome): HttpResponseInit {
  if (outcome.kind === 'unauthenticated')
    deps.log.warn('drift report refused', { source: 'agent', reason: outcome.reason });
  const answer = driftAnswer(outcome);
  return json(answer.status, answer.body);
}

export const driftReportHandler =
  (getDeps: DependenciesProvider) =>
  async (request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> =>
    handleDriftReport(await getDeps(), request, context);
