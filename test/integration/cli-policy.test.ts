// `tagwarden policy`: the validated policy, as the JSON the Azure Function reads from POLICY (docs/azure.md step 2).
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { azurePolicy } from '../../functions/azure/policy';
import { loadConfigFile } from '../../shared/config/load';
import { toPolicy } from '../../shared/config/policy-schema';
import { runCli, useCliTempDir } from '../support/cli-process';

// Every policy key (and a section with a secret the command must not need, nor print).
const POLICY_YAML = `defaults:
  action: alert
  owners: ["#platform"]
  harmless: alert
rules:
  - match: { registry: myregistry.azurecr.io, repository: "payments/*", tag: "v*" }
    action: revert
    owners: ["@alice"]
    bump: true
    approvers: [U0123ABCD]
  - match: { tag: latest }
    action: allow
attempts:
  windowMs: 60000
notify:
  slack:
    url: \${TAGWARDEN_TEST_UNSET_SLACK_URL}
`;

const dir = useCliTempDir('tagwarden-policy-');

const write = (name: string, text: string) => writeFileSync(join(dir(), name), text);

describe('tagwarden policy', () => {
  it('--json prints one line the Azure Function reads back as the policy the file loads to', () => {
    write('tagwarden.yaml', POLICY_YAML);
    const result = runCli(['policy', '--config', 'tagwarden.yaml', '--json'], { cwd: dir() });
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
    expect(result.stdout.endsWith('\n')).toBe(true);
    expect(result.stdout.trimEnd().split('\n')).toHaveLength(1);
    const loaded = loadConfigFile(join(dir(), 'tagwarden.yaml'), {}, { policyOnly: true });
    if (!loaded.ok) throw new Error(loaded.errors.join('\n'));
    const expected = toPolicy(loaded.config);
    expect(azurePolicy(result.stdout)).toEqual(expected);
    expect(expected.attemptWindowMs).toBe(60000);
    expect(expected.rules[0]).toMatchObject({ bump: true, approvers: ['U0123ABCD'] });
    expect(Object.keys(JSON.parse(result.stdout))).toEqual(['defaults', 'rules', 'attempts']);
  });

  it('reads ./tagwarden.yaml by default, and prints the rules in order without --json', () => {
    write('tagwarden.yaml', POLICY_YAML);
    const result = runCli(['policy'], { cwd: dir() });
    expect(result.status).toBe(0);
    const lines = result.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^RULE\s+REGISTRY\s+REPOSITORY\s+TAG\s+ACTION\s+HARMLESS\s+BUMP\s+OWNERS$/);
    expect(lines[1]).toMatch(
      /^rules\[0\]\s+myregistry\.azurecr\.io\s+payments\/\*\s+v\*\s+revert\s+allow\s+yes\s+@alice$/,
    );
    expect(lines[2]).toMatch(/^rules\[1\]\s+any\s+any\s+latest\s+allow\s+allow\s+no\s+-$/);
    expect(lines[3]).toMatch(/^defaults\s+any\s+any\s+any\s+alert\s+alert\s+no\s+#platform$/);
    expect(lines[4]).toContain('within 60000 ms share one alert');
  });

  it('a bad policy is exit 1 and one line naming file:line:column, nothing on stdout', () => {
    write('tagwarden.yaml', 'rules:\n  - match: { repository: orders }\n    action: revrt\n');
    const result = runCli(['policy', '--config', 'tagwarden.yaml', '--json'], { cwd: dir() });
    expect(result.status).toBe(1);
    expect(result.stdout).toBe('');
    expect(result.stderr).toBe(
      'error: tagwarden.yaml:3:13: rules[0].action: expected one of allow|alert|lock|revert, got "revrt"\n',
    );
  });

  it('a harmless action stronger than the rule is refused at the line, as the Function would refuse it at start', () => {
    write('tagwarden.yaml', 'defaults:\n  action: alert\n  harmless: lock\n');
    const result = runCli(['policy', '--json'], { cwd: dir() });
    expect(result.status).toBe(1);
    expect(result.stdout).toBe('');
    expect(result.stderr).toMatch(
      /^error: tagwarden\.yaml:3:\d+: defaults\.harmless: harmless: lock does more than action: alert/,
    );
    expect(result.stderr.trimEnd().split('\n')).toHaveLength(1);
  });

  it('is listed in tagwarden --help, and policy --help prints its usage', () => {
    expect(runCli(['--help']).stdout).toMatch(/^\s+policy \[options\]/m);
    const result = runCli(['policy', '--help']);
    expect(result.status).toBe(0);
    expect(result.stdout).toContain('Usage: tagwarden policy [options]');
    expect(result.stdout).toContain('--json');
  });

  it('a missing file is one line, exit 1, no stack trace (never the built-in policy instead)', () => {
    const result = runCli(['policy', '--config', 'nope.yaml', '--json'], { cwd: dir() });
    expect(result.status).toBe(1);
    expect(result.stdout).toBe('');
    expect(result.stderr).toBe('error: nope.yaml: config file not found\n');
    const byDefault = runCli(['policy', '--json'], { cwd: dir() });
    expect(byDefault.status).toBe(1);
    expect(byDefault.stderr).toBe('error: tagwarden.yaml: config file not found\n');
  });
});
