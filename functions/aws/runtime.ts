import { Logger as PowertoolsLogger } from '@aws-lambda-powertools/logger';
import { GetSecretValueCommand, type SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { SourceAuthConfig } from '../../shared/auth/source-auth';
import type { Logger } from '../../shared/log';

// What every Lambda needs, kept apart so the webhook bundle carries no DynamoDB or ECR code.

/** What the Secrets Manager secret holds (JSON). Read once per container. */
export interface TagwardenSecrets {
  slackWebhookUrl?: string;
  slackRoutes?: Record<string, string>;
  /** The Slack app's signing secret: set, the webhook takes clicks on `POST /slack/actions`. */
  slackSigningSecret?: string;
  sources?: Record<string, SourceAuthConfig>;
  /**
   * Cluster endpoints for digest bumps, as in the config file's `clusters` (they hold HMAC keys and
   * passwords). Validated by the functions that send bumps (not the webhook, which only enqueues).
   */
  clusters?: unknown;
}

export const powertoolsLogger = new PowertoolsLogger({ serviceName: 'tagwarden' });

/** Our Logger port over Powertools' structured logger (JSON lines with the fields we pass). */
export const log: Logger = {
  info: (message, fields = {}) => powertoolsLogger.info(message, fields),
  warn: (message, fields = {}) => powertoolsLogger.warn(message, fields),
  error: (message, fields = {}) => powertoolsLogger.error(message, fields),
};

export async function readSecrets(
  client: SecretsManagerClient,
  secretArn: string | undefined,
): Promise<TagwardenSecrets> {
  if (!secretArn) return {};
  const answer = await client.send(new GetSecretValueCommand({ SecretId: secretArn }));
  if (!answer.SecretString) return {};
  let value: unknown;
  try {
    value = JSON.parse(answer.SecretString);
  } catch {
    throw new Error(
      'the Tagwarden secret is not JSON; expected {"slackWebhookUrl", "sources": {...}, "clusters": [...]}',
    );
  }
  return secretsFrom(value);
}

const SECRET_KEYS = ['slackWebhookUrl', 'slackRoutes', 'slackSigningSecret', 'sources', 'clusters'];
const SOURCE_KEYS = ['token', 'secret', 'header', 'open', 'registries'];

/** A source's other keys by type: every delivery reads them, so a wrong one would fail each delivery (`open` is ignored). */
const SOURCE_SHAPES: [string, (v: unknown) => boolean, string][] = [
  ['header', (v) => typeof v === 'string', 'a header name'],
  [
    'registries',
    (v) => Array.isArray(v) && v.every((h) => typeof h === 'string'),
    'a list of hosts such as ["harbor.example.com"]',
  ],
];

type Json = Record<string, unknown>;
const isObject = (value: unknown): value is Json =>
  typeof value === 'object' && value !== null && !Array.isArray(value);
/** A key as a message may show it: a plain name, or its length (a URL or token pasted as a key is a secret). */
export const shownKey = (key: string, quote = '') =>
  /^[#@]?[\w.-]{1,64}$/.test(key) ? `${quote}${key}${quote}` : `a key of ${key.length} characters`;

/**
 * The parsed secret (docs/aws.md, step 3), checked key by key: a misspelt key, a URL that is not one,
 * a token or key under 16 characters (guessable; the config file refuses them too) or a source's
 * `header` or `registries` of the wrong type stops the function with one line naming each,
 * never a value. `clusters` is checked by the functions that send bumps (clustersFrom). By hand, not with zod: a schema adds 3 to 5 KB to each bundle.
 */
export function secretsFrom(value: unknown): TagwardenSecrets {
  if (!isObject(value)) throw new Error('the Tagwarden secret is invalid: expected a JSON object');
  const problems = unknownKeys('the secret', value, SECRET_KEYS);
  const url = (key: string, v: unknown) => {
    if (typeof v !== 'string' || !/^https?:\/\/[^\s/]+/.test(v))
      problems.push(`${key}: expected an http:// or https:// URL`);
  };
  // An empty string is left out, as it was before the secret was checked: an upgrade keeps working.
  const credential = (key: string, v: unknown) => {
    if (v !== undefined && v !== '' && (typeof v !== 'string' || v.length < 16))
      problems.push(`${key}: must be a string of at least 16 characters (a short one is guessable)`);
  };
  if (value.slackWebhookUrl !== undefined && value.slackWebhookUrl !== '')
    url('slackWebhookUrl', value.slackWebhookUrl);
  for (const [owner, route] of entries('slackRoutes', value.slackRoutes, problems))
    url(`slackRoutes.${shownKey(owner)}`, route);
  credential('slackSigningSecret', value.slackSigningSecret);
  for (const [key, source] of entries('sources', value.sources, problems)) {
    const name = shownKey(key);
    if (!isObject(source)) {
      problems.push(`sources.${name}: expected an object such as {"token": "…"}`);
      continue;
    }
    problems.push(...unknownKeys(`sources.${name}`, source, SOURCE_KEYS));
    credential(`sources.${name}.token`, source.token);
    credential(`sources.${name}.secret`, source.secret);
    for (const [key, fits, what] of SOURCE_SHAPES)
      if (source[key] !== undefined && !fits(source[key]))
        problems.push(`sources.${name}.${key}: expected ${what}`);
  }
  if (problems.length > 0) throw new Error(`the Tagwarden secret is invalid: ${problems.join('; ')}`);
  return value as TagwardenSecrets;
}

function unknownKeys(where: string, value: Json, known: readonly string[]): string[] {
  const unknown = Object.keys(value).filter((key) => !known.includes(key));
  return unknown.length === 0
    ? []
    : [
        `${where}: unknown key ${unknown.map((k) => shownKey(k, '"')).join(', ')}; expected ${known.join(', ')}`,
      ];
}

/** The entries of an optional object key; anything but an object is a problem. */
function entries(key: string, value: unknown, problems: string[]): [string, unknown][] {
  if (value === undefined) return [];
  if (isObject(value)) return Object.entries(value);
  problems.push(`${key}: expected an object`);
  return [];
}
