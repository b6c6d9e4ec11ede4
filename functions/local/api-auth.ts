import type { IncomingMessage, ServerResponse } from 'node:http';
import { checkToken } from '../../shared/auth/webhook-auth';
import type { unauthorizedLog } from '../../shared/guard/refusal-log';
import { clientAddress, type GuessLimiter, lockedOutReason } from './guess-limit';
import { send } from './http-json';

/** The read endpoints' Bearer check (`/api/tags`, `/metrics`): who may read, and whom to tell of a refusal. */
export interface ReadAccess {
  /** When set, a request must carry `Authorization: Bearer <token>`; unset: open. */
  token?: string | undefined;
  /** Told of each refusal (the rate-limited refusal log), with what was wrong. */
  refused: (reason: string, remoteAddress: string) => void;
  /** Counts wrong tokens per client address and refuses an address that tried too many (`429`); absent: no limit. */
  guesses?: GuessLimiter | undefined;
  /** The token's name in a lock-out's reason (`api.token` unless said). */
  tokenName?: string | undefined;
}

/**
 * True when the request may read. Otherwise answers 401 with a Bearer challenge (a presented token
 * that is wrong counts as a guess), or 429 without looking at the token when the client's address
 * has guessed too often, and returns false.
 */
export function readAllowed(access: ReadAccess, req: IncomingMessage, res: ServerResponse): boolean {
  if (!access.token) return true;
  const address = clientAddress(req);
  if (access.guesses && lockedOut(access.guesses, address, res, access.tokenName)) return false;
  const auth = checkToken({ token: access.token, header: 'Authorization' }, req.headers);
  if (auth.ok) return true;
  if (req.headers.authorization !== undefined) access.guesses?.failure(address);
  access.refused(auth.reason, address);
  res.setHeader('WWW-Authenticate', 'Bearer realm="tagwarden"');
  send(res, 401, { error: `unauthorized: ${auth.reason}` });
  return false;
}

/** Answers 429 with `Retry-After` and returns true when `address` may not try a token now. */
export function lockedOut(
  guesses: GuessLimiter,
  address: string,
  res: ServerResponse,
  tokenName?: string,
): boolean {
  const seconds = guesses.lockedFor(address);
  if (seconds === 0) return false;
  res.setHeader('Retry-After', String(seconds));
  send(res, 429, { error: lockedOutReason(seconds, tokenName) });
  return true;
}

interface ApiGateDeps {
  apiToken?: string | undefined;
  unauthorized: ReturnType<typeof unauthorizedLog>;
  guesses: GuessLimiter;
}

/** The read API's access: `api.token`, refusals logged like a webhook's under the source `api`. */
export function readAccess(deps: ApiGateDeps): ReadAccess {
  return {
    token: deps.apiToken,
    guesses: deps.guesses,
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
