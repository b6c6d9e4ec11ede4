import * as z from 'zod/mini';
import {
  DEFAULT_POLICY,
  POLICY_ACTIONS,
  type Policy,
  type PolicyAction,
  type PolicyRule,
  type RuleMatch,
} from '../core/policy';
import '../zod-english';

/**
 * The policy part of the config file (`defaults` and `rules`), written with zod/mini: the Lambdas
 * validate the deployed policy with it, and mini is tree-shaken to about a quarter of classic zod's
 * size in their bundles. `schema.ts` builds the whole file (and its JSON Schema) on these pieces.
 */

const ACTIONS_TEXT = POLICY_ACTIONS.join('|');

export const action = z.enum(POLICY_ACTIONS, { error: `expected one of ${ACTIONS_TEXT}` });

const owner = z
  .string()
  .check(
    z.minLength(1, 'an owner must not be empty'),
    z.describe(
      'Who is told: a Slack channel (`#platform`) or user (`@alice`), or any name routed in notify.slack.routes.',
    ),
  );

const owners = z
  ._default(z.array(owner), [])
  .check(z.describe('Owners alerted when this policy fires (e.g. ["#payments", "@alice"]).'));

const bump = z
  ._default(z.boolean(), false)
  .check(
    z.describe(
      'When the tag moves (an allowed overwrite or a revert), tell the cluster endpoints so pinned workloads follow.',
    ),
  );

const harmless = z
  .optional(action)
  .check(
    z.describe(
      'What a harmless move does instead of `action`: a tag whose digest moves without any platform image changing (index-grew, attestations-changed, became-index, content-equal; see docs/harmless-moves.md). allow | alert | lock | revert, never more than `action`. Left out: allow (recorded, not reverted, no alert).',
    ),
  );

const approvers = z
  .optional(
    z.array(
      z
        .string()
        .check(
          z.regex(
            /^[UW][A-Z0-9]{6,}$/,
            'an approver is a Slack user id (U… or W…, as in a profile\'s "Copy member ID"); group ids (S…) are not accepted, as membership cannot be checked without a bot token',
          ),
        ),
    ),
  )
  .check(
    z.describe(
      "Slack user ids (U…) who may approve or revert from an alert's buttons. Left out: the owners given as Slack user ids. Groups (S…) are not accepted.",
    ),
  );

/** How much an action does: a harmless move may do as much as the rule's action, never more. */
const STRENGTH = { allow: 0, alert: 1, revert: 2, lock: 3 } as const;

const harmlessWithinAction = z.refine<{ action: PolicyAction; harmless?: PolicyAction | undefined }>(
  (rule) => rule.harmless === undefined || STRENGTH[rule.harmless] <= STRENGTH[rule.action],
  {
    error: (issue) => {
      const rule = issue.input as { action: string; harmless: string };
      return `harmless: ${rule.harmless} does more than action: ${rule.action}; a harmless move can only be treated the same or more lightly`;
    },
    path: ['harmless'],
  },
);

function glob(what: string, example: string) {
  return z
    .optional(
      z
        .string()
        .check(z.minLength(1, `a ${what} glob must not be empty (leave the key out to match any ${what})`)),
    )
    .check(
      z.describe(
        `Glob on the ${what} (e.g. ${example}). \`*\` matches within one path segment, \`**\` across segments, \`?\` one character. Left out: any ${what}.`,
      ),
    );
}

const RuleMatchSchema = z
  .strictObject({
    registry: glob('registry', '"*.dkr.ecr.*.amazonaws.com" or "127.0.0.1:5000"'),
    repository: glob('repository', '"payments/*"'),
    tag: glob('tag', '"v*" or "latest"'),
  })
  .check(
    z.describe(
      'Which tags the rule applies to; every given key must match. An empty match `{}` matches every tag (a catch-all rule).',
    ),
  );

export const RuleSchema = z
  .strictObject({
    match: RuleMatchSchema,
    action: action.check(
      z.describe(
        'What to do when a tag matching this rule is overwritten: allow (record only), alert (tell the owners), lock (lock the tag at the registry), revert (restore the previous digest).',
      ),
    ),
    owners,
    bump,
    harmless,
    approvers,
  })
  .check(
    harmlessWithinAction,
    z.describe('One policy rule. Rules are tried in order; the first match wins.'),
  );

const DEFAULT_DEFAULTS = { action: 'alert', owners: [], bump: false } as const;

export const DefaultsSchema = z
  ._default(
    z
      .strictObject({
        action: z
          ._default(action, 'alert')
          .check(
            z.describe('Action for tags no rule matches: allow | alert | lock | revert (default alert).'),
          ),
        owners,
        bump,
        harmless,
        approvers,
      })
      .check(harmlessWithinAction),
    { ...DEFAULT_DEFAULTS, owners: [] },
  )
  .check(z.describe('The policy for tags that no rule matches. Left out: alert, with no owners.'));

export const RulesSchema = z
  ._default(z.array(RuleSchema), [])
  .check(
    z.describe(
      'Policy rules, tried in order: the first rule whose match fits the tag decides. Left out: no rules, only defaults.',
    ),
  );

/** Longest attempt window: a day. Longer would silence a retrying job for more than a working day. */
const MAX_ATTEMPT_WINDOW_MS = 86_400_000;

export const AttemptsSchema = z
  .optional(
    z.strictObject({
      windowMs: z
        .number()
        .check(
          z.multipleOf(1, 'expected a whole number of milliseconds'),
          z.minimum(0, 'expected at least 0 ms (0: alert every attempt)'),
          z.maximum(MAX_ATTEMPT_WINDOW_MS, `expected at most ${MAX_ATTEMPT_WINDOW_MS} ms (a day)`),
          z.describe(
            'How long refused pushes by one identity at one tag share one alert, in ms (default 600000, ten minutes; 0 alerts every attempt; at most 86400000). The next alert after the window says how many the last one grouped.',
          ),
        ),
    }),
  )
  .check(
    z.describe(
      'Overwrite attempts at locked tags (refused pushes; see docs/attempts.md). Left out: a ten-minute window.',
    ),
  );

/** What the deployments hold (`POLICY`, or built into the AWS bundle): the policy keys of the config file, as JSON. */
export const PolicyDocument = z.strictObject({
  defaults: DefaultsSchema,
  rules: RulesSchema,
  attempts: AttemptsSchema,
});
export type PolicyDocument = z.output<typeof PolicyDocument>;

/** How the JSON in Azure's POLICY is written: what a POLICY that is not JSON is told (docs/azure.md, step 2). */
export const AZURE_POLICY_HOW_TO =
  'write it with `tagwarden policy --config tagwarden.yaml --json` (see "Deploy on Azure")';

/**
 * The policy a cloud function runs, from the JSON its deployment holds (`POLICY`); the deployment
 * converted and checked the YAML file. Empty means the built-in defaults. `howToDeploy` finishes the
 * error for text that is not JSON: where the user converts their file.
 */
export function policyFromJson(text: string | undefined, howToDeploy: string): Policy {
  if (!text || text.trim() === '') return DEFAULT_POLICY;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new Error(`POLICY is not JSON; ${howToDeploy}`);
  }
  const parsed = PolicyDocument.safeParse(value);
  if (!parsed.success)
    throw new Error(
      `the deployed policy is invalid: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`,
    );
  return toPolicy(parsed.data);
}

/**
 * The policy a config file describes. Only the file's rules apply: the built-in `latest` rule of
 * DEFAULT_POLICY (shared/core/policy.ts) is used only when no config file is given at all, so a file
 * that wants `latest` to float must say so (`- match: { tag: latest }` / `action: allow`).
 */
export function toPolicy(config: PolicyDocument): Policy {
  return {
    defaults: {
      action: config.defaults.action,
      owners: [...config.defaults.owners],
      bump: config.defaults.bump,
      ...(config.defaults.harmless ? { harmless: config.defaults.harmless } : {}),
      ...(config.defaults.approvers ? { approvers: [...config.defaults.approvers] } : {}),
    },
    rules: config.rules.map(
      (rule): PolicyRule => ({
        match: toRuleMatch(rule.match),
        action: rule.action,
        owners: [...rule.owners],
        bump: rule.bump,
        ...(rule.harmless ? { harmless: rule.harmless } : {}),
        ...(rule.approvers ? { approvers: [...rule.approvers] } : {}),
      }),
    ),
    ...(config.attempts ? { attemptWindowMs: config.attempts.windowMs } : {}),
  };
}

/** The policy keys of a config file, as the JSON a cloud deployment holds (no secrets in it). */
export function policyDocumentOf(config: PolicyDocument): PolicyDocument {
  const { defaults, rules, attempts } = config;
  return attempts ? { defaults, rules, attempts } : { defaults, rules };
}

/**
 * The policy keys of a config file as the JSON text the cloud functions read: Azure's `POLICY` app
 * setting (`tagwarden policy --json`) and the policy built into the AWS bundle (`cdk synth`). One
 * serialisation for both, read back by `policyFromJson`.
 */
export function deployedPolicyJson(config: PolicyDocument): string {
  return JSON.stringify(policyDocumentOf(config));
}

function toRuleMatch(match: PolicyDocument['rules'][number]['match']): RuleMatch {
  const result: RuleMatch = {};
  if (match.registry !== undefined) result.registry = match.registry;
  if (match.repository !== undefined) result.repository = match.repository;
  if (match.tag !== undefined) result.tag = match.tag;
  return result;
}
