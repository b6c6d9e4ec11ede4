import { fromEnv } from '@aws-sdk/credential-provider-env';

/**
 * Stands in for `@aws-sdk/credential-provider-node` in the Lambda bundles (an esbuild alias, see
 * infra/lambda-bundling.ts). Lambda always hands a function its role's credentials in environment
 * variables, the first place the default chain looks; the rest of the chain (SSO, INI files, web
 * identity, container and instance metadata) can never answer there, yet brings STS and SSO clients
 * into the bundle: about 130 KB of each function's 500.
 */
export const defaultProvider = (init?: Parameters<typeof fromEnv>[0]) => fromEnv(init);
