import { errorMessage } from '../../core';
import type { Logger } from '../../log';

/** Slack's own host for `response_url`s: the only place a click's answer goes unless configured. */
export const SLACK_RESPONSE_URL_BASE = 'https://hooks.slack.com/';

/** A message posted to a click's `response_url`: replacing the alert, or seen by the clicker alone. */
export interface SlackResponse {
  text: string;
  replace_original?: boolean;
  response_type?: 'ephemeral' | 'in_channel';
  blocks?: unknown[];
}

/** Answers a click through its `response_url`; false when nothing was sent (refused URL, failure). */
export interface SlackResponder {
  respond(responseUrl: string, message: SlackResponse): Promise<boolean>;
}

/**
 * Whether a `response_url` may be posted to: it arrives in the (signed, but attacker-reachable if
 * the secret leaks) payload, so only URLs under `base` are, compared as parsed URLs (scheme, host,
 * port, path prefix) so `https://hooks.slack.com.evil.example/` and userinfo tricks do not pass.
 */
export function responseUrlAllowed(responseUrl: string, base: string): boolean {
  let url: URL;
  let allowed: URL;
  try {
    url = new URL(responseUrl);
    allowed = new URL(base);
  } catch {
    return false;
  }
  if (url.username !== '' || url.password !== '') return false;
  const prefix = allowed.pathname.endsWith('/') ? allowed.pathname : `${allowed.pathname}/`;
  return (
    url.protocol === allowed.protocol &&
    url.host === allowed.host &&
    (url.pathname === allowed.pathname || url.pathname.startsWith(prefix))
  );
}

export interface SlackResponseSenderOptions {
  /** Default `https://hooks.slack.com/`; tests point it at a loopback receiver. */
  base?: string;
  log: Logger;
  timeoutMs?: number;
  fetch?: typeof fetch;
}

/** Posts answers to `response_url`s under the allowed base; never follows a redirect elsewhere. */
export class SlackResponseSender implements SlackResponder {
  private readonly base: string;
  private readonly log: Logger;
  private readonly timeoutMs: number;
  private readonly fetch: typeof fetch;

  constructor(options: SlackResponseSenderOptions) {
    this.base = options.base ?? SLACK_RESPONSE_URL_BASE;
    this.log = options.log;
    this.timeoutMs = options.timeoutMs ?? 2500;
    this.fetch = options.fetch ?? fetch;
  }

  async respond(responseUrl: string, message: SlackResponse): Promise<boolean> {
    if (!responseUrlAllowed(responseUrl, this.base)) {
      this.log.warn('slack response_url refused: not under the allowed base', { base: this.base });
      return false;
    }
    try {
      const response = await this.fetch(responseUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/json; charset=utf-8' },
        body: JSON.stringify(message),
        redirect: 'error',
        signal: AbortSignal.timeout(this.timeoutMs),
      });
      await response.text();
      if (!response.ok) this.log.warn('slack response_url answered an error', { status: response.status });
      return response.ok;
    } catch (error) {
      this.log.warn('slack response_url could not be reached', { error: errorMessage(error) });
      return false;
    }
  }
}
