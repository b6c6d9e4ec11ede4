import { ConsoleNotifier } from './console';
import type { Notifier } from './port';
import { SlackNotifier } from './slack';

/** Slack settings as every runtime holds them (config file, AWS secret, Azure app settings). */
export interface SlackSettings {
  webhookUrl?: string | undefined;
  routes?: Record<string, string> | undefined;
  /** The Slack app's signing secret: when set, alerts carry buttons and `/slack/actions` takes clicks. */
  signingSecret?: string | undefined;
  /** Where `response_url`s may point (default `https://hooks.slack.com/`). */
  responseUrlBase?: string | undefined;
}

/** Where alerts go: Slack when a webhook URL is set, else the console (stdout), so none is dropped. */
export function alertChannel(slack: SlackSettings | undefined): Notifier {
  return slack?.webhookUrl
    ? new SlackNotifier({
        webhookUrl: slack.webhookUrl,
        ...(slack.routes ? { routes: slack.routes } : {}),
        interactive: Boolean(slack.signingSecret),
      })
    : new ConsoleNotifier();
}
