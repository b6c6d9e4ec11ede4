import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Registry } from 'prom-client';
import { type ReadAccess, readAllowed } from './api-auth';
import { send } from './http-json';

/** `GET /metrics`: the registry in the Prometheus text format, behind the read token when one is set. */
export async function answerMetrics(
  registry: Registry,
  access: ReadAccess,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<void> {
  if (req.method !== 'GET' && req.method !== 'HEAD') return send(res, 405, { error: 'use GET' });
  if (!readAllowed(access, req, res)) return;
  const text = await registry.metrics();
  res.writeHead(200, {
    'Content-Type': registry.contentType,
    'Content-Length': Buffer.byteLength(text),
    'X-Content-Type-Options': 'nosniff',
  });
  res.end(req.method === 'HEAD' ? undefined : text);
}
