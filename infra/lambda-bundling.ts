/**
 * How every Tagwarden Lambda is bundled, in one place: `TagwardenFunction` hands these to CDK's
 * NodejsFunction (esbuild), and `npm run bench` builds with the same settings to report the sizes
 * and load times of what is deployed.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';

/** The newest Lambda Node runtime this CDK knows; cdk-nag's AwsSolutions-L1 asks for it. */
export const LAMBDA_NODE_TARGET = 'node24';

/** ESM bundles have no `require`; some CommonJS dependencies inside the bundle still call it. */
export const ESM_REQUIRE_BANNER =
  "import { createRequire } from 'module'; const require = createRequire(import.meta.url);";

/** ES modules first: smaller bundles, and tree-shaking for the SDK clients. */
export const MAIN_FIELDS = ['module', 'main'];

/**
 * Module replacements, relative to the project root (esbuild resolves an alias in its working
 * directory, which for NodejsFunction is the project root). See functions/aws/lambda-credentials.ts.
 */
export const LAMBDA_ALIASES: Record<string, string> = {
  '@aws-sdk/credential-provider-node': './functions/aws/lambda-credentials.ts',
  'better-sqlite3': './functions/aws/no-sqlite.ts',
  // Parts of the AWS SDK the functions' clients never need (see each file): about 20 KB a bundle.
  '@smithy/core/event-streams': './functions/aws/sdk-stubs/event-streams.ts',
  '@smithy/core/checksum': './functions/aws/sdk-stubs/checksum.ts',
  'mnemonist/lru-cache': './functions/aws/sdk-stubs/lru-cache.ts',
  '@aws/lambda-invoke-store': './functions/aws/sdk-stubs/invoke-store.ts',
  ...powertoolsCommonsAliases(),
};

/**
 * The Powertools packages at different versions each carry their own `commons` (logger and metrics
 * nest one, batch uses the top-level one): one copy in the bundle instead of three, about 3 KB. Every
 * `@aws-lambda-powertools/commons` import (each subpath its ES module file, from the copy's exports
 * map) goes to the newest copy installed. With one copy, or copies of different major versions
 * (whose APIs may differ), nothing changes.
 */
function powertoolsCommonsAliases(root = 'node_modules/@aws-lambda-powertools'): Record<string, string> {
  const commons = '@aws-lambda-powertools/commons';
  const copies = [
    `${root}/commons`,
    ...readdirIfAny(root).map((pkg) => `${root}/${pkg}/node_modules/${commons}`),
  ]
    .filter((dir) => existsSync(`${dir}/package.json`))
    .map((dir) => ({ dir, manifest: JSON.parse(readFileSync(`${dir}/package.json`, 'utf8')) }));
  const versions = new Set(copies.map(({ manifest }) => manifest.version as string));
  const majors = new Set([...versions].map((version) => version.split('.')[0]));
  if (versions.size < 2 || majors.size > 1) return {};
  const newest = copies.sort((a, b) => compareVersions(b.manifest.version, a.manifest.version))[0]!;
  const exports = newest.manifest.exports as Record<string, { import?: string | { default?: string } }>;
  return Object.fromEntries(
    Object.entries(exports).flatMap(([subpath, conditions]) => {
      const file = typeof conditions.import === 'string' ? conditions.import : conditions.import?.default;
      return file ? [[`${commons}${subpath.slice(1)}`, `./${newest.dir}/${file.replace(/^\.\//, '')}`]] : [];
    }),
  );
}

function readdirIfAny(dir: string): string[] {
  return existsSync(dir) ? readdirSync(dir) : [];
}

function compareVersions(a: string, b: string): number {
  const [x, y] = [a, b].map((v) => v.split(/[.-]/).map(Number));
  for (let i = 0; i < 3; i++) if (x![i] !== y![i]) return (x![i] ?? 0) - (y![i] ?? 0);
  return 0;
}

/**
 * Context flag (`cdk deploy -c sourceMaps=true`) that ships each bundle with its source map and sets
 * `NODE_OPTIONS=--enable-source-maps`, so stack traces name the TypeScript files. Off by default:
 * Node then reads and maps every bundle at start, which costs each cold start tens of milliseconds.
 */
export const SOURCE_MAPS_CONTEXT = 'sourceMaps';

/** The identifier functions/aws/bundled-policy.ts reads: esbuild replaces it with the policy's JSON. */
export const BUNDLED_POLICY_IDENTIFIER = '__TAGWARDEN_POLICY__';

/**
 * Issue 12's size targets for the deployed bundles, in KB (1024 bytes), by the function's logical id
 * prefix. `npm run bench -- lambda` reports each bundle against them.
 */
export const BUNDLE_SIZE_TARGET_KB: Readonly<Record<string, number>> = {
  Webhook: 250,
  // Slack's clicks and agents' drift reports: a DynamoDB function like the consumer and the sweep.
  Interactions: 300,
  EcrEvents: 300,
  Sweep: 300,
};

/**
 * What a bundle may not grow past (the cdk-stack test fails beyond it): the target where it is met,
 * otherwise the size the bundle has come down to, so that it only grows when a feature needs it (the
 * digest-delete alert and the attempt window added 3 KB to the consumer and the sweep, the digest index on
 * DynamoDB 3 KB more) and says so here.
 * The consumer and the sweep still carry the Powertools logger and metrics (about 30 KB), the next cut
 * towards 300 KB. Code on their path imports shared/sources' files, never its barrel: the barrel's
 * parser registry would bring every registry's parser (22–33 KB). Agents' drift reports are
 * recorded where they are received (a replay must be answered 409 at once, atomically with the
 * recording), by the Interactions function with Slack's clicks, so the registry webhook keeps no
 * DynamoDB client. Every function checks the Tagwarden secret's keys when it reads it (a misspelt key,
 * a guessable token, a source's keys by type: functions/aws/runtime.ts, by hand since a zod schema
 * cost 3 to 5 KB), about 1.5 KB each: the webhook passes its 250 KB target by that much.
 */
export const BUNDLE_SIZE_CEILING_KB: Readonly<Record<string, number>> = {
  Webhook: 252,
  // Slack's clicks and agents' drift reports (issues 15 and 16) act on the history: the DynamoDB
  // client, the store and the drift log, on a Function URL of their own.
  Interactions: 383,
  EcrEvents: 370,
  Sweep: 353,
};
