import { DEFAULT_POLICY, globMatches, type Policy, ruleFor, type TagRef } from '../../shared/core';

const ref = (repository: string, tag: string, registryHost = 'registry.example.com'): TagRef => ({
  registryHost,
  repository,
  tag,
});

const policy: Policy = {
  defaults: { action: 'alert', owners: ['#platform'], bump: false },
  rules: [
    { match: { repository: 'payments/*', tag: 'latest' }, action: 'allow', owners: [], bump: true },
    { match: { repository: 'payments/*' }, action: 'revert', owners: ['#payments'], bump: false },
    { match: { registry: '*.azurecr.io' }, action: 'lock', owners: ['#azure'], bump: false },
    { match: { tag: 'v*' }, action: 'revert', owners: ['#releases'], bump: false },
  ],
};

describe('ruleFor', () => {
  test('the first matching rule wins even when a later rule also matches', () => {
    expect(ruleFor(policy, ref('payments/api', 'latest'))).toEqual({
      action: 'allow',
      owners: [],
      bump: true,
      source: 'rules[0]',
    });
    expect(ruleFor(policy, ref('payments/api', 'v1.0.0'))).toEqual({
      action: 'revert',
      owners: ['#payments'],
      bump: false,
      source: 'rules[1]',
    });
  });

  test('a rule matches only when every field it names matches', () => {
    // rules[0] names repository and tag: the repository matching alone is not enough.
    expect(ruleFor(policy, ref('payments/api', 'stable')).source).toBe('rules[1]');
  });

  test('a rule can match on the registry host', () => {
    expect(ruleFor(policy, ref('shop/web', 'stable', 'myreg.azurecr.io'))).toMatchObject({
      action: 'lock',
      source: 'rules[2]',
    });
  });

  test('a tag no rule matches gets the defaults, with source "defaults"', () => {
    expect(ruleFor(policy, ref('shop/web', 'stable'))).toEqual({
      action: 'alert',
      owners: ['#platform'],
      bump: false,
      source: 'defaults',
    });
  });

  test('a rule with no match fields matches everything', () => {
    const catchAll: Policy = {
      defaults: { action: 'alert', owners: [], bump: false },
      rules: [{ match: {}, action: 'lock', owners: [], bump: false }],
    };
    expect(ruleFor(catchAll, ref('anything/at/all', 'x')).source).toBe('rules[0]');
  });

  test('tagwarden-keep-* tags always get the built-in allow, ahead of every rule', () => {
    const strict: Policy = {
      defaults: { action: 'revert', owners: ['#x'], bump: true },
      rules: [{ match: {}, action: 'lock', owners: ['#y'], bump: true }],
    };
    expect(ruleFor(strict, ref('payments/api', 'tagwarden-keep-0123456789ab'))).toEqual({
      action: 'allow',
      owners: [],
      bump: false,
      source: 'built-in',
    });
  });

  test('a tag that merely contains the keep prefix is not exempt', () => {
    expect(ruleFor(policy, ref('shop/web', 'x-tagwarden-keep-1')).source).toBe('defaults');
  });

  test('DEFAULT_POLICY allows latest and alerts on every other tag', () => {
    expect(ruleFor(DEFAULT_POLICY, ref('any/repo', 'latest'))).toMatchObject({
      action: 'allow',
      source: 'rules[0]',
    });
    expect(ruleFor(DEFAULT_POLICY, ref('any/repo', 'v1.2.3'))).toMatchObject({
      action: 'alert',
      source: 'defaults',
    });
    expect(ruleFor(DEFAULT_POLICY, ref('any/repo', 'latest-rc')).action).toBe('alert');
  });
});

describe('globMatches', () => {
  test.each([
    ['payments/*', 'payments/api', true],
    ['payments/*', 'payments/team/api', false],
    ['payments/*', 'payments', false],
    ['payments/**', 'payments/api', true],
    ['payments/**', 'payments/team/api', true],
    ['**', 'a/b/c', true],
    ['v*', 'v1.2.3', true],
    ['v*', 'v', true],
    ['v*', 'release-v1', false],
    ['v?', 'v1', true],
    ['v?', 'v12', false],
    ['v?', 'v', false],
    ['a?b', 'a/b', false],
    ['v1.0', 'v1.0', true],
    ['v1.0', 'v1x0', false],
    ['v1.*', 'v1x2', false],
    ['a+b', 'aab', false],
    ['a+b', 'a+b', true],
    ['(a|b)', 'a', false],
    ['(a|b)', '(a|b)', true],
    ['[ab]', 'a', false],
    ['[ab]', '[ab]', true],
    ['x{2}', 'xx', false],
    ['^x$', '^x$', true],
    ['a\\d', 'a1', false],
    ['latest', 'latest-rc', false],
    ['latest', 'my-latest', false],
    ['*.azurecr.io', 'myreg.azurecr.io', true],
    ['*.azurecr.io', 'myreg.azurecrXio', false],
  ])('glob %j against %j is %s', (glob, value, expected) => {
    expect(globMatches(glob, value)).toBe(expected);
  });

  test('a cached glob still answers for other values', () => {
    expect(globMatches('team-?', 'team-a')).toBe(true);
    expect(globMatches('team-?', 'team-ab')).toBe(false);
    expect(globMatches('team-?', 'team-b')).toBe(true);
  });
});
