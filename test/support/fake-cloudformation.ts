/**
 * CloudFormation's side of a custom resource, on 127.0.0.1: the pre-signed S3 URL a provider PUTs its
 * answer to. Each `responseUrl()` is one request's URL (as CloudFormation gives one per request);
 * every PUT is recorded with its parsed body. Anything but a PUT is refused, as a URL signed for a
 * PUT refuses it.
 *
 *   const cfn = await startCloudFormationResponses();
 *   const url = cfn.responseUrl(requestId);          // the event's ResponseURL
 *   cfn.responses;                                   // [{ requestId, contentType, body }]
 */
import { createServer, type Server } from 'node:http';

export interface CustomResourceResponse {
  requestId: string;
  contentType: string | undefined;
  // biome-ignore lint/suspicious/noExplicitAny: the provider's answer is untyped JSON.
  body: Record<string, any>;
}

export interface CloudFormationResponses {
  responseUrl(requestId: string): string;
  responses: CustomResourceResponse[];
  stop(): Promise<void>;
}

export async function startCloudFormationResponses(): Promise<CloudFormationResponses> {
  const responses: CustomResourceResponse[] = [];
  const server: Server = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk: Buffer) => {
      body += chunk.toString();
    });
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'http://127.0.0.1');
      const requestId = decodeURIComponent(url.pathname.split('/').pop() ?? '');
      if (req.method !== 'PUT' || !url.pathname.startsWith('/cloudformation-custom-resource-response/')) {
        res
          .writeHead(403, { 'Content-Type': 'application/xml' })
          .end('<Error><Code>AccessDenied</Code></Error>');
        return;
      }
      try {
        responses.push({ requestId, contentType: req.headers['content-type'], body: JSON.parse(body) });
        res.writeHead(200).end();
      } catch {
        res.writeHead(400, { 'Content-Type': 'text/plain' }).end('the response body is not JSON');
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return {
    responseUrl: (requestId) =>
      `http://127.0.0.1:${port}/cloudformation-custom-resource-response/${encodeURIComponent(requestId)}` +
      '?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Expires=7200&X-Amz-Signature=rehearsal',
    responses,
    stop: () => new Promise<void>((resolve, reject) => server.close((e) => (e ? reject(e) : resolve()))),
  };
}
