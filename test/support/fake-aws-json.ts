/**
 * A loopback server speaking the AWS JSON protocols (awsJson1_0, awsJson1_1) the SDK v3 and the AWS
 * CLI use for ECR, SQS and Secrets Manager: `POST /` with `X-Amz-Target: <Service>.<Operation>` and a
 * JSON body; errors as `400 {"__type": "<Name>", "message": "…"}`. A service is its operations:
 *
 *   const service = await startAwsJsonService('1.1', { GetSecretValue: (input) => ({ … }) });
 *   process.env.AWS_ENDPOINT_URL_SECRETS_MANAGER = service.endpoint;   // or the client's `endpoint`
 *   throw new AwsJsonError('ResourceNotFoundException', 'no such secret');   // inside an operation
 *   service.calls      // every request: { operation, input, accessKeyId } (the key it was signed with)
 *
 * Signatures are not verified; the access key id in the `Authorization` header is recorded, so a
 * test can see which credentials a client used.
 */
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';

export class AwsJsonError extends Error {
  constructor(
    readonly type: string,
    message: string,
    readonly status = 400,
  ) {
    super(message);
  }
}

export interface AwsJsonCall {
  operation: string;
  input: Record<string, unknown>;
  /** The access key id of the request's SigV4 `Authorization` header; null when it was not signed. */
  accessKeyId: string | null;
}

// biome-ignore lint/suspicious/noExplicitAny: each operation reads the fields of its own API shape.
export type AwsJsonOperations = Record<string, (input: any) => unknown>;

export interface AwsJsonService {
  endpoint: string;
  calls: AwsJsonCall[];
  /** The calls of one operation, in order. */
  callsOf(operation: string): AwsJsonCall[];
  stop(): Promise<void>;
}

async function readBody(request: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

export async function startAwsJsonService(
  version: '1.0' | '1.1',
  operations: AwsJsonOperations,
): Promise<AwsJsonService> {
  const calls: AwsJsonCall[] = [];
  const contentType = `application/x-amz-json-${version}`;
  const server = createServer(async (request, response) => {
    const text = await readBody(request);
    const operation = String(request.headers['x-amz-target'] ?? '').replace(/^.*\./, '');
    const accessKeyId = /Credential=([^/]+)\//.exec(String(request.headers.authorization ?? ''))?.[1] ?? null;
    const send = (status: number, body: unknown, headers: Record<string, string> = {}) =>
      response.writeHead(status, { 'content-type': contentType, ...headers }).end(JSON.stringify(body));
    let input: Record<string, unknown>;
    try {
      input = text ? (JSON.parse(text) as Record<string, unknown>) : {};
    } catch {
      return send(400, { __type: 'SerializationException', message: 'the body is not JSON' });
    }
    calls.push({ operation, input, accessKeyId });
    const run = operations[operation];
    if (!run) return send(400, { __type: 'UnknownOperationException', message: `no ${operation} here` });
    try {
      send(200, (await run(input)) ?? {});
    } catch (error) {
      if (!(error instanceof AwsJsonError)) throw error;
      send(error.status, { __type: error.type, message: error.message }, { 'x-amzn-errortype': error.type });
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    calls,
    callsOf: (operation) => calls.filter((c) => c.operation === operation),
    stop: () =>
      new Promise((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/** One page of `items` from `nextToken` (an offset), at most `size` long, with the token of the next. */
export function page<T>(items: T[], nextToken: unknown, size: number): { items: T[]; nextToken?: string } {
  const start = typeof nextToken === 'string' ? Number(nextToken) : 0;
  const end = start + size;
  return { items: items.slice(start, end), ...(end < items.length ? { nextToken: String(end) } : {}) };
}
