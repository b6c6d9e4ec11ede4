import { type Alert, alertTitle, printable as clean, formatTagRef } from '../../core';
import type { Notifier } from './port';

export interface ConsoleNotifierOptions {
  write?: (line: string) => void;
}

/** `sha256:` and the first 12 hex digits, enough to tell two digests apart in a terminal. */
export function shortDigest(digest: string | null): string {
  if (digest === null) return 'none';
  const [algorithm, hex = ''] = digest.split(':', 2);
  return hex.length > 12 ? `${algorithm}:${hex.slice(0, 12)}…` : digest;
}

/** One human line per alert on stderr; what `tagwarden serve` uses when no Slack webhook is configured. */
export class ConsoleNotifier implements Notifier {
  readonly kind = 'console';
  private readonly write: (line: string) => void;

  constructor(options: ConsoleNotifierOptions = {}) {
    this.write = options.write ?? ((line) => process.stderr.write(line));
  }

  async send(alert: Alert): Promise<void> {
    this.write(`${renderConsoleLine(alert)}\n`);
  }
}

/** The line without its newline; every value from an event or config is cleaned of control characters. */
export function renderConsoleLine(alert: Alert): string {
  const { incident } = alert;
  const label = alert.severity === 'critical' ? 'ALERT (critical)' : 'ALERT';
  const ref = clean(formatTagRef(incident.ref));
  const from = clean(shortDigest(incident.from));
  const to = clean(shortDigest(incident.to));
  const actor = clean(incident.actor ?? 'unknown');
  const rule = `rule ${clean(incident.ruleAction)}, ${clean(incident.ruleSource)}`;
  const owners = incident.owners.length === 0 ? 'none' : incident.owners.map(clean).join(', ');
  const notes = alert.notes.map((note) => `; note: ${clean(note)}`).join('');
  return `${label} ${alertTitle(alert).toLowerCase()}: ${ref} ${from} → ${to} by ${actor}; ${clean(alert.actionTaken)} (${rule}); owners ${owners}${notes}`;
}
