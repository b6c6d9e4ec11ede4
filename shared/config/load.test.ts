// biome-ignore-all lint/suspicious/noTemplateCurlyInString: ${VAR} in strings is the config syntax, not a template slip.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ruleFor } from '../core/policy';
import { DEFAULT_CONFIG_NOTICE, expandString, type LoadResult, loadConfigFile, loadConfigText } from './load';
import { type TagwardenConfig, toPolicy } from './schema';
import { JSON_SCHEMA_PATH, jsonSchemaText } from './write-json-schema';

const ROOT = join(__dirname, '..', '..');
const EXAMPLE = join(__dirname, 'example.tagwarden.yaml');
const ENV = {
  SLACK_WEBHOOK_URL: 'https://hooks.slack.com/services/T000/B000/XXXX',
  TAGWARDEN_DISTRIBUTION_TOKEN: 'a-long-enough-shared-secret',
};

function load(text: string, env: Record<string, string | undefined> = {}): LoadResult {
  return loadConfigText(text, { file: 'tagwarden.yaml', env });
}

function ok(text: string, env: Record<string, string | undefined> = {}): TagwardenConfig {
  const result = load(text, env);
  if (!result.ok) throw new Error(`expected a valid config, got:\n${result.errors.join('\n')}`);
  return result.config;
}

function errors(text: string, env: Record<string, string | undefined> = {}): string[] {
  const result = load(text, env);
  if (result.ok) throw new Error('expected errors, got a valid config');
  return result.errors;
}

const ref = (repository: string, tag: string, registryHost = '127.0.0.1:5000') => ({
  registryHost,
  repository,
  tag,
});

/** The defaults and rules of the example file, as the schema fills them in. */
const EXAMPLE_POLICY = {
  defaults: { action: 'alert', owners: ['#platform'], bump: false },
  rules: [
    {
      match: { repository: 'payments/*', tag: 'v*' },
      action: 'revert',
      owners: ['#payments', '@alice'],
      bump: false,
    },
    { match: { tag: 'latest' }, action: 'allow', owners: [], bump: true },
  ],
};

describe('loading the config file', () => {
  test('the example file loads with its environment variables set', () => {
    const result = loadConfigFile(EXAMPLE, ENV);
    if (!result.ok) throw new Error(result.errors.join('\n'));
    expect(result.config).toEqual({
      ...EXAMPLE_POLICY,
      notify: { slack: { webhookUrl: ENV.SLACK_WEBHOOK_URL } },
      sources: { distribution: { token: ENV.TAGWARDEN_DISTRIBUTION_TOKEN } },
      registries: { '127.0.0.1:5000': { url: 'http://127.0.0.1:5000' } },
    });
  });

  test('the example file without its environment variables names each missing variable and its field', () => {
    const result = loadConfigFile(EXAMPLE, {});
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.errors).toEqual([
      expect.stringMatching(
        /example\.tagwarden\.yaml:\d+:\d+: notify\.slack\.webhookUrl: environment variable SLACK_WEBHOOK_URL is not set$/,
      ),
      expect.stringMatching(
        /example\.tagwarden\.yaml:\d+:\d+: sources\.distribution\.token: environment variable TAGWARDEN_DISTRIBUTION_TOKEN is not set$/,
      ),
    ]);
  });

  test('policyOnly reads the rules without the secrets of notify, sources and registries', () => {
    const result = loadConfigFile(EXAMPLE, {}, { policyOnly: true });
    if (!result.ok) throw new Error(result.errors.join('\n'));
    expect(result.config.rules).toHaveLength(2);
    expect(result.config.notify).toBeUndefined();
    expect(result.config.registries).toBeUndefined();
  });

  test('policyOnly still reports a mistyped top-level key and a bad rule', () => {
    const result = loadConfigText('rulez: []\nrules:\n  - match: {}\n    action: revrt\n', {
      file: 't.yaml',
      env: {},
      policyOnly: true,
    });
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.errors.join('\n')).toMatch(/t\.yaml:1:1: unknown key "rulez"/);
    expect(result.errors.join('\n')).toMatch(/t\.yaml:4:13: rules\[0\]\.action/);
  });

  test('sections reads the policy and the named sections only; registryHosts only those registries', () => {
    const text = [
      'notify: { slack: { webhookUrl: "${UNSET_SLACK}" } }',
      'api: { token: "${UNSET_API}" }',
      'registries:',
      '  "Reg.Example.com:5000": { url: "http://reg.example.com:5000", username: u, password: "${REG_PASSWORD}" }',
      '  "other.example.com": { url: "https://other.example.com", username: u, password: "${UNSET_OTHER}" }',
      'effects: { maxAttempts: 3 }',
      '',
    ].join('\n');
    const env = { REG_PASSWORD: 'pw' };
    const result = loadConfigText(text, {
      file: 't.yaml',
      env,
      sections: ['registries', 'effects'],
      registryHosts: ['reg.example.com:5000'],
    });
    if (!result.ok) throw new Error(result.errors.join('\n'));
    expect(result.config.notify).toBeUndefined();
    expect(result.config.api).toBeUndefined();
    expect(Object.keys(result.config.registries ?? {})).toEqual(['Reg.Example.com:5000']);
    expect(result.config.registries?.['Reg.Example.com:5000']?.password).toBe('pw');
    expect(result.config.effects?.maxAttempts).toBe(3);

    const missing = loadConfigText(text, {
      file: 't.yaml',
      env: {},
      sections: ['registries'],
      registryHosts: ['reg.example.com:5000'],
    });
    expect(missing.ok).toBe(false);
    if (!missing.ok)
      expect(missing.errors).toEqual([
        expect.stringMatching(/environment variable REG_PASSWORD is not set$/),
      ]);
  });

  test('an empty file yields the default policy: alert on everything, no owners, no rules', () => {
    for (const text of ['', '\n', '# only a comment\n', '---\n']) {
      const config = ok(text);
      expect(config).toEqual({ defaults: { action: 'alert', owners: [], bump: false }, rules: [] });
      expect(toPolicy(config)).toEqual({ defaults: { action: 'alert', owners: [], bump: false }, rules: [] });
    }
  });

  test('a missing file is one error naming the path', () => {
    const dir = mkdtempSync(join(tmpdir(), 'tagwarden-config-'));
    try {
      const missing = join(dir, 'nope.yaml');
      expect(loadConfigFile(missing, {})).toEqual({
        ok: false,
        errors: [`${missing}: config file not found`],
      });
      expect(loadConfigFile(dir, {})).toEqual({
        ok: false,
        errors: [`${dir}: config file is not a regular file`],
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('a file larger than 256 KiB is rejected before parsing', () => {
    const big = `# ${'x'.repeat(256 * 1024)}\n`;
    expect(errors(big)).toEqual([
      expect.stringMatching(/^tagwarden\.yaml: config file is \d+ bytes; the limit is 262144/),
    ]);
    const dir = mkdtempSync(join(tmpdir(), 'tagwarden-config-'));
    try {
      const file = join(dir, 'big.yaml');
      writeFileSync(file, big);
      const result = loadConfigFile(file, {});
      expect(result.ok).toBe(false);
      if (!result.ok) expect(result.errors[0]).toContain(`${file}: config file is`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('a billion-laughs file is rejected by the alias limit', () => {
    const lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]'];
    for (let i = 1; i < 9; i++) {
      const prev = String.fromCharCode(96 + i);
      const name = String.fromCharCode(97 + i);
      lines.push(`${name}: &${name} [${Array(9).fill(`*${prev}`).join(',')}]`);
    }
    const result = errors(`${lines.join('\n')}\n`);
    expect(result).toHaveLength(1);
    expect(result[0]).toMatch(/^tagwarden\.yaml: YAML: .*alias/i);
  });

  test('the default notice says there is no config file and what Tagwarden does instead', () => {
    expect(DEFAULT_CONFIG_NOTICE).not.toContain('\n');
    expect(DEFAULT_CONFIG_NOTICE).toMatch(/no config file/i);
    expect(DEFAULT_CONFIG_NOTICE).toContain('latest');
    expect(DEFAULT_CONFIG_NOTICE).toMatch(/console/);
  });
});

describe('environment variables in values', () => {
  test('${VAR} is replaced by the variable, also inside a longer string', () => {
    const config = ok(
      'registries:\n  "r.example.com": { url: "https://${HOST}:${PORT}/v2", token: "${TOKEN}" }\n',
      {
        HOST: 'r.example.com',
        PORT: '443',
        TOKEN: 'tok',
      },
    );
    expect(config.registries?.['r.example.com']).toEqual({
      url: 'https://r.example.com:443/v2',
      token: 'tok',
    });
  });

  test('${VAR:-default} uses the default when the variable is unset or empty', () => {
    const text = 'registries:\n  "r.example.com": { url: "${URL:-http://127.0.0.1:5000}" }\n';
    expect(ok(text).registries?.['r.example.com']?.url).toBe('http://127.0.0.1:5000');
    expect(ok(text, { URL: '' }).registries?.['r.example.com']?.url).toBe('http://127.0.0.1:5000');
    expect(ok(text, { URL: 'https://set.example.com' }).registries?.['r.example.com']?.url).toBe(
      'https://set.example.com',
    );
  });

  test('$${ is a literal ${ and the expanded value is not expanded again', () => {
    const config = ok(
      'defaults: { owners: ["$${NOT_A_VAR}"] }\nsources: { distribution: { token: "${NESTED}" } }\n',
      { NESTED: '${SECRET}-0123456789abcdef', SECRET: 'x' },
    );
    expect(config.defaults.owners).toEqual(['${NOT_A_VAR}']);
    expect(config.sources?.distribution?.token).toBe('${SECRET}-0123456789abcdef');
  });

  test('${VAR} expands only in secrets, tokens and URLs: an owner cannot print the environment', () => {
    const env = { AWS_SECRET_ACCESS_KEY: 'wJalrXUtnFEMI', SLACK: 'https://hooks.slack.example/T/B/x' };
    expect(errors('defaults: { owners: ["${AWS_SECRET_ACCESS_KEY}"] }\n', env)).toEqual([
      expect.stringMatching(
        /^tagwarden\.yaml:1:\d+: defaults\.owners\[0\]: "\$\{…\}" is expanded only in token, secret, password, username, url, webhookUrl, signingSecret fields/,
      ),
    ]);
    expect(errors('rules:\n  - match: { tag: "${TAG}" }\n    action: revert\n', { TAG: 'v1' })).toEqual([
      expect.stringContaining('rules[0].match.tag: "${…}" is expanded only in'),
    ]);
    const config = ok(
      [
        'notify:',
        '  slack:',
        '    webhookUrl: "${SLACK}"',
        '    routes: { "#payments": "${SLACK}" }',
        'registries:',
        '  "r.example.com": { url: "https://r.example.com", username: "${U}", password: "${P}" }',
        '',
      ].join('\n'),
      { ...env, U: 'robot', P: 'pw' },
    );
    expect(config.notify?.slack?.webhookUrl).toBe(env.SLACK);
    expect(config.notify?.slack?.routes?.['#payments']).toBe(env.SLACK);
    expect(config.registries?.['r.example.com']).toMatchObject({ username: 'robot', password: 'pw' });
  });

  test('an unset variable is an error naming the variable and the field, with its line and column', () => {
    expect(errors('notify:\n  slack:\n    webhookUrl: "${SLACK_WEBHOOK_URL}"\n')).toEqual([
      'tagwarden.yaml:3:17: notify.slack.webhookUrl: environment variable SLACK_WEBHOOK_URL is not set',
    ]);
  });

  test('keys are never expanded', () => {
    expect(errors('registries:\n  "${HOST}": { url: "http://x" }\n', { HOST: 'r.example.com' })).toEqual([
      expect.stringMatching(/^tagwarden\.yaml:2:3: registries: key "\$\{HOST\}": expected a registry host/),
    ]);
  });

  test('a malformed reference is an error', () => {
    const fail = jest.fn();
    expandString('a ${1BAD} b', {}, fail);
    expect(fail).toHaveBeenCalledWith(expect.stringContaining('invalid reference "${1BAD}"'));
    const unterminated = jest.fn();
    expandString('${OPEN', {}, unterminated);
    expect(unterminated).toHaveBeenCalledWith(expect.stringContaining('unterminated'));
  });
});

describe('errors name the file, line, column and field', () => {
  test('a typo in a key is reported as an unknown key at the key, with a suggestion', () => {
    const text = ['rules:', '  - match: { tag: "v*" }', '    acton: revert', ''].join('\n');
    const result = errors(text);
    expect(result).toContain('tagwarden.yaml:3:5: unknown key "acton" in rules[0] (did you mean "action"?)');
    // The missing `action` is reported too, at the rule.
    expect(result).toContain(
      'tagwarden.yaml:2:5: rules[0].action: is required (one of allow|alert|lock|revert)',
    );
  });

  test('an unknown top-level key lists the allowed keys when nothing is close', () => {
    expect(errors('zzz: 1\n')).toEqual([
      'tagwarden.yaml:1:1: unknown key "zzz" at the top level; expected defaults, rules, attempts, notify, sources, api, registries, clusters, effects',
    ]);
  });

  test('a bad action value is reported at the value with the path rules[0].action', () => {
    const text = [
      'defaults: { action: alert }',
      'rules:',
      '  - match: { repository: "payments/*", tag: "v*" }',
      '    action: revrt',
      '',
    ].join('\n');
    expect(errors(text)).toEqual([
      'tagwarden.yaml:4:13: rules[0].action: expected one of allow|alert|lock|revert, got "revrt"',
    ]);
  });

  test("harmless: reaches the policy, and may not do more than the rule's action", () => {
    const policy = toPolicy(
      ok(
        'defaults: { action: revert, harmless: alert }\nrules:\n  - match: { tag: "v*" }\n    action: lock\n    harmless: revert\n',
      ),
    );
    expect(ruleFor(policy, { registryHost: 'r', repository: 'a', tag: 'v1' }).harmless).toBe('revert');
    expect(ruleFor(policy, { registryHost: 'r', repository: 'a', tag: 'x' }).harmless).toBe('alert');
    expect(errors('rules:\n  - match: {}\n    action: alert\n    harmless: revert\n')).toEqual([
      expect.stringMatching(
        /^tagwarden\.yaml:\d+:\d+: rules\[0\]\.harmless: harmless: revert does more than action: alert/,
      ),
    ]);
    expect(errors('rules:\n  - match: {}\n    action: revert\n    harmless: allw\n')[0]).toMatch(
      /rules\[0\]\.harmless: expected one of allow\|alert\|lock\|revert/,
    );
  });

  test('a YAML syntax error is reported with its line and column', () => {
    const result = errors('rules:\n  - match: { tag: "v*"\n    action: alert\n');
    expect(result.length).toBeGreaterThan(0);
    expect(result[0]).toMatch(/^tagwarden\.yaml:\d+:\d+: YAML: /);
    expect(errors('defaults: {}\ndefaults: {}\n')).toEqual([
      expect.stringMatching(/^tagwarden\.yaml:2:1: YAML: Map keys must be unique/),
    ]);
  });

  test('wrong types are reported with what was expected and what was found', () => {
    const text = [
      'defaults: { owners: "#platform" }',
      'rules:',
      '  - match: { tag: 1.0 }',
      '    action: alert',
      '    bump: "yes"',
      '',
    ].join('\n');
    const result = load(text);
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.errors).toEqual([
      'tagwarden.yaml:1:21: defaults.owners: expected a list, got string',
      'tagwarden.yaml:3:19: rules[0].match.tag: expected string, got number (quote the value to keep it a string)',
      'tagwarden.yaml:5:11: rules[0].bump: expected boolean, got string',
    ]);
  });

  test('a reserved character is a YAML error, not a silent string', () => {
    expect(errors('rules:\n  - { match: {}, action: allow, owners: [@alice] }\n')[0]).toMatch(
      /^tagwarden\.yaml:2:\d+: YAML: /,
    );
  });

  test('a top level that is not a mapping is an error', () => {
    expect(errors('- a\n- b\n')).toEqual(['tagwarden.yaml:1:1: expected a mapping, got a list']);
  });

  test('a short source token is rejected with the reason, without printing the token', () => {
    const result = errors('sources:\n  distribution: { token: "${T}" }\n', { T: 'hunter2' });
    expect(result).toEqual([
      expect.stringMatching(
        /^tagwarden\.yaml:2:26: sources\.distribution\.token: .*at least 16 characters: a short token is guessable/,
      ),
    ]);
    expect(result[0]).not.toContain('hunter2');
  });

  test('source names are lowercase, registry keys are host[:port], URLs are http(s)', () => {
    // zod does not check the value under an invalid key, so the ftp:// URL is reported once the key is fixed.
    const text = [
      'sources:',
      '  Distribution: {}',
      'registries:',
      '  "https://r.example.com": { url: "ftp://r.example.com" }',
      'notify:',
      '  slack: { webhookUrl: "hooks.slack.com/x" }',
      '',
    ].join('\n');
    expect(errors(text.replace('"https://r.example.com":', 'r.example.com:'))).toContain(
      'tagwarden.yaml:4:25: registries["r.example.com"].url: expected an http:// or https:// URL',
    );
    expect(errors(text)).toEqual([
      'tagwarden.yaml:2:3: sources: key "Distribution": unknown source (did you mean "distribution"?); known sources: distribution, ecr, acr, acr-eventgrid, harbor, dockerhub, ghcr, quay, artifactory, gar',
      'tagwarden.yaml:4:3: registries: key "https://r.example.com": expected a registry host such as registry.example.com or 127.0.0.1:5000',
      'tagwarden.yaml:6:24: notify.slack.webhookUrl: expected an http:// or https:// URL',
    ]);
  });

  test('an empty glob is an error, an empty match is a catch-all', () => {
    expect(errors('rules:\n  - { match: { tag: "" }, action: allow }\n')).toEqual([
      expect.stringMatching(/^tagwarden\.yaml:2:21: rules\[0\]\.match\.tag: a tag glob must not be empty/),
    ]);
    expect(ok('rules:\n  - { match: {}, action: lock }\n').rules[0]?.match).toEqual({});
  });
});

describe('toPolicy', () => {
  test("gives the rules in order and the defaults, and only the file's rules apply", () => {
    const policy = toPolicy(ok(readFileSync(EXAMPLE, 'utf8'), ENV));
    expect(policy).toEqual(EXAMPLE_POLICY);
    expect(ruleFor(policy, ref('payments/api', 'v1.2.3'))).toMatchObject({
      action: 'revert',
      source: 'rules[0]',
    });
    expect(ruleFor(policy, ref('payments/api', 'latest'))).toMatchObject({ action: 'allow', bump: true });
    expect(ruleFor(policy, ref('search/api', '1.0'))).toMatchObject({
      action: 'alert',
      owners: ['#platform'],
      source: 'defaults',
    });
    // A file without a `latest` rule alerts on `latest` too: DEFAULT_POLICY's rule is not merged in.
    expect(ruleFor(toPolicy(ok('')), ref('any', 'latest'))).toMatchObject({
      action: 'alert',
      source: 'defaults',
    });
  });

  test('attempts.windowMs reaches the policy and every rule; bad values name the field', () => {
    const policy = toPolicy(
      ok('attempts: { windowMs: 60000 }\nrules:\n  - { match: { tag: "v*" }, action: lock }\n'),
    );
    expect(policy.attemptWindowMs).toBe(60000);
    expect(ruleFor(policy, ref('a', 'v1')).attemptWindowMs).toBe(60000);
    expect(ruleFor(policy, ref('a', 'x')).attemptWindowMs).toBe(60000);
    expect(toPolicy(ok('attempts: { windowMs: 0 }\n')).attemptWindowMs).toBe(0);
    expect('attemptWindowMs' in toPolicy(ok(''))).toBe(false);
    expect(errors('attempts: { windowMs: 86400001 }\n')).toEqual([
      expect.stringMatching(/^tagwarden\.yaml:1:23: attempts\.windowMs: expected at most 86400000 ms/),
    ]);
    expect(errors('attempts: { windowMs: -1 }\n')[0]).toMatch(/attempts\.windowMs: expected at least 0 ms/);
    expect(errors('attempts: { windowMs: 1.5 }\n')[0]).toMatch(
      /attempts\.windowMs: expected a whole number of milliseconds/,
    );
    expect(errors('attempts: { window: 60000 }\n')[0]).toMatch(/attempts/);
  });

  test('policyOnly keeps attempts (it is part of the policy the cloud functions run)', () => {
    const loaded = loadConfigText('attempts: { windowMs: 5000 }\n', { file: 't', env: {}, policyOnly: true });
    expect(loaded.ok && toPolicy(loaded.config).attemptWindowMs).toBe(5000);
  });

  test('left-out match keys stay absent, so they match anything', () => {
    const policy = toPolicy(ok('rules:\n  - { match: { registry: "*.azurecr.io" }, action: lock }\n'));
    expect(policy.rules[0]?.match).toEqual({ registry: '*.azurecr.io' });
    expect(Object.keys(policy.rules[0]!.match)).toEqual(['registry']);
  });
});

describe('the JSON schema', () => {
  test('the checked-in schema file is up to date', () => {
    const checkedIn = readFileSync(join(ROOT, JSON_SCHEMA_PATH), 'utf8');
    const regenerate =
      `${JSON_SCHEMA_PATH} is out of date with shared/config/schema.ts. Regenerate it from the repository root:\n` +
      '  npx esbuild shared/config/write-json-schema.ts --bundle --platform=node --format=cjs --outfile=/tmp/tagwarden-schema.js && node /tmp/tagwarden-schema.js';
    if (checkedIn !== jsonSchemaText()) throw new Error(regenerate);
  });

  test('fields with defaults are optional, and every property has a description', () => {
    const schema = JSON.parse(jsonSchemaText());
    expect(schema.$id).toBeDefined();
    expect(schema.title).toBeDefined();
    expect(schema.required).toBeUndefined();
    expect(schema.properties.rules.items.required).toEqual(['match', 'action']);
    const missing: string[] = [];
    const visit = (node: Record<string, unknown>, path: string) => {
      const properties = (node.properties ?? {}) as Record<string, Record<string, unknown>>;
      for (const [key, child] of Object.entries(properties)) {
        if (typeof child.description !== 'string') missing.push(`${path}.${key}`);
        visit(child, `${path}.${key}`);
      }
      for (const key of ['items', 'additionalProperties'] as const) {
        const child = node[key];
        if (child && typeof child === 'object') visit(child as Record<string, unknown>, `${path}.${key}`);
      }
    };
    visit(schema, '$');
    expect(missing).toEqual([]);
  });
});
