import { randomBytes } from 'node:crypto';
import { existsSync, writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import { loadConfigText } from '../../shared/config/load';
import { CliError, out } from './cli-io';
import { DEFAULT_CONFIG_PATH } from './dependencies';
import { API_TOKEN_VAR, isLoopback } from './serve-command';

interface InitOptions {
  config: string;
  force?: boolean;
  registry: string;
  registryUrl?: string;
  url: string;
}

/** The variables the starter config reads; the source token is generated, the credentials are yours. */
const TOKEN_VAR = 'TAGWARDEN_DISTRIBUTION_TOKEN';
const USER_VAR = 'TAGWARDEN_REGISTRY_USERNAME';
const PASSWORD_VAR = 'TAGWARDEN_REGISTRY_PASSWORD';

export function registerInitCommand(program: Command): void {
  program
    .command('init')
    .description(
      'write a starter tagwarden.yaml (release tags revert, latest may move) and print the registry notifications to paste',
    )
    .option('--config <file>', 'where to write the config', DEFAULT_CONFIG_PATH)
    .option('--force', 'overwrite an existing file')
    .option('--registry <host>', 'the registry host[:port] as its events name it', '127.0.0.1:5000')
    .option('--registry-url <url>', 'how Tagwarden reaches the registry (default: http://<registry>)')
    .option('--url <url>', 'where the registry reaches Tagwarden', 'http://127.0.0.1:8080')
    .action(init);
}

function init(options: InitOptions): void {
  if (existsSync(options.config) && !options.force)
    throw new CliError(`${options.config} already exists; pass --force to overwrite it`);
  const remote = listensBeyondLoopback(options.url);
  const token = newToken();
  const apiToken = remote ? newToken() : undefined;
  const text = starterConfig(options.registry, options.registryUrl ?? `http://${options.registry}`, remote);
  // What is written must load: checked with the variables it names set, before anything is written.
  const env = {
    [TOKEN_VAR]: token,
    [USER_VAR]: 'user',
    [PASSWORD_VAR]: 'password',
    ...(apiToken ? { [API_TOKEN_VAR]: apiToken } : {}),
  };
  const loaded = loadConfigText(text, { file: 'starter', env });
  if (!loaded.ok) {
    // The file is not written, so no line of it is named: the flags that made it are.
    const reasons = loaded.errors.map((error) => error.replace(/^starter:\d+:\d+: /, ''));
    const flags = `--registry ${options.registry}${options.registryUrl ? ` --registry-url ${options.registryUrl}` : ''}`;
    throw new CliError(`${flags}: ${reasons.join('; ')}; ${options.config} not written`);
  }
  writeFileSync(options.config, text, { mode: 0o600 });
  out(
    [
      `Wrote ${options.config}: tags v* and x.y.z are reverted when overwritten, latest may move, any other tag alerts.`,
      '',
      `Set these in the shell that runs \`tagwarden serve\` (the token${apiToken ? 's are' : ' is'} new: keep ${apiToken ? 'them' : 'it'} secret):`,
      `  export ${TOKEN_VAR}=${token}`,
      ...(apiToken ? [`  export ${API_TOKEN_VAR}=${apiToken}`] : []),
      `  export ${USER_VAR}='your-registry-user' ${PASSWORD_VAR}='its-password'`,
      ...(remote ? ['', ...serveLines(options.url, options.config)] : []),
      '',
      "Paste into the registry's config.yml (Debian's docker-registry: /etc/docker/registry/config.yml), then restart it:",
      notificationsSnippet(`${options.url.replace(/\/+$/, '')}/webhooks/distribution`, token),
    ].join('\n'),
  );
}

const newToken = (): string => randomBytes(24).toString('base64url');

/** Whether the registry reaches Tagwarden on another host, so `serve` must bind beyond loopback. */
function listensBeyondLoopback(url: string): boolean {
  const parsed = /^https?:\/\/[^/?#\s]+/.test(url) && URL.canParse(url) ? new URL(url) : null;
  if (!parsed)
    throw new CliError(
      `--url ${url}: expected the http:// or https:// URL where the registry reaches Tagwarden`,
    );
  return !isLoopback(parsed.hostname);
}

/**
 * The `serve` command a `--url` on another host needs: every address, on an http URL's port. An https
 * URL's port is its TLS proxy's (serve speaks plain HTTP), so serve takes 8080 behind it.
 */
function serveLines(url: string, config: string): string[] {
  const { hostname, port, protocol } = new URL(url);
  const host = hostname.startsWith('[') ? '::' : '0.0.0.0';
  const tls = protocol === 'https:';
  const args = `--host ${host} --port ${tls ? '8080' : port || '80'} --config ${config}`;
  return [
    'Then start it on every address (beyond loopback, GET /api/tags, /metrics and /ui need api.token):',
    `  tagwarden serve ${args}`,
    ...(tls ? [`  (serve speaks plain HTTP: put the TLS proxy for ${url} in front of port 8080)`] : []),
  ];
}

export function starterConfig(registryHost: string, registryUrl: string, withApi = false): string {
  return `# Written by \`tagwarden init\`. Rules are tried in order; the first match wins.
# "\${VAR}" reads an environment variable when the file is loaded: secrets stay out of this file.

# Tags no rule matches: alert when one is overwritten (printed to the console without notify.slack).
defaults: { action: alert }

rules:
  - match: { tag: "v*" } # release tags: put the first digest back
    action: revert
  - match: { tag: "*.*.*" } # x.y.z release tags without a v
    action: revert
  - match: { tag: latest } # expected to move
    action: allow

# The distribution registry's notifications carry this token (Authorization: Bearer …).
sources:
  distribution: { token: "\${${TOKEN_VAR}}" }

# How Tagwarden reaches the registry to read, lock and revert tags.
registries:
  "${registryHost}":
    url: "${registryUrl}"
    username: "\${${USER_VAR}}"
    password: "\${${PASSWORD_VAR}}"
${withApi ? apiSection : ''}`;
}

/** Beyond loopback `serve` refuses to start without it: the read API, /metrics and /ui ask for it. */
const apiSection = `
# \`serve --host\` beyond loopback requires it (Authorization: Bearer … on GET /api/tags, /metrics; the /ui login).
api: { token: "\${${API_TOKEN_VAR}}" }
`;

/** The `notifications` block of a distribution registry's config.yml; pulls are left out (one POST each). */
export function notificationsSnippet(url: string, token: string): string {
  return `notifications:
  endpoints:
    - name: tagwarden
      url: ${url}
      headers:
        Authorization: [Bearer ${token}]
      timeout: 2s
      threshold: 5
      backoff: 1s
      ignore:
        actions: [pull]`;
}
