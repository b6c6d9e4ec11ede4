/**
 * CloudFormation's part of the AWS rehearsal: a synthesized template "deployed" on loopback stand-ins.
 * Every value is read from the template: the table is created in DynamoDB Local from its properties,
 * the secret in the Secrets Manager stand-in as CloudFormation would create it (a `GenerateSecretString`
 * becomes a generated password, as it does on AWS), the queues in the SQS stand-in, and each function
 * becomes a `DeployedFunction` (handler, code folder in `cdk.out`, environment with every `Ref`,
 * `Fn::GetAtt`, `Fn::Join` and `Fn::Sub` resolved). A resource type the rehearsal has no stand-in
 * for fails the deploy with its name, so a template change cannot slip past it unread.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  CreateTableCommand,
  type CreateTableCommandInput,
  type DynamoDBClient,
  UpdateTimeToLiveCommand,
} from '@aws-sdk/client-dynamodb';
import type { FakeSecretsManager } from '../support/fake-secrets-manager';
import type { FakeSqs } from '../support/fake-sqs';
import type { DeployedFunction } from './aws-lambda';

// biome-ignore lint/suspicious/noExplicitAny: a CloudFormation template is untyped JSON.
export type Properties = Record<string, any>;
export interface CfnResource {
  Type: string;
  Properties?: Properties;
  DeletionPolicy?: string;
}
export interface CfnTemplate {
  Resources: Record<string, CfnResource>;
  Outputs?: Record<string, { Value: unknown; Description?: string }>;
}

/** CloudFormation's custom-resource request for a Create. */
export interface CustomResourceCreateEvent {
  RequestType: 'Create';
  ServiceToken: string;
  ResponseURL: string;
  StackId: string;
  RequestId: string;
  LogicalResourceId: string;
  ResourceType: string;
  ResourceProperties: Record<string, unknown>;
}

export interface StandIns {
  dynamodb: DynamoDBClient;
  sqs: FakeSqs;
  secretsManager: FakeSecretsManager;
}

/** The one `<stack>.template.json` of a cloud assembly, with the stack's name. */
export function readAssembly(outDir: string): { stackName: string; template: CfnTemplate } {
  const files = readdirSync(outDir).filter((f) => f.endsWith('.template.json'));
  if (files.length !== 1) throw new Error(`expected one template in ${outDir}, found ${files.join(', ')}`);
  const template = JSON.parse(readFileSync(join(outDir, files[0]!), 'utf8')) as CfnTemplate;
  return { stackName: files[0]!.replace(/\.template\.json$/, ''), template };
}

/** The logical id a `Ref` or `Fn::GetAtt` names. */
export function logicalId(value: unknown): string {
  const v = value as { Ref?: string; 'Fn::GetAtt'?: [string, string] | string };
  const getAtt = v['Fn::GetAtt'];
  const id = v.Ref ?? (typeof getAtt === 'string' ? getAtt.split('.')[0] : getAtt?.[0]);
  if (!id) throw new Error(`not a reference: ${JSON.stringify(value)}`);
  return id;
}

/** EventBridge's matching for the pattern forms the stack uses: lists of values, nested objects. */
export function matchesPattern(pattern: Properties, event: Properties): boolean {
  return Object.entries(pattern).every(([key, wanted]) =>
    Array.isArray(wanted)
      ? wanted.includes(event[key])
      : typeof event[key] === 'object' && event[key] !== null && matchesPattern(wanted, event[key]),
  );
}

export class RehearsedStack {
  readonly resources: [string, CfnResource][];
  private readonly secretArns = new Map<string, string>();
  private readonly queueUrls = new Map<string, string>();

  constructor(
    readonly template: CfnTemplate,
    readonly outDir: string,
    readonly env: { stackName: string; account: string; region: string },
    private readonly standIns: StandIns,
  ) {
    this.resources = Object.entries(template.Resources);
  }

  ofType(type: string): [string, CfnResource][] {
    return this.resources.filter(([, r]) => r.Type === type);
  }

  /** The one resource of a type: its logical id and properties. */
  one(type: string): { id: string; properties: Properties } {
    const found = this.ofType(type);
    if (found.length !== 1) throw new Error(`expected one ${type} in the template, found ${found.length}`);
    return { id: found[0]![0], properties: found[0]![1].Properties ?? {} };
  }

  resource(id: string): CfnResource {
    const found = this.template.Resources[id];
    if (!found) throw new Error(`the template has no resource ${id}`);
    return found;
  }

  /** Creates what CloudFormation would: secrets, queues and tables. */
  async deploy(): Promise<void> {
    for (const [id, secret] of this.ofType('AWS::SecretsManager::Secret')) {
      const p = secret.Properties ?? {};
      // As CloudFormation does: the given string, else a generated password (never JSON).
      const value =
        p.SecretString !== undefined ? this.resolve(p.SecretString) : randomBytes(24).toString('base64url');
      this.secretArns.set(id, this.standIns.secretsManager.create(this.secretName(id), value));
    }
    for (const [id] of this.ofType('AWS::SQS::Queue'))
      this.queueUrls.set(id, this.standIns.sqs.createQueue(this.physicalName(id, 'QueueName')));
    for (const [id, table] of this.ofType('AWS::DynamoDB::Table'))
      await this.createTable(id, table.Properties ?? {});
  }

  secretName(id: string): string {
    const name = this.resource(id).Properties?.Name;
    return name !== undefined ? this.resolve(name) : `${id}-${this.env.stackName}`;
  }

  private async createTable(id: string, p: Properties): Promise<void> {
    const name = this.physicalName(id, 'TableName');
    const input: CreateTableCommandInput = {
      TableName: name,
      KeySchema: p.KeySchema,
      AttributeDefinitions: p.AttributeDefinitions,
      BillingMode: p.BillingMode,
      ...(p.GlobalSecondaryIndexes ? { GlobalSecondaryIndexes: p.GlobalSecondaryIndexes } : {}),
      ...(p.ProvisionedThroughput ? { ProvisionedThroughput: p.ProvisionedThroughput } : {}),
      ...(p.StreamSpecification ? { StreamSpecification: p.StreamSpecification } : {}),
    };
    await this.standIns.dynamodb.send(new CreateTableCommand(input));
    if (p.TimeToLiveSpecification)
      await this.standIns.dynamodb.send(
        new UpdateTimeToLiveCommand({ TableName: name, TimeToLiveSpecification: p.TimeToLiveSpecification }),
      );
  }

  /** The name CloudFormation gives a resource: its own property, else one made of stack and logical id. */
  private physicalName(id: string, property: string): string {
    const given = this.resource(id).Properties?.[property];
    return given !== undefined ? this.resolve(given) : `${this.env.stackName}-${id}-REHEARSAL`;
  }

  private arn(service: string, resource: string): string {
    return `arn:aws:${service}:${this.env.region}:${this.env.account}:${resource}`;
  }

  /** What `Ref` answers for a resource. */
  ref(id: string): string {
    const type = this.resource(id).Type;
    switch (type) {
      case 'AWS::DynamoDB::Table':
        return this.physicalName(id, 'TableName');
      case 'AWS::SecretsManager::Secret':
        return this.secretArns.get(id) ?? fail(`secret ${id} is not deployed`);
      case 'AWS::SQS::Queue':
        return this.queueUrls.get(id) ?? fail(`queue ${id} is not deployed`);
      case 'AWS::Lambda::Function':
        return this.physicalName(id, 'FunctionName');
      case 'AWS::Lambda::Version': {
        // The version's ARN; its FunctionName may be a name or an ARN.
        const fn = this.resolve(this.resource(id).Properties?.FunctionName);
        return `${fn.startsWith('arn:') ? fn : this.arn('lambda', `function:${fn}`)}:1`;
      }
      default:
        throw new Error(`the rehearsal has no stand-in for Ref of ${type} (${id})`);
    }
  }

  /** What `Fn::GetAtt` answers. */
  attribute(id: string, name: string): string {
    const type = this.resource(id).Type;
    const key = `${type}.${name}`;
    switch (key) {
      case 'AWS::DynamoDB::Table.Arn':
        return this.arn('dynamodb', `table/${this.ref(id)}`);
      case 'AWS::SQS::Queue.Arn':
        return this.standIns.sqs.arnOf(this.ref(id));
      case 'AWS::SQS::Queue.QueueName':
        return this.ref(id).split('/').pop()!;
      case 'AWS::Lambda::Function.Arn':
        return this.arn('lambda', `function:${this.ref(id)}`);
      case 'AWS::Lambda::Url.FunctionUrl':
        return `https://${id.toLowerCase()}.lambda-url.${this.env.region}.on.aws/`;
      case 'AWS::IAM::Role.Arn':
        return `arn:aws:iam::${this.env.account}:role/${this.env.stackName}-${id}`;
      default:
        throw new Error(`the rehearsal has no stand-in for Fn::GetAtt ${key} (${id})`);
    }
  }

  /** A template value (literal or intrinsic function) as CloudFormation resolves it. */
  resolve(value: unknown): string {
    if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean')
      return String(value);
    const v = value as Properties;
    if (typeof v?.Ref === 'string') return this.pseudo(v.Ref) ?? this.ref(v.Ref);
    if (v?.['Fn::GetAtt']) {
      const [id, name] = typeof v['Fn::GetAtt'] === 'string' ? v['Fn::GetAtt'].split('.') : v['Fn::GetAtt'];
      return this.attribute(id, name);
    }
    if (v?.['Fn::Join']) {
      const [separator, parts] = v['Fn::Join'] as [string, unknown[]];
      return parts.map((part) => this.resolve(part)).join(separator);
    }
    if (v?.['Fn::Sub'] !== undefined) {
      const [text, vars = {}] = typeof v['Fn::Sub'] === 'string' ? [v['Fn::Sub'], {}] : v['Fn::Sub'];
      return (text as string).replace(/\$\{([^}]+)\}/g, (_, name: string) => {
        if (name in vars) return this.resolve(vars[name]);
        const [id, attr] = name.split('.');
        return attr ? this.attribute(id!, attr) : (this.pseudo(id!) ?? this.ref(id!));
      });
    }
    throw new Error(`the rehearsal cannot resolve ${JSON.stringify(value)}`);
  }

  /** Resource properties as CloudFormation hands them to a provider: resolved, scalars as strings. */
  resolveDeep(value: unknown): unknown {
    if (Array.isArray(value)) return value.map((v) => this.resolveDeep(v));
    if (
      value !== null &&
      typeof value === 'object' &&
      !Object.keys(value).some((k) => k === 'Ref' || k.startsWith('Fn::'))
    )
      return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, this.resolveDeep(v)]));
    return this.resolve(value);
  }

  /**
   * Every custom resource (`Custom::*`, `AWS::CloudFormation::CustomResource`) whose ServiceToken is
   * one of the functions, with the Create event CloudFormation sends it on the stack's first deploy.
   */
  customResources(
    functions: DeployedFunction[],
    responseUrl: (requestId: string) => string,
  ): { id: string; type: string; fn: DeployedFunction; event: CustomResourceCreateEvent }[] {
    const stackId = this.arn('cloudformation', `stack/${this.env.stackName}/${randomUUID()}`);
    return this.resources
      .filter(([, r]) => r.Type.startsWith('Custom::') || r.Type === 'AWS::CloudFormation::CustomResource')
      .flatMap(([id, r]) => {
        const properties = this.resolveDeep(r.Properties ?? {}) as Record<string, unknown>;
        const fn = functions.find((f) => f.arn === properties.ServiceToken);
        if (!fn) return [];
        const requestId = randomUUID();
        const event: CustomResourceCreateEvent = {
          RequestType: 'Create',
          ServiceToken: fn.arn,
          ResponseURL: responseUrl(requestId),
          StackId: stackId,
          RequestId: requestId,
          LogicalResourceId: id,
          ResourceType: r.Type,
          ResourceProperties: properties,
        };
        return [{ id, type: r.Type, fn, event }];
      });
  }

  private pseudo(name: string): string | undefined {
    const values: Record<string, string> = {
      'AWS::Region': this.env.region,
      'AWS::AccountId': this.env.account,
      'AWS::Partition': 'aws',
      'AWS::URLSuffix': 'amazonaws.com',
      'AWS::StackName': this.env.stackName,
    };
    return values[name];
  }

  /**
   * Every function of the template whose code CDK staged in `cdk.out` (inline code, as some CDK
   * providers use, has no bundle to import), as Lambda would run it.
   */
  functions(): DeployedFunction[] {
    return this.ofType('AWS::Lambda::Function').flatMap(([id, fn]) => {
      const p = fn.Properties ?? {};
      const key = p.Code?.S3Key;
      if (typeof key !== 'string') return [];
      const codeDir = join(this.outDir, `asset.${key.replace(/\.zip$/, '')}`);
      if (!existsSync(codeDir)) throw new Error(`function ${id}: no asset ${codeDir} in the cloud assembly`);
      const variables = (p.Environment?.Variables ?? {}) as Record<string, unknown>;
      return [
        {
          id,
          name: this.ref(id),
          arn: this.attribute(id, 'Arn'),
          handler: p.Handler,
          codeDir,
          environment: Object.fromEntries(
            Object.entries(variables).map(([k, value]) => [k, this.resolve(value)]),
          ),
          timeoutSeconds: p.Timeout ?? 3,
          memoryMb: p.MemorySize ?? 128,
        },
      ];
    });
  }
}

function fail(message: string): never {
  throw new Error(message);
}
