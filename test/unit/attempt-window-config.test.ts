import { azurePolicy } from '../../functions/azure/policy';
import { loadConfigText } from '../../shared/config/load';
import { policyDocumentOf, toPolicy } from '../../shared/config/policy-schema';
import type { Policy } from '../../shared/core';
import { MemoryHistoryStore } from '../../shared/history/memory';
import { at, pushEvent } from '../support/events';

/** A lock rule (attempts happen at locked tags), with the given extra top-level keys. */
const yaml = (extra: string) => `${extra}defaults: { action: lock }\n`;

function fromFile(text: string): Policy {
  const loaded = loadConfigText(text, { file: 'tagwarden.yaml', env: {}, policyOnly: true });
  if (!loaded.ok) throw new Error(loaded.errors.join('\n'));
  return toPolicy(loaded.config);
}

/** The policy a cloud function runs: the deployed JSON (what the AWS and Azure deployments hold). */
function deployed(text: string): Policy {
  const loaded = loadConfigText(text, { file: 'tagwarden.yaml', env: {}, policyOnly: true });
  if (!loaded.ok) throw new Error(loaded.errors.join('\n'));
  return azurePolicy(JSON.stringify(policyDocumentOf(loaded.config)));
}

/** Effects planned for two refused pushes by one identity at one tag, 90 seconds apart. */
async function twoAttempts(policy: Policy): Promise<string[][]> {
  const store = new MemoryHistoryStore();
  const attempt = (seconds: number) =>
    pushEvent({ action: 'attempt', digest: null, actor: 'mallory', timestamp: at(seconds) });
  const results = [
    await store.apply(attempt(0), policy, at(200)),
    await store.apply(attempt(90), policy, at(200)),
  ];
  return results.map((r) => r.effects.map((e) => e.kind));
}

describe('attempts.windowMs in tagwarden.yaml', () => {
  it('groups a retry within the default ten minutes under one alert', async () => {
    expect(await twoAttempts(fromFile(yaml('')))).toEqual([['alert'], []]);
  });

  it('a one-minute window from the file alerts the retry 90 s later again, locally and deployed', async () => {
    const text = yaml('attempts: { windowMs: 60000 }\n');
    expect(await twoAttempts(fromFile(text))).toEqual([['alert'], ['alert']]);
    expect(await twoAttempts(deployed(text))).toEqual([['alert'], ['alert']]);
    expect(deployed(text).attemptWindowMs).toBe(60000);
  });

  it('a deployed policy with a bad window is refused with the field named', () => {
    expect(() =>
      azurePolicy(JSON.stringify({ defaults: { action: 'lock' }, rules: [], attempts: { windowMs: -5 } })),
    ).toThrow(/attempts\.windowMs: expected at least 0 ms/);
  });
});
