/**
 * Stands in for `@smithy/core/event-streams` in the Lambda bundles (an esbuild alias, see
 * infra/lambda-bundling.ts). The SDK's protocols load it only for an operation that streams events
 * (Bedrock, Transcribe, S3 Select…); none of the ECR, DynamoDB and Secrets Manager operations the
 * functions call does, yet the module is bundled whole: about 14 KB of each bundle.
 */
function unavailable(): never {
  throw new Error(
    'AWS SDK event streams are not part of the Tagwarden Lambda bundles (see infra/lambda-bundling.ts)',
  );
}

export const eventStreamSerdeProvider = unavailable;

export class EventStreamSerde {
  constructor() {
    unavailable();
  }
}
