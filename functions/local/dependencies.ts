import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { ClusterSender } from '../../shared/adapters/cluster/sender';
import { alertChannel } from '../../shared/adapters/notify/channel';
import type { Notifier } from '../../shared/adapters/notify/port';
import { OciDistributionRegistry } from '../../shared/adapters/registry/oci-distribution';
import type { RegistryClient, RegistryResolver } from '../../shared/adapters/registry/port';
import { hasCredentials, type SourceAuthConfig } from '../../shared/auth/source-auth';
import { DEFAULT_CONFIG_NOTICE, loadConfigFile, type SectionOptions } from '../../shared/config/load';
import { type TagwardenConfig, toPolicy } from '../../shared/config/schema';
import { DEFAULT_POLICY, type Policy } from '../../shared/core';
import type { EffectRunnerOptions } from '../../shared/guard/effects';

export const DEFAULT_CONFIG_PATH = 'tagwarden.yaml';
export const DEFAULT_DB_PATH = '.tagwarden/history.db';

export interface LocalConfig {
  config: TagwardenConfig | null;
  policy: Policy;
  /** Set when running on the built-in defaults, to say so at start. */
  notice: string | null;
  /** The file read, or null when none was given and ./tagwarden.yaml does not exist. */
  path: string | null;
}

export class ConfigError extends Error {}

/** `--config` must exist; without it, ./tagwarden.yaml is used if present, else the built-in defaults. */
export function loadLocalConfig(
  configPath: string | undefined,
  env: Record<string, string | undefined> = process.env,
  options: SectionOptions = {},
): LocalConfig {
  const path = configPath ?? (existsSync(DEFAULT_CONFIG_PATH) ? DEFAULT_CONFIG_PATH : undefined);
  if (!path) return { config: null, policy: DEFAULT_POLICY, notice: DEFAULT_CONFIG_NOTICE, path: null };
  const loaded = loadConfigFile(path, env, options);
  if (!loaded.ok) throw new ConfigError(loaded.errors.join('\n'));
  return { config: loaded.config, policy: toPolicy(loaded.config), notice: null, path };
}

/** Why a registry host has no client: no entry for it, or no config file at all (and where we looked). */
export function noRegistryMessage(host: string, config: LocalConfig): string {
  if (config.path === null)
    return `no config file was found (looked for ${resolve(DEFAULT_CONFIG_PATH)}; pass --config <file>), so no registry is configured for ${host}`;
  return `no registry is configured for ${host}; add registries."${host}".url to the config`;
}

export function notifierFor(config: TagwardenConfig | null): Notifier {
  return alertChannel(config?.notify?.slack);
}

export function registriesFor(config: TagwardenConfig | null): RegistryResolver {
  const clients = new Map<string, RegistryClient>();
  for (const [host, registry] of Object.entries(config?.registries ?? {})) {
    clients.set(
      host.toLowerCase(),
      new OciDistributionRegistry({
        url: registry.url,
        ...(registry.username !== undefined ? { username: registry.username } : {}),
        ...(registry.password !== undefined ? { password: registry.password } : {}),
        ...(registry.token !== undefined ? { token: registry.token } : {}),
        ...(registry.tokenRealms !== undefined ? { tokenRealms: registry.tokenRealms } : {}),
      }),
    );
  }
  return (host) => clients.get(host.toLowerCase()) ?? null;
}

/**
 * Which sources `serve` enables, and how each authenticates. With a config file: only the sources it
 * names (with a token or secret, or `open: true`). Without one (the demo): every source, open —
 * `serve` refuses to listen beyond loopback then (see serve-command).
 */
export function sourceAuthFor(config: TagwardenConfig | null): (source: string) => SourceAuthConfig | null {
  if (config === null) return () => ({ open: true });
  return (source) => {
    const settings = config.sources?.[source];
    return settings && (hasCredentials(settings) || settings.open === true) ? settings : null;
  };
}

/** The cluster endpoints and retry settings of the config, for every EffectRunner the CLI builds. */
export function runnerSettingsFor(config: TagwardenConfig | null): Pick<
  EffectRunnerOptions,
  'maxAttempts' | 'backoffBaseMs' | 'backoffMaxMs' | 'alertWaitMs'
> & {
  clusters: ClusterSender;
} {
  const effects = config?.effects;
  return {
    clusters: new ClusterSender(config?.clusters ?? []),
    ...(effects
      ? {
          maxAttempts: effects.maxAttempts,
          backoffBaseMs: effects.backoffBaseMs,
          backoffMaxMs: effects.backoffMaxMs,
          alertWaitMs: effects.alertWaitMs,
        }
      : {}),
  };
}
