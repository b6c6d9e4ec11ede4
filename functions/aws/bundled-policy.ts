/**
 * The policy `cdk deploy` builds into the consumer and the sweep (esbuild `define` replaces the
 * identifier with the policy's JSON text): a policy of any size ships in the code, where Lambda's
 * 4 KB limit on environment variables does not apply. Outside such a bundle (tests, the bench) it is
 * undefined and the `POLICY` environment variable is read instead. The stack names the identifier
 * in infra/lambda-bundling.ts (BUNDLED_POLICY_IDENTIFIER); the CDK test finds the policy in the bundle.
 */
declare const __TAGWARDEN_POLICY__: string | undefined;

export const BUNDLED_POLICY: string | undefined =
  typeof __TAGWARDEN_POLICY__ === 'string' ? __TAGWARDEN_POLICY__ : undefined;
