import { ConsoleNotifier } from './console';
import type { Notifier } from './port';
import { SlackNotifier } from './slack';

/** Slack settings as every runtime holds them (config file, AWS secret, Azure app settings). */
export interface SlackSettings {
  webhookUrl?: string | undefined;
  routes?: Record<string, string> | undefined;
}

/** Where alerts go: Slack when a webhook URL is set, else the console (stdout), so none is dropped. */
export function alertChannel(slack: SlackSettings | undefined): Notifier {
  return slack?.webhookUrl
    ? new SlackNotifier({ webhookUrl: slack.webhookUrl, ...(slack.routes ? { routes: slack.routes } : {}) })
    : new ConsoleNotifier();
}
