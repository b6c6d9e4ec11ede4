import type { IncomingMessage, ServerResponse } from 'node:http';
import { checkToken } from '../../shared/auth/webhook-auth';
import type { unauthorizedLog } from '../../shared/guard/refusal-log';
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

interface ApiGateDeps {
  apiToken?: string | undefined;
  unauthorized: ReturnType<typeof unauthorizedLog>;
}

/** The read API's access: `api.token`, refusals logged like a webhook's under the source `api`. */
export function readAccess(deps: ApiGateDeps): ReadAccess {
  return {
    token: deps.apiToken,
    refused: (reason, remoteAddress) => deps.unauthorized({ source: 'api', reason, remoteAddress }),
  };
}

/**
 * The read API's gate (`GET /api/...`): with `api.token` set, a request without it as a Bearer token
 * is answered 401 (and logged) and false returned; without a token everything passes.
 */
export function apiAuthorized(deps: ApiGateDeps, req: IncomingMessage, res: ServerResponse): boolean {
  return readAllowed(readAccess(deps), req, res);
}
