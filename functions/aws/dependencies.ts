import { Metrics } from '@aws-lambda-powertools/metrics';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { ECRClient } from '@aws-sdk/client-ecr';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { ClusterSender } from '../../shared/adapters/cluster/sender';
import { alertChannel } from '../../shared/adapters/notify/channel';
import type { Notifier } from '../../shared/adapters/notify/port';
import {
  cachedRepositoryOwners,
  type RepositoryOwners,
  RepositoryOwnersNotifier,
} from '../../shared/adapters/notify/repository-owners';
import { EcrRegistry, ownersFromRepositoryTags } from '../../shared/adapters/registry/ecr';
import type { RegistryResolver } from '../../shared/adapters/registry/port';
import { builtOnce } from '../../shared/built-once';
import { clustersFrom } from '../../shared/config/cluster-schema';
import { policyFromJson } from '../../shared/config/policy-schema';
import { globMatches, type Policy } from '../../shared/core';
import { EffectRunner } from '../../shared/guard/effects';
import type { EventObserver } from '../../shared/guard/observer';
import { DynamoDbHistoryStore } from '../../shared/history/dynamodb';
import type { HistoryStore } from '../../shared/history/port';
import type { Logger } from '../../shared/log';
import { BUNDLED_POLICY } from './bundled-policy';
import { metricsObserver } from './metrics-observer';
import { log, readSecrets, type TagwardenSecrets } from './runtime';

export interface AwsDependencies {
  store: HistoryStore;
  policy: Policy;
  registries: RegistryResolver;
  notifier: Notifier;
  log: Logger;
  /** Counts what happens (CloudWatch metrics); flushed once per invocation. */
  observer: EventObserver;
  runner: EffectRunner;
  secrets: TagwardenSecrets;
}

export interface AwsEnvironment {
  TABLE_NAME?: string;
  SECRET_ARN?: string;
  POLICY?: string;
  AWS_REGION?: string;
}

/** `<account>.dkr.ecr.<region>.amazonaws.com(.cn)`: the hosts this deployment can act on. */
const ECR_HOST = /^(\d{12})\.dkr\.ecr\.([a-z0-9-]+)\.amazonaws\.com(?:\.cn)?$/;

/**
 * The policy is deployed as JSON (the stack converts and validates the YAML file at synth time, with
 * line and column errors), so the function carries no YAML parser. Validated again here.
 */
export function policyFrom(text: string | undefined): Policy {
  return policyFromJson(text, 'deploy it with the CDK stack, which converts the YAML file');
}

/**
 * Tags ECR must keep mutable when a repository is locked: the policy's `allow` tags. Our keep tags
 * need no slot: each is a new tag, and immutability only stops an existing tag from moving.
 */
export function mutableTagPatterns(policy: Policy, repository: string): string[] {
  const patterns = policy.rules
    .filter(
      (rule) =>
        rule.action === 'allow' &&
        rule.match.tag &&
        (!rule.match.repository || globMatches(rule.match.repository, repository)),
    )
    .map((rule) => rule.match.tag!.replaceAll('**', '*').replaceAll('?', '*'));
  return [...new Set(patterns)];
}

/** One ECR client per region, shared by the registry adapters and the owners lookup. */
export function ecrClients(): (region: string) => ECRClient {
  const clients = new Map<string, ECRClient>();
  return (region) => {
    let client = clients.get(region);
    if (!client) {
      client = new ECRClient({ region });
      clients.set(region, client);
    }
    return client;
  };
}

export function registriesFor(
  policy: Policy,
  region: string | undefined,
  clientFor: (region: string) => ECRClient = ecrClients(),
): RegistryResolver {
  const registries = new Map<string, EcrRegistry>();
  return (host) => {
    const match = ECR_HOST.exec(host);
    if (!match) return null;
    let registry = registries.get(host);
    if (!registry) {
      registry = new EcrRegistry({
        client: clientFor(match[2] ?? region ?? 'us-east-1'),
        registryId: match[1]!,
        mutableTagPatterns: (repository) => mutableTagPatterns(policy, repository),
        log,
      });
      registries.set(host, registry);
    }
    return registry;
  };
}

/** Owners from the repository's `tagwarden:owners` resource tag, for ECR hosts; [] for any other host. */
export function ecrRepositoryOwners(clientFor: (region: string) => ECRClient): RepositoryOwners {
  return async (ref) => {
    const match = ECR_HOST.exec(ref.registryHost);
    if (!match) return [];
    const [, account, region] = match as unknown as [string, string, string];
    const partition = ref.registryHost.endsWith('.cn') ? 'aws-cn' : 'aws';
    const arn = `arn:${partition}:ecr:${region}:${account}:repository/${ref.repository}`;
    return ownersFromRepositoryTags(clientFor(region), arn);
  };
}

export interface Overrides {
  dynamodb?: DynamoDBClient;
  secretsManager?: SecretsManagerClient;
  registries?: RegistryResolver;
  /** Where alerts go instead of Slack or the console (tests record them). */
  notifier?: Notifier;
  /** Where alerts' extra owners come from; by default ECR's `tagwarden:owners` repository tags. */
  repositoryOwners?: RepositoryOwners;
  env?: AwsEnvironment;
}

/** The composition root: built once per container (secrets read once), handlers receive it. */
export async function buildAwsDependencies(overrides: Overrides = {}): Promise<AwsDependencies> {
  const env = overrides.env ?? (process.env as AwsEnvironment);
  if (!env.TABLE_NAME) throw new Error('TABLE_NAME is not set');
  const policy = policyFrom(BUNDLED_POLICY ?? env.POLICY);
  const secrets = await readSecrets(overrides.secretsManager ?? new SecretsManagerClient({}), env.SECRET_ARN);
  const clusters = new ClusterSender(
    clustersFrom(secrets.clusters, "the Tagwarden secret's clusters are invalid"),
  );
  const store = new DynamoDbHistoryStore({
    client: overrides.dynamodb ?? new DynamoDBClient({}),
    tableName: env.TABLE_NAME,
  });
  if (!overrides.notifier && !secrets.slackWebhookUrl)
    log.warn(
      'the Tagwarden secret has no slackWebhookUrl: alerts go to this log; fill the secret to send them to Slack',
      { secret: env.SECRET_ARN ?? null },
    );
  const channel =
    overrides.notifier ??
    alertChannel({
      webhookUrl: secrets.slackWebhookUrl,
      routes: secrets.slackRoutes,
      signingSecret: secrets.slackSigningSecret,
    });
  const clientFor = ecrClients();
  const notifier = new RepositoryOwnersNotifier(
    channel,
    cachedRepositoryOwners(overrides.repositoryOwners ?? ecrRepositoryOwners(clientFor)),
    log,
  );
  const registries = overrides.registries ?? registriesFor(policy, env.AWS_REGION, clientFor);
  const observer = metricsObserver(new Metrics({ namespace: 'Tagwarden', serviceName: 'tagwarden' }));
  const runner = new EffectRunner({
    store,
    registries,
    notifier,
    log,
    policy,
    clusters,
    retryHint: (key) =>
      `Effect ${key} failed for good and stays in the DynamoDB history table; the Sweep function's every-minute outbox run retries only pending effects, so act on this one by hand (\`tagwarden retry\` serves the local SQLite history only).`,
    onSettled: (row, status) => observer.effectSettled(row.kind, status),
  });
  return { store, policy, registries, notifier, log, observer, runner, secrets };
}

/** Once per container; a failed build is tried again on the next invocation. */
export const awsDependencies = builtOnce(() => buildAwsDependencies());
