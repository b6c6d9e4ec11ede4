import type { Incident } from './decide';

/** An alert as the notifiers render it (Slack Block Kit, console). Text fields are raw; renderers escape. */
export interface Alert {
  incident: Incident;
  /** One line on what Tagwarden did: "reverted to sha256:…", "revert failed: …", "alerted only". */
  actionTaken: string;
  severity: 'warning' | 'critical';
  /** What happened, for the headline; left out: "Tag overwritten". */
  title?: string;
  /** Further facts worth a line each, e.g. that the registry cannot lock tags. */
  notes: string[];
}

/** The headline of an alert: its title, or what most alerts are about. */
export function alertTitle(alert: Alert): string {
  return alert.title ?? 'Tag overwritten';
}
