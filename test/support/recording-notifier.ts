import type { Notifier } from '../../shared/adapters/notify/port';
import type { Alert } from '../../shared/core';

/** A notifier that keeps every alert it delivered, counts attempts and fails on demand. */
export class RecordingNotifier implements Notifier {
  readonly kind = 'recording';
  /** Alerts delivered (a failed attempt is not one). */
  readonly alerts: Alert[] = [];
  attempts = 0;
  private readonly failures: Array<{ error: Error; remaining: number }> = [];

  /** Makes the next `times` sends throw `error`. */
  failNext(error: Error, times = 1): void {
    this.failures.push({ error, remaining: times });
  }

  async send(alert: Alert): Promise<void> {
    this.attempts += 1;
    const failure = this.failures.find((f) => f.remaining > 0);
    if (failure) {
      failure.remaining -= 1;
      throw failure.error;
    }
    this.alerts.push(structuredClone(alert));
  }
}
