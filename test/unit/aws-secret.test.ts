import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { secretsFrom } from '../../functions/aws/runtime';

// The Tagwarden secret on AWS (docs/aws.md, step 3): every function reads it through secretsFrom.
const page = readFileSync(join(__dirname, '..', '..', 'docs', 'aws.md'), 'utf8');
const TOKEN = 'lambda-token-0123456789ab';

const problem = (value: unknown): string => {
  try {
    secretsFrom(value);
  } catch (error) {
    return (error as Error).message;
  }
  throw new Error('the secret was accepted');
};

describe('the Tagwarden secret on AWS', () => {
  test("takes the page's own example, and every key the page names", () => {
    const example = /cat > tagwarden-add\.json <<'JSON'\n([\s\S]*?)\nJSON/.exec(page)?.[1];
    expect(example).toBeDefined();
    expect(secretsFrom(JSON.parse(example!))).toEqual(JSON.parse(example!));
    const everything = {
      slackWebhookUrl: 'https://hooks.slack.com/services/T/B/x',
      slackRoutes: { '#payments': 'https://hooks.slack.com/services/T/B/y' },
      slackSigningSecret: '0123456789abcdef0123456789abcdef',
      sources: { harbor: { token: TOKEN }, ghcr: { secret: 'hmac-secret-0123456789' }, quay: { open: true } },
      clusters: [{ name: 'prod-eu', url: 'https://bump.example.com/bump', secret: 'x' }],
    };
    expect(secretsFrom(everything)).toEqual(everything);
    for (const key of Object.keys(everything)) expect(page).toContain(`\`${key}\``);
    expect(secretsFrom({})).toEqual({});
  });

  test('an empty string is left out, as before the secret was checked (an upgrade keeps working)', () => {
    const blanked = {
      slackWebhookUrl: '',
      slackSigningSecret: '',
      sources: { harbor: { token: '' }, ghcr: { secret: '' } },
    };
    expect(secretsFrom(blanked)).toEqual(blanked);
    // Not any falsy value: a wrong type is still named.
    expect(problem({ slackSigningSecret: 0 })).toMatch(/slackSigningSecret: must be a string/);
  });

  test('a short source token or signing secret stops the function instead of being accepted, without printing it', () => {
    // Before: {"token": "guessable"} was taken as is, and `Bearer guessable` then passed the webhook.
    const short = problem({ sources: { harbor: { token: 'guessable' } } });
    expect(short).toBe(
      'the Tagwarden secret is invalid: sources.harbor.token: must be a string of at least 16 characters (a short one is guessable)',
    );
    expect(short).not.toContain('guessable"');
    expect(problem({ sources: { ghcr: { secret: 'short-key' } } })).toContain(
      'sources.ghcr.secret: must be a string of at least 16 characters',
    );
    expect(problem({ slackSigningSecret: 'abc' })).toContain(
      'slackSigningSecret: must be a string of at least 16 characters',
    );
  });

  test("a source's header or registries of the wrong type stops the function at start, not each delivery", () => {
    // Before: {"registries": "harbor.example.com"} was taken as is, and every delivery of that source
    // then failed on `registries.some is not a function` (a 5xx, retried until the registry gave up).
    expect(problem({ sources: { harbor: { token: TOKEN, registries: 'harbor.example.com' } } })).toBe(
      'the Tagwarden secret is invalid: sources.harbor.registries: expected a list of hosts such as ["harbor.example.com"]',
    );
    expect(
      problem({ sources: { harbor: { token: TOKEN, registries: ['harbor.example.com', 42] } } }),
    ).toContain('sources.harbor.registries: expected a list of hosts');
    expect(problem({ sources: { harbor: { token: TOKEN, header: 7 } } })).toBe(
      'the Tagwarden secret is invalid: sources.harbor.header: expected a header name',
    );
    const bound = {
      sources: { harbor: { token: TOKEN, header: 'X-Token', registries: ['harbor.example.com:8443'] } },
    };
    expect(secretsFrom(bound)).toEqual(bound);
  });

  test('a key that is not a plain name (a webhook URL or token pasted as a key) is never echoed', () => {
    // Before: owner and URL swapped in slackRoutes printed the Slack webhook URL, a secret, to the log:
    // "slackRoutes.https://hooks.slack.com/services/…: expected an http:// or https:// URL".
    const url = 'https://hooks.slack.com/services/T0/B0/pastedSecret0123456789';
    for (const secret of [
      { slackRoutes: { [url]: '#payments' } },
      { [url]: '#payments' },
      { sources: { [url]: 'not an object' } },
      { sources: { harbor: { token: TOKEN, [url]: true } } },
    ]) {
      const said = problem(secret);
      expect(said).toMatch(/^the Tagwarden secret is invalid: /);
      expect(said).toContain('a key of 61 characters');
      expect(said).not.toContain('pastedSecret');
    }
    expect(problem({ slackRoutes: { '@alice.smith': 'no' } })).toContain(
      'slackRoutes.@alice.smith: expected',
    );
  });

  test('a misspelt key, a wrong type or a secret that is not an object is named, one line', () => {
    // Before: slackWebhookURL was ignored and alerts went to the log.
    expect(problem({ slackWebhookURL: 'https://hooks.slack.com/services/T/B/x' })).toBe(
      'the Tagwarden secret is invalid: the secret: unknown key "slackWebhookURL"; expected slackWebhookUrl, slackRoutes, slackSigningSecret, sources, clusters',
    );
    expect(problem({ sources: { harbor: { tokn: TOKEN } } })).toBe(
      'the Tagwarden secret is invalid: sources.harbor: unknown key "tokn"; expected token, secret, header, open, registries',
    );
    expect(problem({ slackWebhookUrl: 42, slackRoutes: { '#payments': 'not a url' } })).toBe(
      'the Tagwarden secret is invalid: slackWebhookUrl: expected an http:// or https:// URL; slackRoutes.#payments: expected an http:// or https:// URL',
    );
    expect(problem({ sources: { harbor: 'token-0123456789abcdef' }, slackRoutes: [] })).toBe(
      'the Tagwarden secret is invalid: slackRoutes: expected an object; sources.harbor: expected an object such as {"token": "…"}',
    );
    expect(problem({ sources: { quay: { token: 1234567890123456 } } })).toContain(
      'sources.quay.token: must be a string',
    );
    expect(problem(['https://hooks.slack.com/services/T/B/x'])).toBe(
      'the Tagwarden secret is invalid: expected a JSON object',
    );
  });
});
