import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Registry } from 'prom-client';
import { checkToken } from '../../shared/auth/webhook-auth';
import { send } from './http-json';

/** The read endpoints' Bearer check (`/api/tags`, `/metrics`): who may read, and whom to tell of a refusal. */
export interface ReadAccess {
  /** When set, a request must carry `Authorization: Bearer <token>`; unset: open. */
  token?: string | undefined;
  /** Told of each refusal (the rate-limited refusal log), with what was wrong. */
  refused: (reason: string, remoteAddress: string) => void;
}

/** True when the request may read; otherwise answers 401 with a Bearer challenge and returns false. */
export function readAllowed(access: ReadAccess, req: IncomingMessage, res: ServerResponse): boolean {
  if (!access.token) return true;
  const auth = checkToken({ token: access.token, header: 'Authorization' }, req.headers);
  if (auth.ok) return true;
  access.refused(auth.reason, req.socket.remoteAddress ?? 'unknown');
  res.setHeader('WWW-Authenticate', 'Bearer realm="tagwarden"');
  send(res, 401, { error: `unauthorized: ${auth.reason}` });
  return false;
}

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
  res.writeHead(200, { 'Content-Type': registry.contentType, 'Content-Length': Buffer.byteLength(text) });
  res.end(req.method === 'HEAD' ? undefined : text);
}
