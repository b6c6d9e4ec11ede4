import { Duration } from 'aws-cdk-lib';
import { Architecture, Runtime } from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction, type NodejsFunctionProps, OutputFormat } from 'aws-cdk-lib/aws-lambda-nodejs';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';

export interface TagwardenFunctionProps extends Omit<NodejsFunctionProps, 'entry'> {
  /** The handler file under functions/aws/. */
  entry: string;
}

/**
 * Every Tagwarden Lambda with the same defaults: arm64, Node 24, 256 MB, ESM minified with source
 * maps, the AWS SDK bundled from its ES modules (smaller and faster to load than the runtime's copy,
 * measured by `npm run bench -- lambda`), a log group kept a month, always bundled locally.
 */
export class TagwardenFunction extends NodejsFunction {
  constructor(scope: Construct, id: string, props: TagwardenFunctionProps) {
    const logGroup = new LogGroup(scope, `${id}Logs`, { retention: RetentionDays.ONE_MONTH });
    super(scope, id, {
      runtime: Runtime.NODEJS_24_X,
      architecture: Architecture.ARM_64,
      memorySize: 256,
      timeout: Duration.seconds(30),
      handler: 'handler',
      logGroup,
      ...props,
      environment: {
        POWERTOOLS_SERVICE_NAME: 'tagwarden',
        NODE_OPTIONS: '--enable-source-maps',
        ...props.environment,
      },
      bundling: {
        format: OutputFormat.ESM,
        minify: true,
        sourceMap: true,
        target: 'node24',
        mainFields: ['module', 'main'],
        externalModules: [],
        forceDockerBundling: false,
        banner: "import { createRequire } from 'module'; const require = createRequire(import.meta.url);",
        ...props.bundling,
      },
    });
  }
}
