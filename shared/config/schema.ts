// biome-ignore-all lint/suspicious/noTemplateCurlyInString: ${VAR} in strings is the config syntax, not a template slip.
import * as z from 'zod';
import { SOURCE_PARSERS } from '../sources';
import { closest } from './closest';
import { ClustersSchema } from './cluster-schema';
import { AttemptsSchema, DefaultsSchema, RulesSchema } from './policy-schema';

export { toPolicy } from './policy-schema';

/**
 * The Tagwarden config file (`tagwarden.yaml`). Objects are strict: an unknown key (a typo such as
 * `acton:`) is an error, never silently ignored. `schema/tagwarden.schema.json` is generated from this
 * file (`shared/config/write-json-schema.ts`); editors use it for completion and checking.
 */

/** An http:// or https:// URL. */
function httpUrl(description: string) {
  return z
    .url({ protocol: /^https?$/, error: 'expected an http:// or https:// URL' })
    .regex(/^https?:\/\//, 'expected an http:// or https:// URL')
    .describe(description);
}

const SlackSchema = z
  .strictObject({
    webhookUrl: httpUrl(
      'Slack incoming-webhook URL for alerts. Keep it out of the file: write "${SLACK_WEBHOOK_URL}" to read it from the environment.',
    ),
    routes: z
      .record(
        z.string().min(1, 'an owner must not be empty'),
        httpUrl('Slack incoming-webhook URL for this owner.'),
      )
      .optional()
      .describe(
        'Per-owner webhook URLs (owner → URL), e.g. { "#payments": "${PAYMENTS_SLACK_URL}" }. Other owners use webhookUrl.',
      ),
    signingSecret: z
      .string()
      .min(16, 'a Slack signing secret is 32 characters; this one is too short to be one')
      .optional()
      .describe(
        'The Slack app\'s signing secret (Basic Information → App Credentials). When set, alerts carry Approve/Revert/Retry buttons and `serve` takes their clicks at POST /slack/actions. Write "${SLACK_SIGNING_SECRET}" to read it from the environment. See docs/slack.md.',
      ),
    responseUrlBase: z
      .url({ protocol: /^https?$/, error: 'expected an http:// or https:// URL' })
      .refine(
        (url) =>
          url.startsWith('https://') || /^http:\/\/(127\.\d+\.\d+\.\d+|localhost|\[::1\])[:/]/.test(url),
        {
          error: 'responseUrlBase must be https://, or http:// on a loopback address (for tests)',
        },
      )
      .optional()
      .describe(
        "Where a click's response_url may point; anything else is never posted to. Default https://hooks.slack.com/. Change it only for tests (http:// is accepted on loopback only).",
      ),
  })
  .describe('Send alerts to Slack.');

const NotifySchema = z
  .strictObject({ slack: SlackSchema.optional() })
  .describe('Where alerts go. Left out: alerts are printed to the console.');

/** `host[:port]`: a DNS name or IPv4 address, or a bracketed IPv6 address, with an optional port. */
const HOST_PORT = /^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?)(:[0-9]{1,5})?$/;

const SourceSchema = z
  .strictObject({
    token: z
      .string()
      .min(
        16,
        'a source token must be at least 16 characters: a short token is guessable, and anyone who guesses it can send forged registry events',
      )
      .optional()
      .describe(
        'Shared token the registry sends with each event; requests without it are rejected. It travels in a header (`Authorization: Bearer <token>`) for distribution, ecr, acr and harbor, in `X-JFrog-Event-Auth` for artifactory, and as the `token` query parameter of the webhook URL for dockerhub, quay, acr-eventgrid and gar, which cannot send headers. At least 16 characters. Use "${VAR}" to read it from the environment.',
      ),
    secret: z
      .string()
      .min(16, 'a signing secret must be at least 16 characters: a short secret is guessable')
      .optional()
      .describe(
        'HMAC-SHA256 key for sources that sign the body: ghcr (GitHub `X-Hub-Signature-256`) and artifactory (JFrog `X-JFrog-Event-Auth`). Requests with a missing or wrong signature are rejected. Use "${VAR}" to read it from the environment.',
      ),
    header: z
      .string()
      .regex(/^[A-Za-z0-9-]+$/, 'expected an HTTP header name (letters, digits and -)')
      .optional()
      .describe(
        "Header that carries the token instead of the source's default. `Authorization` expects the Bearer scheme (`Authorization: Bearer <token>`); any other header carries the token as is.",
      ),
    open: z
      .boolean()
      .optional()
      .describe(
        '`true`: accept this source without a token or secret (warned at start; `serve` then listens on loopback only). Leave it out and set a token or secret instead.',
      ),
    registries: z
      .array(
        z
          .string()
          .regex(HOST_PORT, 'expected a registry host such as registry.example.com or 127.0.0.1:5000'),
      )
      .optional()
      .describe(
        'Registry hosts (`host[:port]`) this source may report; an event naming another host is rejected. Left out: any host except a cloud registry of another source (ECR only from ecr, ACR from acr or acr-eventgrid, Artifact Registry from gar, ghcr.io from ghcr, docker.io from dockerhub).',
      ),
  })
  .refine((source) => source.token !== undefined || source.secret !== undefined || source.open === true, {
    error: 'set a token or secret for this source, or open: true to accept it without credentials',
  })
  .describe(
    'One enabled event source and how it authenticates its requests. A source not named here is not enabled (its webhook answers 404).',
  );

const KNOWN_SOURCES = [...SOURCE_PARSERS.keys()];

const SourcesSchema = z
  .record(
    z.string().superRefine((name, context) => {
      if (SOURCE_PARSERS.has(name)) return;
      const hint = closest(name, KNOWN_SOURCES);
      context.addIssue({
        code: 'custom',
        input: name,
        message: `unknown source${hint ? ` (did you mean "${hint}"?)` : ''}; known sources: ${KNOWN_SOURCES.join(', ')}`,
      });
    }),
    SourceSchema,
  )
  .describe(`Enabled event sources by name: ${KNOWN_SOURCES.join(', ')}.`);

const ApiSchema = z
  .strictObject({
    token: z
      .string()
      .min(16, 'an API token must be at least 16 characters: a short token is guessable')
      .optional()
      .describe(
        'Read token for `GET /api/tags`, sent as `Authorization: Bearer <token>`. Required when `serve` listens beyond loopback (--host). Use "${VAR}" to read it from the environment.',
      ),
  })
  .describe("The read API of `tagwarden serve` (a tag's digest history).");

const RegistrySchema = z
  .strictObject({
    url: httpUrl(
      'Base URL of the registry API, e.g. "https://registry.example.com" or "http://127.0.0.1:5000".',
    ),
    username: z.string().min(1).optional().describe('User name for basic authentication.'),
    password: z
      .string()
      .min(1)
      .optional()
      .describe('Password for basic authentication. Use "${VAR}" to read it from the environment.'),
    token: z
      .string()
      .min(1)
      .optional()
      .describe('Bearer token for the registry API. Use "${VAR}" to read it from the environment.'),
    tokenRealms: z
      .array(z.string().regex(HOST_PORT, 'expected a host such as auth.docker.io or 127.0.0.1:5001'))
      .optional()
      .describe(
        "Hosts of the registry's token server when it is not the registry's own host (e.g. auth.docker.io). Credentials are sent to no other token realm, and never from an https registry to an http realm.",
      ),
  })
  .describe('How Tagwarden reaches one registry (to read digests, lock and revert tags).');

const RegistriesSchema = z
  .record(
    z.string().regex(HOST_PORT, 'expected a registry host such as registry.example.com or 127.0.0.1:5000'),
    RegistrySchema,
  )
  .describe(
    'Registries by host[:port] as it appears in events (e.g. "127.0.0.1:5000"), with how to reach each one.',
  );

const EffectsSchema = z
  .strictObject({
    maxAttempts: z
      .number()
      .int()
      .min(1, 'expected at least 1')
      .max(100, 'expected at most 100')
      .default(8)
      .describe(
        'Attempts per effect (revert, lock, alert, cluster bump) before it fails for good (default 8).',
      ),
    backoffBaseMs: z
      .number()
      .int()
      .min(1, 'expected at least 1 ms')
      .max(3_600_000, 'expected at most 3600000 ms')
      .default(1000)
      .describe('First retry delay; doubled per attempt with jitter (default 1000).'),
    backoffMaxMs: z
      .number()
      .int()
      .min(1, 'expected at least 1 ms')
      .max(86_400_000, 'expected at most 86400000 ms')
      .default(300_000)
      .describe('Longest retry delay (default 300000, five minutes).'),
    alertWaitMs: z
      .number()
      .int()
      .min(0, 'expected at least 0 ms')
      .max(3_600_000, 'expected at most 3600000 ms')
      .default(5000)
      .describe(
        'How long after an overwrite its alert waits for the revert (default 5000). When the revert is not done by then, the alert goes out saying it is still being retried; a second alert follows only if the revert fails for good.',
      ),
  })
  .describe(
    'Retries of the effect outbox (reverts, locks, alerts, cluster bumps). With the defaults a failing effect is retried for one to two minutes (a revert first three times within 200 ms), then fails for good: it is alerted, listed by `tagwarden failed` and can be run again with `tagwarden retry`.',
  );

export const TagwardenConfigFile = z
  .strictObject({
    defaults: DefaultsSchema,
    rules: RulesSchema,
    attempts: AttemptsSchema,
    notify: NotifySchema.optional(),
    sources: SourcesSchema.optional(),
    api: ApiSchema.optional(),
    registries: RegistriesSchema.optional(),
    clusters: z.optional(ClustersSchema),
    effects: EffectsSchema.optional(),
  })
  .describe(
    'Tagwarden configuration: the tag policy, where alerts go, and how sources and registries authenticate.',
  );

export type TagwardenConfig = z.output<typeof TagwardenConfigFile>;
