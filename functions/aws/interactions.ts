import type { LambdaFunctionURLEvent } from 'aws-lambda';
import { builtOnce } from '../../shared/built-once';
import { DRIFT_REPORT_PATH } from '../../shared/contracts/drift-report/payload';
import { errorMessage } from '../../shared/core';
import type { DriftReceiverDeps } from '../../shared/guard/drift';
import { buildDriftReceiver, handleDriftReport } from './drift-report';
import { log } from './runtime';
import { SLACK_ACTIONS_PATH, type SlackUrlDeps, slackActionsRoute, slackUrlDeps } from './slack-actions';
import { answer, lowerCaseHeaders, type UrlResult, urlResult } from './url-result';

/** Each route's composition root, built on its first request (a route that is off costs nothing). */
export interface InteractionsRoots {
  slack: () => Promise<SlackUrlDeps | undefined>;
  drift: () => Promise<DriftReceiverDeps | null>;
}

/**
 * The Interactions Function URL: Slack's clicks (`POST /slack/actions`) and agents' drift reports
 * (`POST /webhooks/agent`). Both act on the history table, so they live apart from the registry
 * webhook (webhook.ts), whose bundle stays free of DynamoDB and only queues.
 */
export async function handleInteractions(
  roots: InteractionsRoots,
  event: LambdaFunctionURLEvent,
): Promise<UrlResult> {
  if (event.rawPath === SLACK_ACTIONS_PATH) return urlResult(await slackActionsRoute(event, roots.slack));
  if (event.rawPath !== DRIFT_REPORT_PATH)
    return answer(404, {
      error: `no such route; this URL takes POST ${SLACK_ACTIONS_PATH} and POST ${DRIFT_REPORT_PATH}`,
    });
  let drift: DriftReceiverDeps | null;
  try {
    drift = await roots.drift();
  } catch (error) {
    log.error('drift reports are misconfigured', { error: errorMessage(error) });
    return answer(500, { error: 'drift reports are misconfigured; see the function logs' });
  }
  return urlResult(await handleDriftReport(drift, log, event, lowerCaseHeaders(event.headers)));
}

const roots: InteractionsRoots = { slack: slackUrlDeps, drift: builtOnce(() => buildDriftReceiver()) };

export const handler = (event: LambdaFunctionURLEvent): Promise<UrlResult> =>
  handleInteractions(roots, event);
