import { digestOf } from './events';

/** Minimal valid CNCF distribution notification bodies, written here so tests do not depend on fixtures. */
export interface DistributionPushOptions {
  id?: string;
  repository?: string;
  tag?: string;
  digest?: string;
  host?: string;
  timestamp?: string;
  action?: string;
  actor?: string;
}

let counter = 0;

export function distributionItem(options: DistributionPushOptions = {}): Record<string, unknown> {
  counter += 1;
  const host = options.host ?? '127.0.0.1:5000';
  const repository = options.repository ?? 'payments/api';
  const digest = options.digest ?? digestOf('a');
  return {
    id: options.id ?? `dist-${counter}-${Math.random().toString(36).slice(2, 10)}`,
    timestamp: options.timestamp ?? '2026-11-22T10:00:00Z',
    action: options.action ?? 'push',
    target: {
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      digest,
      repository,
      tag: options.tag ?? 'v1',
      url: `http://${host}/v2/${repository}/manifests/${digest}`,
    },
    request: { host },
    actor: { name: options.actor ?? 'alice' },
  };
}

export function distributionEnvelope(...items: Record<string, unknown>[]): { events: unknown[] } {
  return { events: items };
}

export function distributionBody(options: DistributionPushOptions = {}): string {
  return JSON.stringify(distributionEnvelope(distributionItem(options)));
}
