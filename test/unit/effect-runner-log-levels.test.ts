import { type Policy, TransientError } from '../../shared/core';
import { EffectRunner } from '../../shared/guard/effects';
import { MemoryHistoryStore } from '../../shared/history';
import type { Logger } from '../../shared/log';
import { at, pushEvent } from '../support/events';
import { FakeRegistry } from '../support/fake-registry';
import { RecordingNotifier } from '../support/recording-notifier';

const REVERT: Policy = { defaults: { action: 'revert', owners: [], bump: false }, rules: [] };

function recordingLog() {
  const lines: { level: string; message: string }[] = [];
  const at = (level: string) => (message: string) => lines.push({ level, message });
  const log: Logger = { info: at('info'), warn: at('warn'), error: at('error'), debug: at('debug') };
  return { log, lines };
}

async function overwritten(registry: FakeRegistry, store: MemoryHistoryStore) {
  const old = registry.push('payments/api', 'v1', 'old');
  await store.apply(pushEvent({ id: 'e1', tag: 'v1', digest: old.digest, timestamp: at(0) }), REVERT, at(1));
  const offending = registry.push('payments/api', 'v1', 'new');
  await store.apply(
    pushEvent({ id: 'e2', tag: 'v1', digest: offending.digest, timestamp: at(10) }),
    REVERT,
    at(11),
  );
  return { old, offending };
}

describe('how the runner logs a retry', () => {
  it('a revert rechecking a registry that has not moved the tag yet is debug, not warn', async () => {
    const store = new MemoryHistoryStore();
    const registry = new FakeRegistry();
    const { old } = await overwritten(registry, store);
    registry.setTag('payments/api', 'v1', old.digest); // notified before the registry moved the tag
    const { log, lines } = recordingLog();
    const runner = new EffectRunner({
      store,
      registries: () => registry,
      notifier: new RecordingNotifier(),
      log,
      now: () => new Date(at(60)),
    });
    await runner.runDue();
    const retried = lines.filter((l) => l.message === 'effect will be retried');
    expect(retried).toEqual([{ level: 'debug', message: 'effect will be retried' }]);
    expect(lines.filter((l) => l.level === 'warn')).toEqual([]);
  });

  it('a registry failing (5xx) is still a warning', async () => {
    const store = new MemoryHistoryStore();
    const registry = new FakeRegistry();
    await overwritten(registry, store);
    jest.spyOn(registry, 'currentDigest').mockRejectedValue(new TransientError('GET answered 503'));
    const { log, lines } = recordingLog();
    const runner = new EffectRunner({
      store,
      registries: () => registry,
      notifier: new RecordingNotifier(),
      log,
      now: () => new Date(at(60)),
    });
    await runner.runDue();
    expect(lines.filter((l) => l.message === 'effect will be retried').map((l) => l.level)).toEqual(['warn']);
  });
});
