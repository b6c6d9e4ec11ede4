import type { TagRef } from './model';

export const POLICY_ACTIONS = ['allow', 'alert', 'lock', 'revert'] as const;
export type PolicyAction = (typeof POLICY_ACTIONS)[number];

export interface RuleMatch {
  registry?: string;
  repository?: string;
  tag?: string;
}

export interface PolicyRule {
  match: RuleMatch;
  action: PolicyAction;
  owners: string[];
  bump: boolean;
  /** What a harmless move (see classify-move.ts) does instead of `action`; left out: allow. */
  harmless?: PolicyAction;
  /** Slack user ids who may approve or revert from an alert; left out: the owners that are Slack user ids. */
  approvers?: string[];
}

export interface Policy {
  defaults: {
    action: PolicyAction;
    owners: string[];
    bump: boolean;
    harmless?: PolicyAction;
    approvers?: string[];
  };
  rules: PolicyRule[];
  /** How long repeated refused pushes by one actor at one tag share one alert (default 10 min). */
  attemptWindowMs?: number;
}

/** The rule that applies to a tag, with where it came from (for alerts and `replay`). */
export interface ResolvedRule {
  action: PolicyAction;
  owners: string[];
  bump: boolean;
  /** What a harmless move does instead of `action`; left out: allow. */
  harmless?: PolicyAction;
  /** Slack user ids who may act on its alerts from Slack; left out: see `approversOf`. */
  approvers?: string[];
  /** `rules[3]`, `defaults` or `built-in`. */
  source: string;
  /** The policy's `attemptWindowMs`, when it sets one. */
  attemptWindowMs?: number;
}

/** Tags Tagwarden itself writes to keep a replaced manifest referenced; never guarded. */
export const KEEP_TAG_PREFIX = 'tagwarden-keep-';

/** With no config file: alert on every tag except `latest`, which floats. */
export const DEFAULT_POLICY: Policy = {
  defaults: { action: 'alert', owners: [], bump: false },
  rules: [{ match: { tag: 'latest' }, action: 'allow', owners: [], bump: false }],
};

/** First match wins; a rule with no field matches everything. */
export function ruleFor(policy: Policy, ref: TagRef): ResolvedRule {
  const rule = matchingRule(policy, ref);
  return policy.attemptWindowMs === undefined ? rule : { ...rule, attemptWindowMs: policy.attemptWindowMs };
}

function matchingRule(policy: Policy, ref: TagRef): ResolvedRule {
  if (ref.tag.startsWith(KEEP_TAG_PREFIX))
    return { action: 'allow', owners: [], bump: false, source: 'built-in' };
  for (const [index, rule] of policy.rules.entries()) {
    if (ruleMatches(rule.match, ref)) {
      return {
        action: rule.action,
        owners: rule.owners,
        bump: rule.bump,
        ...(rule.harmless ? { harmless: rule.harmless } : {}),
        ...(rule.approvers ? { approvers: rule.approvers } : {}),
        source: `rules[${index}]`,
      };
    }
  }
  return { ...policy.defaults, source: 'defaults' };
}

/** A Slack user id (`U…`, or `W…` on Enterprise Grid): what `approvers` holds. */
export const SLACK_USER_ID = /^[UW][A-Z0-9]{6,}$/;

/** Who may act on a rule's alerts from Slack: its `approvers`, else those of its owners that are Slack user ids. */
export function approversOf(rule: ResolvedRule): string[] {
  return rule.approvers ?? rule.owners.filter((owner) => SLACK_USER_ID.test(owner));
}

function ruleMatches(match: RuleMatch, ref: TagRef): boolean {
  return (
    (match.registry === undefined || globMatches(match.registry, ref.registryHost)) &&
    (match.repository === undefined || globMatches(match.repository, ref.repository)) &&
    (match.tag === undefined || globMatches(match.tag, ref.tag))
  );
}

const globCache = new Map<string, RegExp>();

/**
 * Globs: `*` matches within one path segment (no `/`), `**` across segments, `?` one character.
 * So `payments/*` matches `payments/api` but not `payments/team/api`; `payments/**` matches both.
 */
export function globMatches(glob: string, value: string): boolean {
  return globPattern(glob).test(value);
}

/** The anchored regular expression a glob means (`**` any, `*` and `?` within one path segment). */
export function globPattern(glob: string): RegExp {
  let pattern = globCache.get(glob);
  if (!pattern) {
    let source = '';
    for (let i = 0; i < glob.length; i++) {
      const c = glob[i]!;
      if (c === '*' && glob[i + 1] === '*') {
        source += '.*';
        i++;
      } else if (c === '*') source += '[^/]*';
      else if (c === '?') source += '[^/]';
      else source += c.replace(/[.+^${}()|[\]\\]/g, '\\$&');
    }
    pattern = new RegExp(`^${source}$`);
    globCache.set(glob, pattern);
  }
  return pattern;
}
