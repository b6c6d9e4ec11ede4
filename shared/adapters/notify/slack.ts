import { readBodyPrefix } from '../../bounded-body';
import { type Alert, alertTitle, formatTagRef, PermanentError, printable, TransientError } from '../../core';
import { describeNetworkError } from '../network-error';
import type { Notifier } from './port';
import { alertButtons } from './slack-buttons';

export interface SlackNotifierOptions {
  /** Incoming-webhook URL for alerts with an unrouted owner or no owners. A secret: never logged. */
  webhookUrl: string;
  /** Owner (`#payments`, `@alice`, a Slack id) → that owner's own incoming-webhook URL. */
  routes?: Record<string, string>;
  timeoutMs?: number;
  fetch?: typeof fetch;
  /** Alerts carry buttons (approve, revert, retry): only when the app's signing secret is set. */
  interactive?: boolean;
}

const DEFAULT_TIMEOUT_MS = 5000;
/** The most of an answer read (its first 200 characters are shown in an error). */
const ANSWER_READ_BYTES = 64 * 1024;
const DEFAULT_RETRY_AFTER_MS = 1000;
const MAX_RETRY_AFTER_MS = 15 * 60 * 1000;
const HEADER_MAX = 150;
/** Slack caps a section field at 2000 characters and a context element at 2000. */
const FIELD_MAX = 2000;
/** Slack allows 50 blocks per message; the fixed blocks take 4. */
const MAX_NOTE_BLOCKS = 40;
/** Alerts whose delivery is partly done; bounded so a stream of failures cannot grow it forever. */
const MAX_PENDING_ALERTS = 1000;

/**
 * Printable text (no control or bidi characters) with the three characters Slack parses escaped, so
 * no event text can form a link, mention or command; for plain_text objects and inline code.
 */
function escapeEntities(text: string): string {
  return printable(text).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/**
 * Text for a mrkdwn object: `escapeEntities`, and each of `* _ ~ \`` shown as itself but never as
 * formatting. Slack has no escape for those; a date token whose format is invalid shows its fallback
 * text verbatim, unformatted, so each becomes `<!date^0^{_}|*>`.
 */
export function escapeSlack(text: string): string {
  return escapeEntities(text).replace(/[*_~`]/g, (c) => `<!date^0^{_}|${c}>`);
}

/** Inline code: backticks removed so the text cannot close the span, then escaped. */
function code(text: string): string {
  return `\`${escapeEntities(text.replace(/`/g, ''))}\``;
}

/** Cuts escaped text to `max` characters without splitting an `&amp;` entity or a `<!date…>` token. */
function truncate(escaped: string, max: number): string {
  if (escaped.length <= max) return escaped;
  return `${escaped.slice(0, max - 1).replace(/&[a-z]*$|<[^>]*$/, '')}…`;
}

/** A mrkdwn text object Slack takes as written: no links, mentions or channel names made from it. */
function mrkdwn(text: string, max = FIELD_MAX) {
  return { type: 'mrkdwn', text: truncate(text, max), verbatim: true };
}

/** Slack user/group ids become mentions on purpose; any other owner is plain, escaped text. */
function ownerText(owner: string): string {
  if (/^[UW][A-Z0-9]{6,}$/.test(owner)) return `<@${owner}>`;
  if (/^S[A-Z0-9]{6,}$/.test(owner)) return `<!subteam^${owner}>`;
  return escapeSlack(owner);
}

function digestText(digest: string | null): string {
  return digest === null ? '_none_' : code(digest);
}

export function renderSlackMessage(
  alert: Alert,
  options: { interactive?: boolean } = {},
): { text: string; blocks: unknown[] } {
  const { incident } = alert;
  const emoji = alert.severity === 'critical' ? ':rotating_light:' : ':warning:';
  const ref = escapeSlack(formatTagRef(incident.ref));
  const plainRef = escapeEntities(formatTagRef(incident.ref));
  const actor = incident.actor === null ? 'unknown' : escapeSlack(incident.actor);
  const action = escapeSlack(alert.actionTaken);
  const owners = incident.owners.length === 0 ? 'none' : incident.owners.map(ownerText).join(', ');
  const field = (label: string, value: string) => mrkdwn(`*${label}*\n${value}`);

  const blocks: unknown[] = [
    {
      type: 'header',
      text: {
        type: 'plain_text',
        text: truncate(`${emoji} ${escapeEntities(alertTitle(alert))}: ${plainRef}`, HEADER_MAX),
        emoji: true,
      },
    },
    {
      type: 'section',
      fields: [
        field('Registry', escapeSlack(incident.ref.registryHost)),
        field('Repository', escapeSlack(incident.ref.repository)),
        field('Tag', escapeSlack(incident.ref.tag)),
        field('Previous digest', digestText(incident.from)),
        field('New digest', digestText(incident.to)),
        field('Pushed by', actor),
        field('Rule', escapeSlack(`${incident.ruleAction} (${incident.ruleSource})`)),
        field('Event time', escapeSlack(incident.eventTime)),
      ],
    },
    { type: 'section', text: mrkdwn(`*Action taken:* ${action}`) },
    ...alert.notes.slice(0, MAX_NOTE_BLOCKS).map((note) => ({
      type: 'context',
      elements: [mrkdwn(escapeSlack(note))],
    })),
    { type: 'section', text: mrkdwn(`*Owners:* ${owners}`) },
  ];
  const buttons = options.interactive ? alertButtons(alert) : null;
  if (buttons) blocks.push(buttons);
  const from = incident.from === null ? 'none' : escapeSlack(incident.from);
  const to = incident.to === null ? 'none' : escapeSlack(incident.to);
  const text = `${emoji} ${escapeSlack(alertTitle(alert))}: ${ref} ${from} → ${to} by ${actor}; ${action}`;
  return { text: truncate(text, 3000), blocks };
}

interface Target {
  url: string;
  /** How errors name this URL; the URL itself is a secret. */
  label: string;
}

// Plain fetch rather than @slack/webhook: we need the raw status and 429 Retry-After to classify errors.
export class SlackNotifier implements Notifier {
  readonly kind = 'slack';
  private readonly webhookUrl: string;
  private readonly routes: Record<string, string>;
  private readonly timeoutMs: number;
  private readonly fetch: typeof fetch;
  private readonly interactive: boolean;
  /** eventId → URLs that already took this alert, so a retry only goes to the rest. */
  private readonly delivered = new Map<string, Set<string>>();

  constructor(options: SlackNotifierOptions) {
    this.webhookUrl = options.webhookUrl;
    this.routes = options.routes ?? {};
    this.timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.fetch = options.fetch ?? fetch;
    this.interactive = options.interactive ?? false;
  }

  async send(alert: Alert): Promise<void> {
    const eventId = alert.incident.eventId;
    const done = this.delivered.get(eventId) ?? new Set<string>();
    const targets = this.targets(alert.incident.owners).filter((target) => !done.has(target.url));
    const body = JSON.stringify(renderSlackMessage(alert, { interactive: this.interactive }));

    const results = await Promise.allSettled(targets.map((target) => this.post(target, body)));
    const failures: Error[] = [];
    results.forEach((result, i) => {
      if (result.status === 'fulfilled') done.add(targets[i]!.url);
      else
        failures.push(
          result.reason instanceof Error ? result.reason : new TransientError(String(result.reason)),
        );
    });

    if (failures.length === 0) {
      // Fully delivered: forget it, so a later alert about the same event (e.g. a failed revert) is sent.
      this.delivered.delete(eventId);
      return;
    }
    this.remember(eventId, done);
    if (failures.length === 1) throw failures[0]!;
    const message = failures.map((failure) => failure.message).join('; ');
    const transient = failures.filter((failure) => !(failure instanceof PermanentError));
    if (transient.length === 0) throw new PermanentError(message);
    const retryAfter = transient.map((failure) =>
      failure instanceof TransientError ? failure.retryAfterMs : null,
    );
    const waits = retryAfter.filter((ms): ms is number => ms !== null);
    throw new TransientError(message, waits.length === 0 ? null : Math.max(...waits));
  }

  /** Route URL of each routed owner, plus the default webhook if any owner is unrouted or none are given. */
  private targets(owners: string[]): Target[] {
    const targets: Target[] = [];
    const add = (url: string, label: string) => {
      if (!targets.some((target) => target.url === url)) targets.push({ url, label });
    };
    let needsDefault = owners.length === 0;
    for (const owner of owners) {
      // Own properties only: an owner named "constructor" must not pick up Object.prototype.
      const route = Object.hasOwn(this.routes, owner) ? this.routes[owner] : undefined;
      if (typeof route === 'string' && route !== '') add(route, `webhook for ${owner}`);
      else needsDefault = true;
    }
    if (needsDefault) add(this.webhookUrl, 'webhook #1');
    return targets;
  }

  private remember(eventId: string, done: Set<string>): void {
    this.delivered.delete(eventId);
    this.delivered.set(eventId, done);
    while (this.delivered.size > MAX_PENDING_ALERTS) {
      const oldest = this.delivered.keys().next().value;
      if (oldest === undefined) break;
      this.delivered.delete(oldest);
    }
  }

  private async post(target: Target, body: string): Promise<void> {
    const prefix = `Slack ${target.label}`;
    let response: Response;
    let text: string;
    try {
      response = await this.fetch(target.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json; charset=utf-8' },
        body,
        signal: AbortSignal.timeout(this.timeoutMs),
      });
      // Slack answers in a few bytes; only 200 characters are ever shown, so no more than this is read.
      text = (await readBodyPrefix(response.body, ANSWER_READ_BYTES)).toString('utf8');
    } catch (error) {
      throw new TransientError(`${prefix}: ${describeNetworkError(error, this.timeoutMs)}`);
    }
    if (response.ok) return;
    const detail = sanitize(text, target.url);
    const said = detail === '' ? '' : `: ${detail}`;
    if (response.status === 429) {
      throw new TransientError(
        `${prefix} rate limited (HTTP 429)${said}`,
        retryAfterMs(response.headers.get('retry-after')),
      );
    }
    if (response.status >= 500)
      throw new TransientError(`${prefix} failed with HTTP ${response.status}${said}`);
    throw new PermanentError(`${prefix} rejected the message with HTTP ${response.status}${said}`);
  }
}

function retryAfterMs(header: string | null): number {
  const value = header?.trim() ?? '';
  if (!/^\d+(\.\d+)?$/.test(value)) return DEFAULT_RETRY_AFTER_MS;
  return Math.min(Math.ceil(Number(value) * 1000), MAX_RETRY_AFTER_MS);
}

/** Slack's answer, cut to 200 characters, on one line, and never echoing the URL. */
function sanitize(text: string, url: string): string {
  return printable(text.split(url).join('[webhook]')).slice(0, 200);
}
