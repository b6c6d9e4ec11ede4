/**
 * A stand-in for AWS Secrets Manager (awsJson1_1, `secretsmanager.<Operation>`) on 127.0.0.1:
 * GetSecretValue and PutSecretValue, by name or ARN, as the functions and the AWS CLI call them.
 *
 *   const secrets = await startFakeSecretsManager({ account, region });
 *   const arn = secrets.create('Tagwarden/secrets', '{}');   // as CloudFormation creates it
 *   secrets.valueOf('Tagwarden/secrets');                    // what it holds now
 */
import { randomUUID } from 'node:crypto';
import { AwsJsonError, type AwsJsonService, startAwsJsonService } from './fake-aws-json';

export interface FakeSecretsManager {
  service: AwsJsonService;
  endpoint: string;
  /** Creates the secret with this value; returns its ARN (the name and a random suffix, as AWS does). */
  create(name: string, value: string): string;
  valueOf(nameOrArn: string): string | undefined;
  stop(): Promise<void>;
}

export async function startFakeSecretsManager(options: {
  account: string;
  region: string;
}): Promise<FakeSecretsManager> {
  const secrets = new Map<string, { arn: string; name: string; value: string; version: string }>();
  const find = (id: unknown) => {
    const secret = [...secrets.values()].find((s) => s.name === id || s.arn === id);
    if (!secret)
      throw new AwsJsonError('ResourceNotFoundException', "Secrets Manager can't find the specified secret.");
    return secret;
  };
  const service = await startAwsJsonService('1.1', {
    GetSecretValue: (input: { SecretId: string }) => {
      const { arn, name, value, version } = find(input.SecretId);
      return { ARN: arn, Name: name, SecretString: value, VersionId: version, VersionStages: ['AWSCURRENT'] };
    },
    PutSecretValue: (input: { SecretId: string; SecretString?: string }) => {
      const secret = find(input.SecretId);
      if (typeof input.SecretString !== 'string')
        throw new AwsJsonError('InvalidParameterException', 'SecretString is required here');
      secret.value = input.SecretString;
      secret.version = randomUUID();
      return { ARN: secret.arn, Name: secret.name, VersionId: secret.version, VersionStages: ['AWSCURRENT'] };
    },
  });
  return {
    service,
    endpoint: service.endpoint,
    create: (name, value) => {
      const suffix = randomUUID().replace(/-/g, '').slice(0, 6);
      const arn = `arn:aws:secretsmanager:${options.region}:${options.account}:secret:${name}-${suffix}`;
      secrets.set(name, { arn, name, value, version: randomUUID() });
      return arn;
    },
    valueOf: (id) => [...secrets.values()].find((s) => s.name === id || s.arn === id)?.value,
    stop: () => service.stop(),
  };
}
