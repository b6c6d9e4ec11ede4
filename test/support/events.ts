import type { Policy, RegistryEvent } from '../../shared/core';

/** Factories for tests: a digest from a seed, and a push or delete event with sensible defaults. */
export function digestOf(seed: string | number): string {
  let hex = '';
  let n = 0;
  for (const c of String(seed)) n = (n * 31 + c.charCodeAt(0)) >>> 0;
  while (hex.length < 64) {
    n = (Math.imul(n ^ (n >>> 15), 2246822507) + 0x9e3779b9) >>> 0;
    hex += n.toString(16).padStart(8, '0');
  }
  return `sha256:${hex.slice(0, 64)}`;
}

let counter = 0;

export function pushEvent(overrides: Partial<RegistryEvent> = {}): RegistryEvent {
  counter += 1;
  return {
    id: `evt-${counter}-${Math.random().toString(36).slice(2, 8)}`,
    action: 'push',
    registryHost: '127.0.0.1:5000',
    repository: 'payments/api',
    tag: 'v1.0.0',
    digest: digestOf('a'),
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    timestamp: '2026-11-22T10:00:00.000Z',
    actor: 'alice',
    ...overrides,
  };
}

export function deleteEvent(overrides: Partial<RegistryEvent> = {}): RegistryEvent {
  return pushEvent({ action: 'delete', digest: null, mediaType: null, ...overrides });
}

/** An ISO time `seconds` after a fixed origin. */
export function at(seconds: number): string {
  return new Date(Date.UTC(2026, 10, 22, 10, 0, 0) + seconds * 1000).toISOString();
}

/** A policy that allows every change and asks for no effect: history only. */
export const noEffects: Policy = {
  defaults: { action: 'allow', owners: [], bump: false },
  rules: [],
};
