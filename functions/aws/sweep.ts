import { DescribeImagesCommand, DescribeRepositoriesCommand, ECRClient } from '@aws-sdk/client-ecr';
import type { CloudFormationCustomResourceEvent, Context } from 'aws-lambda';
import { tagProblem } from '../../shared/core';
import { type ObservedTag, reconcile } from '../../shared/guard/sweep';
import { type AwsDependencies, awsDependencies } from './dependencies';
import { answerDeploy, isCustomResourceEvent } from './deploy-baseline';

/** Every tag of an ECR repository with the digest it serves (DescribeImages, all pages). */
export async function listEcrTags(
  client: ECRClient,
  registryId: string,
  repository: string,
): Promise<ObservedTag[]> {
  const tags: ObservedTag[] = [];
  let nextToken: string | undefined;
  do {
    const page = await client.send(
      new DescribeImagesCommand({
        registryId,
        repositoryName: repository,
        filter: { tagStatus: 'TAGGED' },
        maxResults: 1000,
        ...(nextToken ? { nextToken } : {}),
      }),
    );
    for (const image of page.imageDetails ?? []) {
      if (!image.imageDigest) continue;
      for (const tag of image.imageTags ?? []) {
        if (tagProblem(tag) === null)
          tags.push({ tag, digest: image.imageDigest, mediaType: image.imageManifestMediaType ?? null });
      }
    }
    nextToken = page.nextToken;
  } while (nextToken);
  return tags;
}

/** Every repository of the registry (DescribeRepositories, all pages): what a sweep covers by default. */
export async function listEcrRepositories(client: ECRClient, registryId: string): Promise<string[]> {
  const names: string[] = [];
  let nextToken: string | undefined;
  do {
    const page = await client.send(
      new DescribeRepositoriesCommand({ registryId, maxResults: 1000, ...(nextToken ? { nextToken } : {}) }),
    );
    for (const repository of page.repositories ?? [])
      if (repository.repositoryName) names.push(repository.repositoryName);
    nextToken = page.nextToken;
  } while (nextToken);
  return names;
}

/** account and region of this function, from its own ARN. */
export function registryOf(context: Pick<Context, 'invokedFunctionArn'>): {
  registryId: string;
  region: string;
  host: string;
} {
  const [, , , region = 'us-east-1', account = ''] = context.invokedFunctionArn.split(':');
  const suffix = region.startsWith('cn-') ? 'amazonaws.com.cn' : 'amazonaws.com';
  return { registryId: account, region, host: `${account}.dkr.ecr.${region}.${suffix}` };
}

/** What the sweep is asked to do: `outbox` (retries only), `baseline` (seed history), else a sweep. */
export interface SweepInput {
  task?: string;
}

/**
 * The scheduled run: `{ "task": "outbox" }` only runs due effects (retries); `{ "task": "baseline" }`
 * records the tags history has never seen as first seen, and nothing else (no effects, no retries:
 * as `tagwarden baseline` does locally), so the first overwrite after a deploy is detected; anything
 * else sweeps the configured repositories (none configured: every repository of the registry) for
 * differences events missed, then runs due effects.
 */
export async function handleSweep(
  deps: AwsDependencies,
  input: SweepInput | undefined,
  ecr: ECRClient,
  registry: { registryId: string; host: string },
  repositories: string[],
  now: () => Date = () => new Date(),
): Promise<{ checked: number; differences: number }> {
  let checked = 0;
  let differences = 0;
  if (input?.task !== 'outbox') {
    const swept =
      repositories.length > 0 ? repositories : await listEcrRepositories(ecr, registry.registryId);
    for (const repository of swept) {
      const observed = await listEcrTags(ecr, registry.registryId, repository);
      const report = await reconcile(
        deps,
        { registryHost: registry.host, repository },
        observed,
        now().toISOString(),
        { baseline: input?.task === 'baseline' },
      );
      checked += report.checked;
      differences += report.recorded.length;
    }
  }
  if (input?.task !== 'baseline') await deps.runner.runDue();
  deps.observer.flush();
  return { checked, differences };
}

export const handler = async (
  input: SweepInput | CloudFormationCustomResourceEvent | undefined,
  context: Context,
) => {
  const registry = registryOf(context);
  const repositories = (process.env.REPOSITORIES ?? '')
    .split(',')
    .map((r) => r.trim())
    .filter(Boolean);
  const sweep = async (task: SweepInput | undefined) =>
    handleSweep(
      await awsDependencies(),
      task,
      new ECRClient({ region: registry.region }),
      registry,
      repositories,
    );
  if (isCustomResourceEvent(input)) return answerDeploy(input, context, () => sweep({ task: 'baseline' }));
  return sweep(input);
};
