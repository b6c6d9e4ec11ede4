import type { IncomingMessage, ServerResponse } from 'node:http';
import { checkToken } from '../../shared/auth/webhook-auth';
import type { unauthorizedLog } from '../../shared/guard/refusal-log';
import { send } from './http-json';

/**
 * The read API's gate (`GET /api/...`): with `api.token` set, a request without it as a Bearer token
 * is answered 401 (and logged) and false returned; without a token everything passes.
 */
export function apiAuthorized(
  deps: { apiToken?: string | undefined; unauthorized: ReturnType<typeof unauthorizedLog> },
  req: IncomingMessage,
  res: ServerResponse,
): boolean {
  if (!deps.apiToken) return true;
  const auth = checkToken({ token: deps.apiToken, header: 'Authorization' }, req.headers);
  if (auth.ok) return true;
  deps.unauthorized({
    source: 'api',
    reason: auth.reason,
    remoteAddress: req.socket.remoteAddress ?? 'unknown',
  });
  res.setHeader('WWW-Authenticate', 'Bearer realm="tagwarden"');
  send(res, 401, { error: `unauthorized: ${auth.reason}` });
  return false;
}
