import type { CloudFormationCustomResourceEvent, Context } from 'aws-lambda';
import { errorMessage } from '../../shared/core';
import { log } from './runtime';

/** How to run the baseline by hand, named in every answer that did not finish. */
export const BASELINE_BY_HAND =
  'run it by hand: aws lambda invoke --function-name <SweepFunction> --payload \'{"task":"baseline"}\' --cli-binary-format raw-in-base64-out baseline.json';

/** What is left to answer CloudFormation once the function's time is nearly up. */
const ANSWER_MARGIN_MS = 15_000;

export function isCustomResourceEvent(input: unknown): input is CloudFormationCustomResourceEvent {
  const event = input as Partial<CloudFormationCustomResourceEvent> | undefined;
  return typeof event?.RequestType === 'string' && typeof event.ResponseURL === 'string';
}

/** The one line the stack outputs as BaselineResult: what the post-deploy baseline did. */
export async function baselineOutcome(
  run: () => Promise<{ checked: number; differences: number }>,
  remainingMs: number,
): Promise<string> {
  let timer: NodeJS.Timeout | undefined;
  const timeUp = new Promise<string>((resolve) => {
    timer = setTimeout(
      () => resolve(`stopped: the sweep's time ran out before the baseline finished; ${BASELINE_BY_HAND}`),
      Math.max(0, remainingMs - ANSWER_MARGIN_MS),
    );
  });
  const done = run().then(
    ({ checked, differences }) =>
      `recorded ${differences} tag(s) history had not seen, of ${checked} the registry serves`,
    (error) => {
      log.error('the post-deploy baseline failed', { error: errorMessage(error) });
      return `failed: ${errorMessage(error)}; ${BASELINE_BY_HAND}`;
    },
  );
  try {
    return await Promise.race([done, timeUp]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * The stack's Baseline custom resource: after each deploy that changes the sweep's code or its
 * repositories, CloudFormation invokes the sweep with this event, and it runs the baseline. Whatever
 * happens the answer is SUCCESS, so a baseline that fails never rolls the deploy back: the outcome is
 * the stack's `BaselineResult` output (which `cdk deploy` prints), with the command to run it again. A delete
 * has nothing to undo.
 */
export async function answerDeploy(
  event: CloudFormationCustomResourceEvent,
  context: Pick<Context, 'getRemainingTimeInMillis' | 'logStreamName'>,
  run: () => Promise<{ checked: number; differences: number }>,
  send: typeof fetch = fetch,
): Promise<{ result: string }> {
  const result =
    event.RequestType === 'Delete'
      ? 'nothing to do on delete'
      : await baselineOutcome(run, context.getRemainingTimeInMillis());
  log.info('post-deploy baseline', { requestType: event.RequestType, result });
  const body = JSON.stringify({
    Status: 'SUCCESS',
    Reason: `see the log stream ${context.logStreamName}`,
    PhysicalResourceId: 'PhysicalResourceId' in event ? event.PhysicalResourceId : 'tagwarden-baseline',
    StackId: event.StackId,
    RequestId: event.RequestId,
    LogicalResourceId: event.LogicalResourceId,
    Data: { Result: result.slice(0, 1000) },
  });
  // The response URL is pre-signed for a PUT with no content type.
  const answer = await send(event.ResponseURL, { method: 'PUT', headers: { 'content-type': '' }, body });
  if (!answer.ok) throw new Error(`CloudFormation refused the baseline's answer: HTTP ${answer.status}`);
  return { result };
}
