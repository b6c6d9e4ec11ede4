import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from '../../../shared/log';
import { readAllowed } from '../api-auth';
import type { GuessLimiter } from '../guess-limit';
import { send } from '../http-json';
import { listEffects, listTags, retryEffect, tagTimeline, type UiDrift, type UiStore } from './queries';
import { effectState, listQuery, timelineQuery } from './query-params';
import { sessionOf } from './session';

export interface UiDeps {
  store: object;
  log: Logger;
  /** `api.token`: the web interface's password and the API's bearer token. */
  apiToken?: string | undefined;
  /** Wakes the outbox runner, so a retried effect runs at once. */
  onRecorded: () => void;
  /** Wrong tokens per client address, on the login form and the API: one limiter per server. */
  guesses: GuessLimiter;
  /** Drift reports' findings, when the store keeps them (issue 15): `/ui` lists the open ones, a tag's page its rows. */
  drift?: UiDrift | undefined;
  now?: () => Date;
}

/**
 * Who may call the JSON twins. With `api.token`: its bearer token, or (reads only) the session
 * cookie of the page. Without it, reads stay open like `GET /api/tags/<ref>` (serve then listens on
 * loopback only) but a retry is refused: nothing changes state without a credential.
 */
function apiAllowed(deps: UiDeps, req: IncomingMessage, res: ServerResponse): boolean {
  const token = deps.apiToken;
  if (!token) {
    if (req.method === 'GET') return true;
    send(res, 403, { error: 'set api.token in the config to retry effects over the API' });
    return false;
  }
  if (req.method === 'GET' && sessionOf(req, token)) return true;
  return readAllowed({ token, refused: () => {}, guesses: deps.guesses }, req, res);
}

/** `/api/tags`, `/api/tags/<ref>/timeline`, `/api/effects`, `POST /api/effects/<key>/retry`. */
export async function serveApi(
  deps: UiDeps,
  store: UiStore,
  req: IncomingMessage,
  res: ServerResponse,
  url: URL,
) {
  if (!apiAllowed(deps, req, res)) return;
  const path = url.pathname;
  const retry = /^\/api\/effects\/([^/]+)\/retry$/.exec(path);
  if (retry)
    return req.method === 'POST'
      ? apiRetry(deps, store, retry[1]!, res)
      : send(res, 405, { error: 'use POST' });
  if (req.method !== 'GET') return send(res, 405, { error: 'use GET' });
  if (path === '/api/tags') {
    const query = listQuery(url.searchParams);
    if ('problem' in query) return send(res, 400, { error: query.problem });
    return send(res, 200, await listTags(store, query.filter, query.limit, query.cursor));
  }
  if (path === '/api/effects') {
    const state = effectState(url.searchParams);
    if (typeof state !== 'string') return send(res, 400, { error: state.problem });
    return send(res, 200, { state, effects: await listEffects(store, state, 500) });
  }
  const query = timelineQuery(path.slice('/api/tags/'.length, -'/timeline'.length), url.searchParams);
  if ('problem' in query) return send(res, 400, { error: query.problem });
  const timeline = await tagTimeline(store, query.ref, query.limit, query.cursor, deps.drift);
  if (timeline.entries.length === 0 && timeline.drift.length === 0 && query.cursor === null)
    return send(res, 404, { error: `no history for ${timeline.tagRef}` });
  return send(res, 200, timeline);
}

async function apiRetry(deps: UiDeps, store: UiStore, encodedKey: string, res: ServerResponse) {
  let key: string;
  try {
    key = decodeURIComponent(encodedKey);
  } catch {
    return send(res, 400, { error: 'the effect key in the path is not valid percent-encoding' });
  }
  const result = await retryEffect(store, key, (deps.now ?? (() => new Date()))());
  if (typeof result === 'string') return send(res, 409, { error: result });
  deps.log.info('effect retried over the API', { key });
  deps.onRecorded();
  return send(res, 202, { retried: key });
}
