import type { SlackResponder, SlackResponse } from '../adapters/notify/slack-response';
import { verifySlackRequest } from '../auth/slack-signature';
import { approversOf, formatTagRef, ruleFor } from '../core';
import type { Logger } from '../log';
import { type Click, parseClick } from './slack-click';
import { type ActDeps, actOn } from './slack-decide';

/** Slack sends the whole message with a click; an alert's blocks are well under this, encoded. Every runtime's bound. */
export const SLACK_ACTION_MAX_BYTES = 512 * 1024;

export interface SlackActionDeps extends ActDeps {
  /** The Slack app's signing secret. A secret: never logged. */
  signingSecret: string;
  responder: SlackResponder;
  log: Logger;
}

export interface SlackActionRequest {
  /** The body exactly as received: the signature is over these bytes. */
  rawBody: Buffer;
  /** Header names in lower case. */
  headers: Record<string, string | string[] | undefined>;
  now: Date;
  remoteAddress?: string;
}

/** A runtime-neutral answer: each runtime's handler turns it into its HTTP response as is. */
export interface SlackActionResult {
  status: number;
  body: unknown;
}

/**
 * `POST /slack/actions`: a click on an alert's button. The signature and its timestamp are checked
 * on the raw bytes before anything is parsed (401); then the click (400 when it is not one of ours),
 * who clicked (a non-approver is told so, ephemerally, and logged), and what the tag serves now. A
 * replay of an accepted click is 401, like any request Slack did not freshly sign.
 */
export async function handleSlackAction(
  deps: SlackActionDeps,
  request: SlackActionRequest,
): Promise<SlackActionResult> {
  const remoteAddress = request.remoteAddress ?? 'unknown';
  const auth = verifySlackRequest(
    deps.signingSecret,
    request.headers,
    request.rawBody,
    request.now.getTime(),
  );
  if (!auth.ok) {
    deps.log.warn('slack action refused', { reason: auth.reason, remoteAddress });
    return { status: 401, body: { error: `unauthorized: ${auth.reason}` } };
  }
  const parsed = parseClick(request.rawBody);
  if ('problem' in parsed) return { status: 400, body: { error: parsed.problem } };
  const { click } = parsed;
  const fields = { user: click.user, action: click.value.kind, tagRef: formatTagRef(click.ref) };
  if (!approversOf(ruleFor(deps.policy, click.ref)).includes(click.user)) {
    deps.log.warn('slack action by a non-approver refused', fields);
    return answer(deps, click, {
      response_type: 'ephemeral',
      replace_original: false,
      text: `<@${click.user}>, you are not an approver of ${formatTagRef(click.ref)}; nothing was done. The rule's approvers (or its owners given as Slack user ids) may act.`,
    });
  }
  const acted = await actOn(deps, click, request.now);
  if (acted.kind === 'replayed') {
    deps.log.warn('slack action refused', { ...fields, reason: 'replayed', remoteAddress });
    return { status: 401, body: { error: 'unauthorized: this click was already received (a replay)' } };
  }
  deps.log.info(acted.kind === 'done' ? 'slack action done' : 'slack action on a stale alert', fields);
  return answer(deps, click, acted.message);
}

/** The message goes to the click's response_url (when allowed) and is the HTTP answer too. */
async function answer(
  deps: SlackActionDeps,
  click: Click,
  message: SlackResponse,
): Promise<SlackActionResult> {
  if (click.responseUrl) await deps.responder.respond(click.responseUrl, message);
  return { status: 200, body: message };
}
