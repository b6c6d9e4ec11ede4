import type { Command } from 'commander';
import { loadConfigFile } from '../../shared/config/load';
import { deployedPolicyJson, toPolicy } from '../../shared/config/policy-schema';
import { DEFAULT_ATTEMPT_WINDOW_MS, type Policy, type PolicyRule } from '../../shared/core';
import { CliError, out } from './cli-io';
import { DEFAULT_CONFIG_PATH } from './dependencies';
import { alignedTable } from './text-table';

export function registerPolicyCommand(program: Command): void {
  program
    .command('policy')
    .description(
      "validate a config file's policy (defaults, rules, attempts) and print it; --json: as the JSON a cloud deployment holds (Azure's POLICY app setting)",
    )
    .option('--config <file>', 'the config file (it must exist)', DEFAULT_CONFIG_PATH)
    .option(
      '--json',
      'one line of JSON, the policy keys only (no secrets), as the Azure Function reads it from POLICY',
    )
    .action(policy);
}

function policy(options: { config: string; json?: boolean }): void {
  // Only the policy is read: the other sections, and the secrets their ${VAR}s name, stay out.
  const loaded = loadConfigFile(options.config, process.env, { policyOnly: true });
  if (!loaded.ok) throw new CliError(loaded.errors.join('\n'));
  out(options.json ? deployedPolicyJson(loaded.config) : policyText(toPolicy(loaded.config)));
}

/** The rules in the order they are tried, then the defaults and the attempt window. */
export function policyText(policy: Policy): string {
  const row = (name: string, rule: Omit<PolicyRule, 'match'>, match: PolicyRule['match'] = {}) => [
    name,
    match.registry ?? 'any',
    match.repository ?? 'any',
    match.tag ?? 'any',
    rule.action,
    rule.harmless ?? 'allow',
    rule.bump ? 'yes' : 'no',
    rule.owners.join(', ') || '-',
  ];
  const table = alignedTable(
    ['RULE', 'REGISTRY', 'REPOSITORY', 'TAG', 'ACTION', 'HARMLESS', 'BUMP', 'OWNERS'],
    [
      ...policy.rules.map((rule, index) => row(`rules[${index}]`, rule, rule.match)),
      row('defaults', policy.defaults),
    ],
  );
  const windowMs = policy.attemptWindowMs ?? DEFAULT_ATTEMPT_WINDOW_MS;
  return `${table}\nattempts: refused pushes by one identity at one tag within ${windowMs} ms share one alert`;
}
