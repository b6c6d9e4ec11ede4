// biome-ignore-all lint/suspicious/noTemplateCurlyInString: ${VAR} in strings is the config syntax, not a template slip.
import * as z from 'zod/mini';
import { CLUSTER_FORMATS, type ClusterEndpoint } from '../contracts/cluster-bump/endpoint';
import '../zod-english';

/**
 * The `clusters` part of the config file, written with zod/mini like the policy (`policy-schema.ts`):
 * the cloud functions validate the cluster list of their secret (AWS) or app setting (Azure) with it,
 * without classic zod in their bundles. `schema.ts` builds the whole file (and its JSON Schema) on it.
 */

const HTTP_URL = 'expected an http:// or https:// URL';

const ClusterSchema = z
  .strictObject({
    name: z
      .string()
      .check(
        z.regex(
          /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/,
          'expected a cluster name of lowercase letters, digits and - (at most 63), such as prod-eu',
        ),
        z.describe('Name of the endpoint, used in logs, alerts and `tagwarden retry` keys.'),
      ),
    url: z
      .url({ protocol: /^https?$/, error: HTTP_URL })
      .check(
        z.regex(/^https?:\/\//, HTTP_URL),
        z.describe(
          'Where bumps are POSTed: the agent (`tagwarden agent`), a Flux Receiver URL (`http://notification-controller/hook/…`) or Keel (`http://keel:9300/v1/webhooks/native`). Redirects are never followed.',
        ),
      ),
    format: z
      ._default(
        z.enum(CLUSTER_FORMATS, { error: `expected one of ${CLUSTER_FORMATS.join('|')}` }),
        'tagwarden',
      )
      .check(
        z.describe(
          "tagwarden: the signed contract body (X-Tagwarden-Signature, X-Tagwarden-Timestamp). flux: a notification-controller generic-hmac Receiver (X-Signature). keel: Keel's native webhook {name, tag}.",
        ),
      ),
    secret: z
      .optional(
        z
          .string()
          .check(
            z.minLength(16, 'a cluster secret must be at least 16 characters: a short secret is guessable'),
          ),
      )
      .check(
        z.describe(
          'HMAC-SHA256 key shared with the receiver (tagwarden: the agent\'s secret; flux: the Receiver\'s token); for keel, the basic-auth password. Use "${VAR}" to read it from the environment.',
        ),
      ),
    username: z
      .optional(z.string().check(z.minLength(1)))
      .check(z.describe("keel only: basic-auth user (Keel's BASIC_AUTH_USER); the password is `secret`.")),
    repositories: z
      .optional(
        z
          .array(z.string().check(z.minLength(1, 'a repository glob must not be empty')))
          .check(
            z.minLength(1, 'list at least one repository glob, or leave the key out to send every bump'),
          ),
      )
      .check(
        z.describe(
          'Repository globs this cluster runs (e.g. ["payments/*"]); only their bumps are sent. Left out: every bump.',
        ),
      ),
    timeoutMs: z
      ._default(
        z
          .number()
          .check(z.int(), z.gte(100, 'expected at least 100 ms'), z.lte(60_000, 'expected at most 60000 ms')),
        5000,
      )
      .check(
        z.describe('How long one call may take before it counts as failed and is retried (default 5000).'),
      ),
  })
  .check(
    z.superRefine((cluster, context) => {
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
    }),
    z.describe('One cluster endpoint told when the digest a tag serves changes (rules with bump: true).'),
  );

export const ClustersSchema = z.array(ClusterSchema).check(
  z.superRefine(
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
  ),
  z.describe(
    'Cluster endpoints told when a tag with bump: true moves or is reverted, each on its own with retries.',
  ),
);

/** `clusters[0].url`, `clusters[1]`: where an issue is, as the config file's errors say it. */
function issuePath(path: readonly PropertyKey[]): string {
  let out = 'clusters';
  for (const key of path) {
    if (typeof key === 'number') out += `[${key}]`;
    else if (typeof key === 'string')
      out += /^[A-Za-z_][A-Za-z0-9_]*$/.test(key) ? `.${key}` : `[${JSON.stringify(key)}]`;
  }
  return out;
}

function issueText(issue: z.core.$ZodIssue): string {
  if (issue.code === 'unrecognized_keys')
    return `unknown key${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => `"${k}"`).join(', ')}`;
  if (issue.code === 'invalid_type' && issue.input === undefined) return `is required (${issue.expected})`;
  return issue.message;
}

/**
 * The cluster endpoints a cloud function sends bumps to, from its secret's `clusters` key (AWS) or the
 * TAGWARDEN_CLUSTERS app setting (Azure), already parsed from JSON; left out means none. Invalid: one
 * line, `<invalid>: clusters[0].url: …; clusters[1].secret: …` (never a value: they hold secrets).
 */
export function clustersFrom(value: unknown, invalid: string): ClusterEndpoint[] {
  if (value === undefined || value === null) return [];
  const parsed = ClustersSchema.safeParse(value, { reportInput: true });
  if (parsed.success) return parsed.data;
  const problems = parsed.error.issues.map((issue) => `${issuePath(issue.path)}: ${issueText(issue)}`);
  // One value can fail two checks with the same message (a URL's format and its http(s) pattern).
  throw new Error(`${invalid}: ${[...new Set(problems)].join('; ')}`);
}
