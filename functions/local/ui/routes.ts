import type { IncomingMessage, ServerResponse } from 'node:http';
import type { TagRef } from '../../../shared/core';
import { isHistoryBrowser } from '../../../shared/history';
import { clientAddress, type GuessLimiter, lockedOutReason } from '../guess-limit';
import { readBody, send } from '../http-json';
import { serveApi, type UiDeps } from './api';
import { loginPage, messagePage, overviewPage, type Session, timelinePage } from './pages';
import { listEffects, listTags, openDrift, retryEffect, tagTimeline, type UiStore } from './queries';
import { type ListQuery, listQuery, timelineQuery } from './query-params';
import {
  clearedCookie,
  csrfToken,
  isHttps,
  newSession,
  sameSecret,
  sessionCookie,
  sessionOf,
} from './session';
import { STYLESHEET } from './style';

/** The web interface's paths and their JSON twins; false when the path is none of them. */
export type { UiDeps };

export function isUiPath(path: string): boolean {
  return (
    path === '/ui' ||
    path.startsWith('/ui/') ||
    path === '/api/tags' ||
    path === '/api/effects' ||
    /^\/api\/tags\/.+\/timeline$/.test(path) ||
    /^\/api\/effects\/[^/]+\/retry$/.test(path)
  );
}

const SECURITY_HEADERS = {
  'Content-Security-Policy':
    "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
  'X-Content-Type-Options': 'nosniff',
  'X-Frame-Options': 'DENY',
  'Referrer-Policy': 'no-referrer',
  'Cache-Control': 'no-store',
};

function answer(
  res: ServerResponse,
  status: number,
  type: string,
  body: string,
  extra: Record<string, string> = {},
) {
  res.writeHead(status, {
    ...SECURITY_HEADERS,
    'Content-Type': type,
    'Content-Length': Buffer.byteLength(body),
    ...extra,
  });
  res.end(body);
}

const page = (res: ServerResponse, status: number, body: string, extra: Record<string, string> = {}) =>
  answer(res, status, 'text/html; charset=utf-8', body, extra);

const redirect = (res: ServerResponse, location: string, extra: Record<string, string> = {}) =>
  answer(res, 303, 'text/plain; charset=utf-8', `see ${location}\n`, { Location: location, ...extra });

/** Serves one request to `/ui…` or an `/api/` twin. */
export async function serveUi(
  deps: UiDeps,
  req: IncomingMessage,
  res: ServerResponse,
  url: URL,
): Promise<void> {
  const store = deps.store;
  if (!isHistoryBrowser(store))
    return send(res, 501, { error: 'this history store cannot list tags; the web interface needs SQLite' });
  const uiStore = store as UiStore;
  if (url.pathname === '/ui/style.css') return answer(res, 200, 'text/css; charset=utf-8', STYLESHEET);
  if (url.pathname.startsWith('/api/')) return serveApi(deps, uiStore, req, res, url);
  if (!deps.apiToken)
    return page(
      res,
      403,
      messagePage(
        'Web interface disabled',
        'Set api.token in the config to use the web interface: it is the password this page asks for.',
        null,
      ),
    );
  if (url.pathname === '/ui/login') return serveLogin(deps.apiToken, deps.guesses, req, res);
  const session = sessionOf(req, deps.apiToken);
  if (!session)
    return req.method === 'GET' ? redirect(res, '/ui/login') : page(res, 401, loginPage('Sign in first.'));
  const csrf = csrfToken(deps.apiToken, session);
  if (req.method === 'POST') return servePost(deps, uiStore, { csrf }, req, res, url.pathname);
  if (req.method !== 'GET') return page(res, 405, messagePage('Not allowed', 'Use GET or a form.', { csrf }));
  return serveUiPage(deps, uiStore, { csrf }, res, url);
}

/**
 * The login form; a wrong token counts against the client's address, which is refused (429) after too
 * many. The lock-out is checked again once the body is in: forms sent at once all pass the first check
 * while their bodies are read, and each must see the failures counted meanwhile.
 */
async function serveLogin(
  token: string,
  guesses: GuessLimiter,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<void> {
  if (req.method === 'GET') return page(res, 200, loginPage(null));
  if (req.method !== 'POST') return page(res, 405, loginPage('Use the form.'));
  const address = clientAddress(req);
  if (loginLockedOut(guesses, address, res)) return;
  const form = await readForm(req, res);
  if (!form || loginLockedOut(guesses, address, res)) return;
  if (!sameSecret(form.get('token') ?? '', token)) {
    guesses.failure(address);
    return page(res, 401, loginPage('That is not the api.token.'));
  }
  const secure = isHttps(req);
  return redirect(res, '/ui', { 'Set-Cookie': sessionCookie(newSession(token), secure) });
}

/** Answers the login page 429 with `Retry-After` and returns true when `address` may not try now. */
function loginLockedOut(guesses: GuessLimiter, address: string, res: ServerResponse): boolean {
  const wait = guesses.lockedFor(address);
  if (wait > 0) page(res, 429, loginPage(lockedOutReason(wait)), { 'Retry-After': String(wait) });
  return wait > 0;
}

/** A state-changing request: refused unless the form carries the session's CSRF token. */
async function servePost(
  deps: UiDeps,
  store: UiStore,
  session: Session,
  req: IncomingMessage,
  res: ServerResponse,
  path: string,
): Promise<void> {
  const form = await readForm(req, res);
  if (!form) return;
  if (!sameSecret(form.get('csrf') ?? '', session.csrf))
    return page(
      res,
      403,
      messagePage('Refused', 'The form is missing its CSRF token or it is stale; reload the page.', session),
    );
  if (path === '/ui/logout') return redirect(res, '/ui/login', { 'Set-Cookie': clearedCookie(isHttps(req)) });
  if (path !== '/ui/retry')
    return page(res, 404, messagePage('Not found', `No form posts to ${path.slice(0, 100)}.`, session));
  const key = form.get('key') ?? '';
  const result = await retryEffect(store, key, (deps.now ?? (() => new Date()))());
  if (typeof result === 'string') return page(res, 409, messagePage('Not retried', result, session));
  deps.log.info('effect retried from the web interface', { key });
  deps.onRecorded();
  return redirect(res, tagPath(result));
}

function tagPath(ref: TagRef): string {
  return `/ui/tag/${encodeURIComponent(`${ref.registryHost}/${ref.repository}:${ref.tag}`)}`;
}

async function serveUiPage(deps: UiDeps, store: UiStore, session: Session, res: ServerResponse, url: URL) {
  if (url.pathname === '/ui' || url.pathname === '/ui/') {
    const query = listQuery(url.searchParams);
    if ('problem' in query) return page(res, 400, messagePage('Bad filter', query.problem, session));
    return page(res, 200, overviewPage(await overview(deps, store, query), session));
  }
  const ref = /^\/ui\/tag\/(.+)$/.exec(url.pathname);
  if (!ref) return page(res, 404, messagePage('Not found', 'No such page.', session));
  const query = timelineQuery(ref[1]!, url.searchParams);
  if ('problem' in query) return page(res, 400, messagePage('Bad tag', query.problem, session));
  const timeline = await tagTimeline(store, query.ref, query.limit, query.cursor, deps.drift);
  if (timeline.entries.length === 0 && timeline.drift.length === 0 && query.cursor === null)
    return page(res, 404, messagePage('Unknown tag', `No history for ${timeline.tagRef}.`, session));
  return page(res, 200, timelinePage(timeline, session));
}

async function overview(deps: UiDeps, store: UiStore, query: ListQuery) {
  const [list, pending, failed, drift] = await Promise.all([
    listTags(store, query.filter, query.limit, query.cursor),
    listEffects(store, 'pending', 50),
    listEffects(store, 'failed', 50),
    deps.drift ? openDrift(store, deps.drift) : Promise.resolve(null),
  ]);
  return { list, pending, failed, drift };
}

async function readForm(req: IncomingMessage, res: ServerResponse): Promise<URLSearchParams | null> {
  const body = await readBody(req, res, 8 * 1024);
  return body ? new URLSearchParams(body.toString('utf8')) : null;
}
