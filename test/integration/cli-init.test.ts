// `tagwarden init` (issue 13, item 1): a starter config that loads, and the registry snippet to paste.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { loadConfigFile } from '../../shared/config/load';
import { toPolicy } from '../../shared/config/schema';
import { ruleFor } from '../../shared/core';
import { runCli, useCliSnapshot } from '../support/cli-process';
import { buildCli } from '../support/tagwarden';

let dir: string;
let restore: () => void;
beforeAll(() => {
  buildCli();
  restore = useCliSnapshot();
});
afterAll(() => restore?.());
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'tagwarden-init-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

/** The variables of the printed `export` lines, as a shell would set them. */
function exportsOf(stdout: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const line of stdout.split('\n').filter((l) => l.trim().startsWith('export ')))
    for (const [, name, value] of line.matchAll(/([A-Z_]+)=('[^']*'|\S+)/g))
      env[name!] = value!.replace(/'/g, '');
  return env;
}

describe('tagwarden init', () => {
  it('writes a config the loader accepts with the printed exports, reverting release tags and allowing latest', () => {
    const result = runCli(['init'], { cwd: dir });
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
    const env = exportsOf(result.stdout);
    expect(env.TAGWARDEN_DISTRIBUTION_TOKEN).toMatch(/^[A-Za-z0-9_-]{32}$/);
    const loaded = loadConfigFile(join(dir, 'tagwarden.yaml'), env);
    if (!loaded.ok) throw new Error(loaded.errors.join('\n'));
    expect(loaded.config.sources?.distribution?.token).toBe(env.TAGWARDEN_DISTRIBUTION_TOKEN);
    expect(loaded.config.registries?.['127.0.0.1:5000']?.password).toBe(env.TAGWARDEN_REGISTRY_PASSWORD);
    const policy = toPolicy(loaded.config);
    const ref = (tag: string) => ({ registryHost: '127.0.0.1:5000', repository: 'payments/api', tag });
    expect(ruleFor(policy, ref('v1.2.0')).action).toBe('revert');
    expect(ruleFor(policy, ref('1.2.0')).action).toBe('revert');
    expect(ruleFor(policy, ref('latest')).action).toBe('allow');
    expect(ruleFor(policy, ref('main')).action).toBe('alert');
  });

  it('prints a notifications snippet with the token header and pulls ignored', () => {
    const result = runCli(['init', '--url', 'http://tagwarden.internal:8080/'], { cwd: dir });
    const token = exportsOf(result.stdout).TAGWARDEN_DISTRIBUTION_TOKEN;
    const snippet = result.stdout.slice(result.stdout.indexOf('notifications:'));
    const endpoint = parse(snippet).notifications.endpoints[0];
    expect(endpoint.url).toBe('http://tagwarden.internal:8080/webhooks/distribution');
    expect(endpoint.headers).toEqual({ Authorization: [`Bearer ${token}`] });
    expect(endpoint.ignore).toEqual({ actions: ['pull'] });
  });

  it('refuses to overwrite an existing file without --force, in one line', () => {
    writeFileSync(join(dir, 'tagwarden.yaml'), 'rules: []\n');
    const result = runCli(['init'], { cwd: dir });
    expect(result.status).toBe(1);
    expect(result.stderr).toBe('error: tagwarden.yaml already exists; pass --force to overwrite it\n');
    expect(readFileSync(join(dir, 'tagwarden.yaml'), 'utf8')).toBe('rules: []\n');
    const forced = runCli(['init', '--force', '--registry', 'registry.example.com'], { cwd: dir });
    expect(forced.status).toBe(0);
    expect(readFileSync(join(dir, 'tagwarden.yaml'), 'utf8')).toContain('"registry.example.com":');
  });

  it('names the flag, not a line of a file it did not write, when --registry, --registry-url or --url is wrong', () => {
    const host = runCli(['init', '--registry', 'bad_host'], { cwd: dir });
    expect(host.status).toBe(1);
    expect(host.stderr).toBe(
      'error: --registry bad_host: registries: key "bad_host": expected a registry host such as registry.example.com or 127.0.0.1:5000; tagwarden.yaml not written\n',
    );
    const registryUrl = runCli(['init', '--registry-url', 'registry.example.com'], { cwd: dir });
    expect(registryUrl.status).toBe(1);
    expect(registryUrl.stderr).toMatch(
      /^error: --registry 127\.0\.0\.1:5000 --registry-url registry\.example\.com: registries\["127\.0\.0\.1:5000"\]\.url: .*; tagwarden\.yaml not written\n$/,
    );
    const url = runCli(['init', '--url', 'ftp://tagwarden.internal'], { cwd: dir });
    expect(url.status).toBe(1);
    expect(url.stderr).toBe(
      'error: --url ftp://tagwarden.internal: expected the http:// or https:// URL where the registry reaches Tagwarden\n',
    );
    expect(() => readFileSync(join(dir, 'tagwarden.yaml'))).toThrow();
  });
});
