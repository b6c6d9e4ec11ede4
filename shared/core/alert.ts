import type { Incident } from './decide';

/** An alert as the notifiers render it (Slack Block Kit, console). Text fields are raw; renderers escape. */
export interface Alert {
  incident: Incident;
  /** One line on what Tagwarden did: "reverted to sha256:…", "revert failed: …", "alerted only". */
  actionTaken: string;
  severity: 'warning' | 'critical';
  /** Further facts worth a line each, e.g. that the registry cannot lock tags. */
  notes: string[];
}
