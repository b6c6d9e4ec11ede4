import type { Alert } from '../../core';

/** Tells people. Throws TransientError to be retried (429, 5xx, network), PermanentError otherwise. */
export interface Notifier {
  readonly kind: string;
  send(alert: Alert): Promise<void>;
}
