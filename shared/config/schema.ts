// biome-ignore-all lint/suspicious/noTemplateCurlyInString: ${VAR} in strings is the config syntax, not a template slip.
import * as z from 'zod';
import { DefaultsSchema, RulesSchema } from './policy-schema';

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
  })
  .describe('Send alerts to Slack.');

const NotifySchema = z
  .strictObject({ slack: SlackSchema.optional() })
  .describe('Where alerts go. Left out: alerts are printed to the console.');

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
  })
  .describe('How one event source authenticates its requests.');

const SourcesSchema = z
  .record(
    z
      .string()
      .regex(/^[a-z][a-z0-9-]*$/, 'expected a lowercase source name such as distribution, ecr or acr'),
    SourceSchema,
  )
  .describe(
    'Event sources by name: distribution, ecr, acr, or any other lowercase name (letters, digits, -).',
  );

/** `host[:port]`: a DNS name or IPv4 address, or a bracketed IPv6 address, with an optional port. */
const HOST_PORT = /^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?)(:[0-9]{1,5})?$/;

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

const CLUSTER_FORMATS = ['tagwarden', 'flux', 'keel'] as const;

const ClusterSchema = z
  .strictObject({
    name: z
      .string()
      .regex(
        /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/,
        'expected a cluster name of lowercase letters, digits and - (at most 63), such as prod-eu',
      )
      .describe('Name of the endpoint, used in logs, alerts and `tagwarden retry` keys.'),
    url: httpUrl(
      'Where bumps are POSTed: the agent (`tagwarden agent`), a Flux Receiver URL (`http://notification-controller/hook/…`) or Keel (`http://keel:9300/v1/webhooks/native`). Redirects are never followed.',
    ),
    format: z
      .enum(CLUSTER_FORMATS, { error: `expected one of ${CLUSTER_FORMATS.join('|')}` })
      .default('tagwarden')
      .describe(
        "tagwarden: the signed contract body (X-Tagwarden-Signature, X-Tagwarden-Timestamp). flux: a notification-controller generic-hmac Receiver (X-Signature). keel: Keel's native webhook {name, tag}.",
      ),
    secret: z
      .string()
      .min(16, 'a cluster secret must be at least 16 characters: a short secret is guessable')
      .optional()
      .describe(
        'HMAC-SHA256 key shared with the receiver (tagwarden: the agent\'s secret; flux: the Receiver\'s token); for keel, the basic-auth password. Use "${VAR}" to read it from the environment.',
      ),
    username: z
      .string()
      .min(1)
      .optional()
      .describe("keel only: basic-auth user (Keel's BASIC_AUTH_USER); the password is `secret`."),
    repositories: z
      .array(z.string().min(1, 'a repository glob must not be empty'))
      .min(1, 'list at least one repository glob, or leave the key out to send every bump')
      .optional()
      .describe(
        'Repository globs this cluster runs (e.g. ["payments/*"]); only their bumps are sent. Left out: every bump.',
      ),
    timeoutMs: z
      .number()
      .int()
      .min(100, 'expected at least 100 ms')
      .max(60_000, 'expected at most 60000 ms')
      .default(5000)
      .describe('How long one call may take before it counts as failed and is retried (default 5000).'),
  })
  .superRefine((cluster, context) => {
    if (cluster.format !== 'keel' && cluster.secret === undefined)
      context.addIssue({
        code: 'custom',
        path: ['secret'],
        message: `format ${cluster.format} signs every call: set secret (e.g. "\${${cluster.name.toUpperCase().replace(/-/g, '_')}_CLUSTER_SECRET}")`,
      });
    if (cluster.format !== 'keel' && cluster.username !== undefined)
      context.addIssue({ code: 'custom', path: ['username'], message: 'username is for format keel only' });
    if (cluster.format === 'keel' && (cluster.username === undefined) !== (cluster.secret === undefined))
      context.addIssue({
        code: 'custom',
        path: [cluster.username === undefined ? 'username' : 'secret'],
        message: 'keel basic auth needs both username and secret (or neither)',
      });
  })
  .describe('One cluster endpoint told when the digest a tag serves changes (rules with bump: true).');

const ClustersSchema = z
  .array(ClusterSchema)
  .superRefine(
    (clusters, context) => {
      const seen = new Set<string>();
      clusters.forEach((cluster: { name?: unknown } | undefined, index) => {
        const name = cluster?.name;
        if (typeof name !== 'string') return;
        if (seen.has(name))
          context.addIssue({
            code: 'custom',
            path: [index, 'name'],
            message: `cluster name "${name}" is used twice; names must be unique`,
          });
        seen.add(name);
      });
    },
    // Also when another entry has a mistake, so every error is reported in one go.
    { when: (payload) => Array.isArray(payload.value) },
  )
  .describe(
    'Cluster endpoints told when a tag with bump: true moves or is reverted, each on its own with retries.',
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
  })
  .describe(
    'Retries of the effect outbox (reverts, locks, alerts, cluster bumps). With the defaults a failing effect is retried for one to two minutes, then fails for good: it is alerted, listed by `tagwarden failed` and can be run again with `tagwarden retry`.',
  );

export const TagwardenConfigFile = z
  .strictObject({
    defaults: DefaultsSchema,
    rules: RulesSchema,
    notify: NotifySchema.optional(),
    sources: SourcesSchema.optional(),
    registries: RegistriesSchema.optional(),
    clusters: ClustersSchema.optional(),
    effects: EffectsSchema.optional(),
  })
  .describe(
    'Tagwarden configuration: the tag policy, where alerts go, and how sources and registries authenticate.',
  );

export type TagwardenConfig = z.output<typeof TagwardenConfigFile>;
