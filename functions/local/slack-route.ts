import type { IncomingMessage, ServerResponse } from 'node:http';
import { type SlackResponder, SlackResponseSender } from '../../shared/adapters/notify/slack-response';
import type { TagwardenConfig } from '../../shared/config/schema';
import {
  handleSlackAction,
  SLACK_ACTION_MAX_BYTES,
  type SlackActionDeps,
} from '../../shared/guard/slack-action';
import type { Logger } from '../../shared/log';
import { readBody, refuse, send } from './http-json';

export { SLACK_ACTION_MAX_BYTES };

/** What `serve` needs to take clicks: set only when `notify.slack.signingSecret` is. */
export interface SlackActionsSettings {
  signingSecret: string;
  responder: SlackResponder;
}

/** The settings of the config's `notify.slack`, or undefined when it has no signing secret. */
export function slackActionsFor(
  config: TagwardenConfig | null,
  log: Logger,
): SlackActionsSettings | undefined {
  const slack = config?.notify?.slack;
  if (!slack?.signingSecret) return undefined;
  return {
    signingSecret: slack.signingSecret,
    responder: new SlackResponseSender({
      log,
      ...(slack.responseUrlBase ? { base: slack.responseUrlBase } : {}),
    }),
  };
}

/** `POST /slack/actions`: reads the bounded raw body and hands it, unparsed, to the application. */
export async function serveSlackAction(
  deps: Omit<SlackActionDeps, 'signingSecret' | 'responder'> & { slack?: SlackActionsSettings | undefined },
  req: IncomingMessage,
  res: ServerResponse,
): Promise<void> {
  if (!deps.slack)
    return refuse(req, res, 404, {
      error: 'Slack actions are off: set notify.slack.signingSecret in the config (see docs/slack.md)',
    });
  if (req.method !== 'POST') return refuse(req, res, 405, { error: 'use POST' });
  const rawBody = await readBody(req, res, SLACK_ACTION_MAX_BYTES);
  if (!rawBody) return;
  const result = await handleSlackAction(
    { ...deps, ...deps.slack },
    { rawBody, headers: req.headers, now: new Date(), remoteAddress: req.socket.remoteAddress ?? 'unknown' },
  );
  send(res, result.status, result.body);
}
