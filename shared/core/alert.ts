import type { AttemptFacts, Incident } from './decide';

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
  /** Only on the alert for an effect that failed for good: its outbox key, for a "Retry" button. */
  retryKey?: string;
}

/** The headline of an alert: its title, or what most alerts are about. */
export function alertTitle(alert: Alert): string {
  return alert.title ?? 'Tag overwritten';
}

/**
 * The alert on a push the registry refused (the tag is locked): who tried, from where, what the tag
 * still serves and what they tried to put there. Nothing was changed, so nothing is critical.
 */
export function attemptAlert(incident: Incident, attempt: AttemptFacts): Alert {
  const minutes = Math.round(attempt.windowMs / 60_000);
  const notes = [
    `Who: ${incident.actor ?? 'unknown identity'}.`,
    `From: ${attempt.sourceIp ?? 'unknown address'}, user agent ${attempt.userAgent ?? 'unknown'}.`,
    incident.to === null
      ? 'The refused call did not carry the digest it tried to push.'
      : `Tried to push ${incident.to}.`,
  ];
  const earlier = attempt.earlier;
  if (earlier !== null) {
    notes.push(
      `${earlier.count} attempts by ${earlier.actor ?? 'an unknown identity'} from ${earlier.since} were grouped under one earlier alert.`,
    );
  }
  notes.push(
    `Further attempts by the same identity at this tag within ${minutes} min are counted in history without another alert.`,
  );
  return {
    incident,
    title: 'Overwrite attempt blocked',
    actionTaken: `nothing to undo: the registry refused the push; the tag still serves ${incident.from ?? 'a digest Tagwarden has not seen yet'}`,
    severity: 'warning',
    notes,
  };
}
