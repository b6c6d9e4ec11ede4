import type { EffectRunner } from '../../shared/guard/effects';
import type { Outbox } from '../../shared/history';

/**
 * Runs `runner` at every moment an effect of `eventId` falls due, for `ms` of a clock that moves only
 * when told (`clock.current`, the runner's `now`): retries and waits play out without a sleep.
 */
export async function runOutboxFor(
  runner: EffectRunner,
  store: Pick<Outbox, 'effectsOf'>,
  clock: { current: Date },
  eventId: string,
  ms: number,
): Promise<void> {
  const end = clock.current.getTime() + ms;
  await runner.runDue();
  for (let i = 0; i < 1000; i++) {
    const pending = (await store.effectsOf(eventId)).filter((e) => e.status === 'pending');
    const next = Math.min(...pending.map((e) => Date.parse(e.nextAttemptAt)));
    if (!(next <= end)) break;
    clock.current = new Date(Math.max(next, clock.current.getTime()));
    await runner.runDue();
  }
  clock.current = new Date(end);
}
