import { Duration, Token } from 'aws-cdk-lib';
import { Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { Architecture, Runtime } from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction, type NodejsFunctionProps, OutputFormat } from 'aws-cdk-lib/aws-lambda-nodejs';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';
import {
  BUNDLED_POLICY_IDENTIFIER,
  ESM_REQUIRE_BANNER,
  LAMBDA_ALIASES,
  LAMBDA_NODE_TARGET,
  MAIN_FIELDS,
  SOURCE_MAPS_CONTEXT,
} from './lambda-bundling';

export interface TagwardenFunctionProps extends Omit<NodejsFunctionProps, 'entry' | 'logGroup'> {
  /** The handler file (functions/aws/<name>.ts); it exports `handler`. */
  entry: string;
  /** The deployed policy's JSON, built into the code (functions/aws/bundled-policy.ts), not the environment. */
  policyJson?: string;
}

/** Lambda's limit on all environment variables of a function together (keys and values). */
export const LAMBDA_ENVIRONMENT_LIMIT = 4096;
/** What a value CloudFormation fills in at deploy time (an ARN, a URL, a name) may take at the most. */
const UNRESOLVED_VALUE_BYTES = 256;

/** Fails synthesis with one line when a function's environment cannot fit Lambda's 4 KB. */
export function checkEnvironmentSize(id: string, environment: Record<string, string>): void {
  const sizes = Object.entries(environment).map(([key, value]) => ({
    key,
    bytes:
      Buffer.byteLength(key) +
      (Token.isUnresolved(value) ? UNRESOLVED_VALUE_BYTES : Buffer.byteLength(value)),
  }));
  const total = sizes.reduce((sum, { bytes }) => sum + bytes, 0);
  if (total <= LAMBDA_ENVIRONMENT_LIMIT) return;
  const largest = sizes.sort((a, b) => b.bytes - a.bytes)[0]!;
  throw new Error(
    `Lambda ${id}: its environment variables take about ${total} bytes, more than Lambda's ${LAMBDA_ENVIRONMENT_LIMIT} (the largest is ${largest.key}, ${largest.bytes} bytes)`,
  );
}

/**
 * Every Tagwarden Lambda with the same defaults: arm64, Node 24 (the newest Lambda Node runtime this
 * CDK knows, which is what cdk-nag's AwsSolutions-L1 asks for), 256 MB, 30 s, one ESM file minified
 * (source maps only with `-c sourceMaps=true`, see SOURCE_MAPS_CONTEXT), a log group kept one month,
 * always bundled with the local esbuild (never Docker).
 *
 * `externalModules: []` bundles everything, the AWS SDK v3 included, although the runtime ships one:
 * the SDK version is then the one in package-lock.json (tested) rather than whatever the runtime
 * carries that week, and esbuild keeps only the clients we import, from their ES modules. The default
 * credential chain is replaced by the environment provider (see functions/aws/lambda-credentials.ts).
 *
 * The role is our own rather than CDK's default with AWSLambdaBasicExecutionRole (which may create
 * any log group and write to all of them): it may write to this function's log group only.
 */
export class TagwardenFunction extends NodejsFunction {
  constructor(scope: Construct, id: string, props: TagwardenFunctionProps) {
    const logGroup = new LogGroup(scope, `${id}Logs`, { retention: RetentionDays.ONE_MONTH });
    const role =
      props.role ?? new Role(scope, `${id}Role`, { assumedBy: new ServicePrincipal('lambda.amazonaws.com') });
    const { policyJson, ...functionProps } = props;
    const sourceMaps = String(scope.node.tryGetContext(SOURCE_MAPS_CONTEXT)) === 'true';
    const environment = {
      POWERTOOLS_SERVICE_NAME: 'tagwarden',
      ...(sourceMaps ? { NODE_OPTIONS: '--enable-source-maps' } : {}),
      ...props.environment,
    };
    checkEnvironmentSize(id, environment);
    super(scope, id, {
      runtime: Runtime.NODEJS_24_X,
      architecture: Architecture.ARM_64,
      memorySize: 256,
      timeout: Duration.seconds(30),
      handler: 'handler',
      ...functionProps,
      role,
      logGroup,
      environment,
      bundling: {
        format: OutputFormat.ESM,
        target: LAMBDA_NODE_TARGET,
        minify: true,
        sourceMap: sourceMaps,
        mainFields: MAIN_FIELDS,
        externalModules: [],
        banner: ESM_REQUIRE_BANNER,
        esbuildArgs: { '--alias': Object.entries(LAMBDA_ALIASES).map(([from, to]) => `${from}=${to}`) },
        forceDockerBundling: false,
        ...(policyJson !== undefined
          ? { define: { [BUNDLED_POLICY_IDENTIFIER]: JSON.stringify(policyJson) } }
          : {}),
        ...props.bundling,
      },
    });
    logGroup.grantWrite(role);
  }
}
