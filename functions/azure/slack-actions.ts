import type { HttpRequest, HttpResponseInit, InvocationContext } from '@azure/functions';
import { type SlackResponder, SlackResponseSender } from '../../shared/adapters/notify/slack-response';
import { errorMessage } from '../../shared/core';
import { handleSlackAction, SLACK_ACTION_MAX_BYTES } from '../../shared/guard/slack-action';
import type { Logger } from '../../shared/log';
import {
  type AzureDependencies,
  type AzureEnvironment,
  type DependenciesProvider,
  setting,
} from './dependencies';
import { runDueEffects } from './effects';
import { boundedBody, json } from './http';

/** What the function needs besides the app's dependencies: the signing secret and where answers go. */
export interface SlackActionSettings {
  signingSecret: string;
  responder: SlackResponder;
}

/**
 * The SLACK_SIGNING_SECRET app setting (a Key Vault reference in Azure), or undefined while it is not
 * set (the function answers 404). An unresolved reference throws, naming the setting. `responseUrlBase`
 * is for tests: in Azure answers go to Slack's own host only.
 */
export function slackActionSettings(
  env: AzureEnvironment,
  log: Logger,
  responseUrlBase?: string,
): SlackActionSettings | undefined {
  const signingSecret = setting(env, 'SLACK_SIGNING_SECRET');
  if (!signingSecret) return undefined;
  return {
    signingSecret,
    responder: new SlackResponseSender({ log, ...(responseUrlBase ? { base: responseUrlBase } : {}) }),
  };
}

/**
 * `POST /api/slack/actions`: the bounded raw body goes, unparsed, to the shared handler; an effect a
 * click queued (a revert, a retry) runs at once, as after a webhook (the timer retries it otherwise).
 */
export async function handleSlackActionRequest(
  deps: AzureDependencies,
  slack: SlackActionSettings,
  request: HttpRequest,
  context: InvocationContext,
): Promise<HttpResponseInit> {
  if (request.method !== 'POST') return json(405, { error: 'use POST' }, { allow: 'POST' });
  const headers: Record<string, string> = {};
  request.headers.forEach((value, name) => {
    headers[name.toLowerCase()] = value;
  });
  const rawBody = await boundedBody(request, headers['content-length'], SLACK_ACTION_MAX_BYTES);
  if (typeof rawBody === 'string') return json(413, { error: rawBody });
  let woken = false;
  const result = await handleSlackAction(
    { store: deps.store, policy: deps.policy, log: deps.log, ...slack, wake: () => (woken = true) },
    {
      rawBody,
      headers,
      now: deps.now?.() ?? new Date(),
      remoteAddress: headers['x-forwarded-for'] ?? 'unknown',
    },
  );
  if (woken) await runDueEffects(deps, context);
  return json(result.status, result.body);
}

/** The function's handler: 404 while SLACK_SIGNING_SECRET is not set, 500 with one line when misconfigured. */
export function slackActionsHandler(
  getDeps: DependenciesProvider,
  getSettings: (log: Logger) => SlackActionSettings | undefined = (log) =>
    slackActionSettings(process.env as AzureEnvironment, log),
): (request: HttpRequest, context: InvocationContext) => Promise<HttpResponseInit> {
  return async (request, context) => {
    let deps: AzureDependencies;
    let slack: SlackActionSettings | undefined;
    try {
      deps = await getDeps();
      slack = getSettings(deps.log);
    } catch (error) {
      context.error(`Tagwarden is misconfigured: ${errorMessage(error)}`);
      return json(500, { error: 'Tagwarden is misconfigured; see the function logs' });
    }
    if (!slack)
      return json(404, {
        error: 'Slack actions are off: set the SLACK_SIGNING_SECRET app setting (see docs/slack.md)',
      });
    return handleSlackActionRequest(deps, slack, request, context);
  };
}
