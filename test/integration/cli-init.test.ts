// `tagwarden init` (issue 13, item 1): a starter config that loads, and the registry snippet to paste.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { loadConfigFile } from '../../shared/config/load';
import { toPolicy } from '../../shared/config/schema';
import { ruleFor } from '../../shared/core';
import { runCli, spawnServe, useCliTempDir } from '../support/cli-process';
import { eventually } from '../support/tagwarden';

const dir = useCliTempDir('tagwarden-init-');

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
    const result = runCli(['init'], { cwd: dir() });
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
    const env = exportsOf(result.stdout);
    expect(env.TAGWARDEN_DISTRIBUTION_TOKEN).toMatch(/^[A-Za-z0-9_-]{32}$/);
    const loaded = loadConfigFile(join(dir(), 'tagwarden.yaml'), env);
    if (!loaded.ok) throw new Error(loaded.errors.join('\n'));
    expect(loaded.config.sources?.distribution?.token).toBe(env.TAGWARDEN_DISTRIBUTION_TOKEN);
    expect(loaded.config.registries?.['127.0.0.1:5000']?.password).toBe(env.TAGWARDEN_REGISTRY_PASSWORD);
    const policy = toPolicy(loaded.config);
    const ref = (tag: string) => ({ registryHost: '127.0.0.1:5000', repository: 'payments/api', tag });
    expect(ruleFor(policy, ref('v1.2.0')).action).toBe('revert');
    expect(ruleFor(policy, ref('1.2.0')).action).toBe('revert');
    expect(ruleFor(policy, ref('latest')).action).toBe('allow');
    expect(ruleFor(policy, ref('main')).action).toBe('alert');
    // On loopback serve needs no api.token: none is written, generated or printed.
    expect(loaded.config.api).toBeUndefined();
    expect(result.stdout).not.toMatch(/API_TOKEN|tagwarden serve --host/);
  });

  it('for a --url on loopback by name writes and prints what a bare init does', () => {
    const result = runCli(['init', '--url', 'http://localhost:8080'], { cwd: dir() });
    expect(result.status).toBe(0);
    expect(Object.keys(exportsOf(result.stdout)).sort()).toEqual([
      'TAGWARDEN_DISTRIBUTION_TOKEN',
      'TAGWARDEN_REGISTRY_PASSWORD',
      'TAGWARDEN_REGISTRY_USERNAME',
    ]);
    expect(readFileSync(join(dir(), 'tagwarden.yaml'), 'utf8')).not.toContain('api:');
  });

  it('for a --url on another host writes api.token too, and serve started as printed listens on 0.0.0.0', async () => {
    const result = runCli(['init', '--url', 'http://10.0.0.5:8080'], { cwd: dir() });
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
    const env = exportsOf(result.stdout);
    expect(env.TAGWARDEN_API_TOKEN).toMatch(/^[A-Za-z0-9_-]{32}$/);
    expect(env.TAGWARDEN_API_TOKEN).not.toBe(env.TAGWARDEN_DISTRIBUTION_TOKEN);
    const loaded = loadConfigFile(join(dir(), 'tagwarden.yaml'), env);
    if (!loaded.ok) throw new Error(loaded.errors.join('\n'));
    expect(loaded.config.api?.token).toBe(env.TAGWARDEN_API_TOKEN);
    const command = result.stdout.match(/^ {2}tagwarden serve (.*)$/m)?.[1];
    expect(command).toBe('--host 0.0.0.0 --port 8080 --config tagwarden.yaml');
    // As printed, on port 0 instead of 8080 and with a history of its own.
    const args = command!.replace('--port 8080', '--port 0').split(' ');
    const serve = spawnServe([...args, '--db', join(dir(), 'h.db')], dir(), env);
    try {
      const port = await Promise.race([
        eventually(
          async () => serve.output().match(/listening on http:\/\/0\.0\.0\.0:(\d+)/)?.[1],
          'serve listening',
          30_000,
        ),
        serve.exited.then(() => {
          throw new Error(`serve exited instead of listening: ${serve.output()}`);
        }),
      ]);
      const metrics = (token?: string) =>
        fetch(`http://127.0.0.1:${port}/metrics`, {
          headers: token ? { Authorization: `Bearer ${token}` } : {},
        });
      expect((await metrics()).status).toBe(401);
      expect((await metrics(env.TAGWARDEN_API_TOKEN)).status).toBe(200);
      expect(await serve.stop()).toEqual({ code: 0, signal: null });
    } finally {
      await serve.stop();
    }
  }, 40_000);

  it('prints the port an http --url names, and for https the proxy serve needs', () => {
    const serveLine = (url: string) => {
      const result = runCli(['init', '--force', '--url', url], { cwd: dir() });
      expect(result.status).toBe(0);
      return result.stdout
        .split('\n')
        .filter((line) => line.includes('serve --host') || line.includes('TLS'));
    };
    expect(serveLine('http://tagwarden.internal')).toEqual([
      '  tagwarden serve --host 0.0.0.0 --port 80 --config tagwarden.yaml',
    ]);
    expect(serveLine('http://[fd00::5]:9000/')).toEqual([
      '  tagwarden serve --host :: --port 9000 --config tagwarden.yaml',
    ]);
    expect(serveLine('https://tagwarden.example.com')).toEqual([
      '  tagwarden serve --host 0.0.0.0 --port 8080 --config tagwarden.yaml',
      '  (serve speaks plain HTTP: put the TLS proxy for https://tagwarden.example.com in front of port 8080)',
    ]);
    // An https port is the TLS proxy's: serve on it would answer the registry's handshake in plain HTTP.
    expect(serveLine('https://tagwarden.example.com:8443')).toEqual([
      '  tagwarden serve --host 0.0.0.0 --port 8080 --config tagwarden.yaml',
      '  (serve speaks plain HTTP: put the TLS proxy for https://tagwarden.example.com:8443 in front of port 8080)',
    ]);
  });

  it('prints a notifications snippet with the token header and pulls ignored', () => {
    const result = runCli(['init', '--url', 'http://tagwarden.internal:8080/'], { cwd: dir() });
    const token = exportsOf(result.stdout).TAGWARDEN_DISTRIBUTION_TOKEN;
    const snippet = result.stdout.slice(result.stdout.indexOf('notifications:'));
    const endpoint = parse(snippet).notifications.endpoints[0];
    expect(endpoint.url).toBe('http://tagwarden.internal:8080/webhooks/distribution');
    expect(endpoint.headers).toEqual({ Authorization: [`Bearer ${token}`] });
    expect(endpoint.ignore).toEqual({ actions: ['pull'] });
  });

  it('refuses to overwrite an existing file without --force, in one line', () => {
    writeFileSync(join(dir(), 'tagwarden.yaml'), 'rules: []\n');
    const result = runCli(['init'], { cwd: dir() });
    expect(result.status).toBe(1);
    expect(result.stderr).toBe('error: tagwarden.yaml already exists; pass --force to overwrite it\n');
    expect(readFileSync(join(dir(), 'tagwarden.yaml'), 'utf8')).toBe('rules: []\n');
    const forced = runCli(['init', '--force', '--registry', 'registry.example.com'], { cwd: dir() });
    expect(forced.status).toBe(0);
    expect(readFileSync(join(dir(), 'tagwarden.yaml'), 'utf8')).toContain('"registry.example.com":');
  });

  it('names the flag, not a line of a file it did not write, when --registry, --registry-url or --url is wrong', () => {
    const host = runCli(['init', '--registry', 'bad_host'], { cwd: dir() });
    expect(host.status).toBe(1);
    expect(host.stderr).toBe(
      'error: --registry bad_host: registries: key "bad_host": expected a registry host such as registry.example.com or 127.0.0.1:5000; tagwarden.yaml not written\n',
    );
    const registryUrl = runCli(['init', '--registry-url', 'registry.example.com'], { cwd: dir() });
    expect(registryUrl.status).toBe(1);
    expect(registryUrl.stderr).toMatch(
      /^error: --registry 127\.0\.0\.1:5000 --registry-url registry\.example\.com: registries\["127\.0\.0\.1:5000"\]\.url: .*; tagwarden\.yaml not written\n$/,
    );
    const url = runCli(['init', '--url', 'ftp://tagwarden.internal'], { cwd: dir() });
    expect(url.status).toBe(1);
    expect(url.stderr).toBe(
      'error: --url ftp://tagwarden.internal: expected the http:// or https:// URL where the registry reaches Tagwarden\n',
    );
    const unparsable = runCli(['init', '--url', 'http://[fd00::5'], { cwd: dir() });
    expect(unparsable.status).toBe(1);
    expect(unparsable.stderr).toBe(
      'error: --url http://[fd00::5: expected the http:// or https:// URL where the registry reaches Tagwarden\n',
    );
    expect(() => readFileSync(join(dir(), 'tagwarden.yaml'))).toThrow();
  });
});
