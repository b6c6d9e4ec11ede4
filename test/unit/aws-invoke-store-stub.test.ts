import { recursionDetectionMiddleware } from '@aws-sdk/core/client';
import { HttpRequest } from '@smithy/core/protocols';

// The Lambda bundles alias `@aws/lambda-invoke-store` to functions/aws/sdk-stubs/invoke-store.ts
// (infra/lambda-bundling.ts); here the SDK's own recursion-detection middleware runs against it.
jest.mock('@aws/lambda-invoke-store', () => jest.requireActual('../../functions/aws/sdk-stubs/invoke-store'));

type LambdaGlobal = { awslambda?: { InvokeStore?: unknown } };
const lambdaGlobal = globalThis as LambdaGlobal;
const ENV = ['AWS_LAMBDA_FUNCTION_NAME', '_X_AMZN_TRACE_ID'] as const;
const saved = Object.fromEntries(ENV.map((name) => [name, process.env[name]]));

async function headersSent(): Promise<Record<string, string>> {
  const request = new HttpRequest({ headers: {} });
  let sent: Record<string, string> = {};
  const next = async (args: { request: unknown }) => {
    sent = (args.request as HttpRequest).headers;
    return { output: {}, response: {} };
  };
  // biome-ignore lint/suspicious/noExplicitAny: the middleware's handler types are the SDK's internals
  await recursionDetectionMiddleware()(next as any, {})({ request, input: {} } as any);
  return sent;
}

describe('the invoke-store stand-in, under the SDK recursion-detection middleware', () => {
  beforeEach(() => {
    process.env.AWS_LAMBDA_FUNCTION_NAME = 'tagwarden-webhook';
    process.env._X_AMZN_TRACE_ID = 'Root=1-env';
  });
  afterEach(() => {
    delete lambdaGlobal.awslambda?.InvokeStore;
    for (const name of ENV)
      if (saved[name] === undefined) delete process.env[name];
      else process.env[name] = saved[name];
  });

  test('creates globalThis.awslambda on import, as the package does', () => {
    expect(lambdaGlobal.awslambda).toBeDefined();
  });

  test("sends the trace headers of the store Lambda's runtime installed", async () => {
    lambdaGlobal.awslambda!.InvokeStore = {
      getXRayTraceId: () => 'Root=1-store',
      getTraceparent: () => '00-abc-def-01',
      getTracestate: () => 'vendor=1',
      getBaggage: () => undefined,
    };
    expect(await headersSent()).toEqual({
      'X-Amzn-Trace-Id': 'Root=1-store',
      traceparent: '00-abc-def-01',
      tracestate: 'vendor=1',
    });
  });

  test('without a runtime store, falls back to _X_AMZN_TRACE_ID', async () => {
    expect(await headersSent()).toEqual({ 'X-Amzn-Trace-Id': 'Root=1-env' });
  });
});
