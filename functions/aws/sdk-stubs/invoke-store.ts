/**
 * Stands in for `@aws/lambda-invoke-store` in the Lambda bundles (an esbuild alias, see
 * infra/lambda-bundling.ts): about 2 KB a bundle. The SDK's recursion-detection middleware asks it
 * for the invocation's trace headers; Powertools imports it only for its effect (the
 * `globalThis.awslambda` object) and reads `globalThis.awslambda.InvokeStore` itself. Lambda's Node
 * runtime installs that store for every invocation, and the package then returns it; without one, the
 * package's own store would be an empty one nobody fills, so the middleware falls back to
 * `_X_AMZN_TRACE_ID` exactly as it does here with none. Any other name fails the build.
 */
interface RuntimeInvokeStore {
  getXRayTraceId(): string | undefined;
  getTraceparent?(): string | undefined;
  getTracestate?(): string | undefined;
  getBaggage?(): string | undefined;
}

type LambdaGlobal = { awslambda?: { InvokeStore?: RuntimeInvokeStore } };

const global = globalThis as LambdaGlobal;
if (!['true', '1'].includes(process.env.AWS_LAMBDA_NODEJS_NO_GLOBAL_AWSLAMBDA ?? '')) {
  global.awslambda = global.awslambda || {};
}

export const InvokeStore = {
  /** The store the runtime installed, if any. */
  async getInstanceAsync(): Promise<RuntimeInvokeStore | undefined> {
    return global.awslambda?.InvokeStore;
  },
};
