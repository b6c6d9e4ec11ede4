import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';
import { formatTagRef, parseTagRef } from '../../shared/core';
import type { EffectRunner, StopReport } from '../../shared/guard/effects';
import {
  admitWebhook,
  type IngestDeps,
  ingestAdmitted,
  type WebhookRequest,
  webhookPreflight,
} from '../../shared/guard/ingest';
import { unauthorizedLog } from '../../shared/guard/refusal-log';
import { MAX_BODY_BYTES } from '../../shared/sources';
import { decoded, preflightAnswer, webhookAnswer } from '../webhook-answer';
import { apiAuthorized, readAccess } from './api-auth';
import { type DriftRouteDeps, serveDrift } from './drift-route';
import { type GuessLimiter, warningGuessLimiter } from './guess-limit';
import { boundedServer, readBody, refuse, send } from './http-json';
import { answerMetrics } from './metrics-http';
import { answerReadiness, historyReadiness, oneAtATime, type ReadinessCheck } from './readiness';
import { type SlackActionsSettings, serveSlackAction } from './slack-route';
import { isUiPath, serveUi } from './ui/routes';

export interface LocalServerDeps
  extends IngestDeps,
    Partial<Pick<DriftRouteDeps, 'drift' | 'clusterSecret' | 'driftObserved'>> {
  /** Called after events were recorded, so the outbox runs at once instead of at the next poll. */
  onRecorded: () => void;
  /** `api.token`: when set, `GET /api/tags` and `GET /metrics` require it as `Authorization: Bearer <token>`. */
  apiToken?: string | undefined;
  /** What `GET /metrics` answers with; without it the route is 404. */
  metrics?: Registry | undefined;
  /** Clicks on alert buttons (`POST /slack/actions`): set when `notify.slack.signingSecret` is. */
  slack?: SlackActionsSettings | undefined;
  /** What `GET /readyz` asks; without it, whether the history answers a read. */
  ready?: ReadinessCheck | undefined;
  /** Wrong `api.token`s per client address (login form, read API); without it, a new one with the defaults. */
  guesses?: GuessLimiter | undefined;
}

export interface RunningLocalService {
  port: number;
  /** Stops accepting connections, then stops the runner: what it finished and released. */
  stop(): Promise<StopReport>;
}

/**
 * `tagwarden serve`: the HTTP server and the outbox runner behind it, started and stopped together.
 * Effects run in `effects`: every recorded delivery wakes it at once, and it polls for retries.
 */
export async function startLocalService(
  deps: IngestDeps &
    Pick<
      LocalServerDeps,
      'apiToken' | 'metrics' | 'slack' | 'drift' | 'clusterSecret' | 'driftObserved' | 'ready' | 'guesses'
    > & {
      effects: Pick<EffectRunner, 'start' | 'stop' | 'wake'>;
    },
  address: { port: number; host: string },
): Promise<RunningLocalService> {
  const server = createLocalServer({ ...deps, onRecorded: () => deps.effects.wake() });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(address.port, address.host, resolve);
  });
  deps.effects.start();
  return {
    port: (server.address() as AddressInfo).port,
    stop: async () => {
      server.close();
      return deps.effects.stop();
    },
  };
}

/**
 * Open connections `serve` accepts at once; past it a new one is closed unanswered. Registries,
 * browsers, Slack, agents and Prometheus need a few dozen at most: a deployment never reaches this.
 */
export const SERVE_MAX_CONNECTIONS = 1024;

/** The local HTTP runtime: thin routing over the shared ingest and history. */
export function createLocalServer(deps: LocalServerDeps): Server {
  const edge: Edge = {
    ...deps,
    unauthorized: unauthorizedLog(deps.log),
    guesses: deps.guesses ?? warningGuessLimiter(deps.log),
    ready: oneAtATime(deps.ready ?? historyReadiness(deps.store, null, deps.log)),
  };
  const server = boundedServer((req, res) => {
    route(edge, req, res).catch((error: unknown) => {
      deps.log.error('request failed', { error: error instanceof Error ? error.message : String(error) });
      if (!res.headersSent) send(res, 500, { error: 'internal error' });
    });
  }, SERVE_MAX_CONNECTIONS);
  return server;
}

interface Edge extends LocalServerDeps {
  ready: ReadinessCheck;
  unauthorized: ReturnType<typeof unauthorizedLog>;
  guesses: GuessLimiter;
}

async function route(deps: Edge, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://localhost');
  const path = url.pathname;
  if (path === '/healthz') {
    return req.method === 'GET' || req.method === 'HEAD'
      ? send(res, 200, { status: 'ok' })
      : send(res, 405, { error: 'use GET' });
  }
  if (path === '/readyz') return answerReadiness(deps.ready, req, res);
  if (await serveDrift(driftDeps(deps), path, url, req, res)) return;
  const webhook = /^\/webhooks\/([^/]+)$/.exec(path);
  if (webhook) {
    const source = decoded(webhook[1]!);
    if (source === null)
      return refuse(req, res, 400, { error: 'the source name in the path is not valid percent-encoding' });
    return serveWebhook(deps, { source, headers: req.headers, query: url.searchParams }, req, res);
  }
  if (isUiPath(path)) return serveUi(deps, req, res, url);
  if (path.startsWith('/api/tags/')) return serveTag(deps, path.slice('/api/tags/'.length), req, res);
  if (path === '/metrics' && deps.metrics) return answerMetrics(deps.metrics, readAccess(deps), req, res);
  if (path === '/slack/actions') return serveSlackAction({ ...deps, wake: deps.onRecorded }, req, res);
  send(res, 404, { error: `no route for ${req.method} ${path.slice(0, 100)}` });
}

function driftDeps(deps: Edge): DriftRouteDeps {
  return { ...deps, clusterSecret: deps.clusterSecret ?? (() => null) };
}

/**
 * One webhook request. Source and credentials are checked from the headers before any body byte is
 * read: a refused request is answered at once and its connection closed, unread. Only then is the
 * body read, within the limit, and ingested (a signing source's signature is verified on it there).
 */
async function serveWebhook(
  deps: Edge,
  request: Omit<WebhookRequest, 'body'>,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<void> {
  const remoteAddress = req.socket.remoteAddress ?? 'unknown';
  if (req.method === 'OPTIONS') {
    const outcome = webhookPreflight(deps, request);
    if (outcome.kind === 'unauthenticated')
      deps.unauthorized({ source: request.source, reason: outcome.reason, remoteAddress });
    const answer = preflightAnswer(outcome);
    for (const [name, value] of Object.entries(answer.headers)) res.setHeader(name, value);
    return send(res, answer.status, answer.body);
  }
  if (req.method !== 'POST') return refuse(req, res, 405, { error: 'use POST' });
  const admission = admitWebhook(deps, request);
  if (!admission.ok) {
    const { refusal } = admission;
    if (refusal.kind === 'unauthenticated')
      deps.unauthorized({ source: request.source, reason: refusal.reason, remoteAddress });
    const answer = webhookAnswer(refusal);
    return refuse(req, res, answer.status, answer.body);
  }
  const body = await readBody(req, res, MAX_BODY_BYTES, (reason) =>
    deps.log.debug?.('upload aborted by the client', { source: request.source, reason, remoteAddress }),
  );
  if (!body) return;
  const outcome = await ingestAdmitted(deps, admission.webhook, body);
  if (outcome.kind === 'unauthenticated')
    deps.unauthorized({ source: request.source, reason: outcome.reason, remoteAddress });
  const answer = webhookAnswer(outcome);
  send(res, answer.status, answer.body);
  if (outcome.kind === 'recorded') deps.onRecorded();
}

/** `GET /api/tags/<ref>`: a tag's state and history, behind `api.token` when one is set. */
async function serveTag(deps: Edge, rest: string, req: IncomingMessage, res: ServerResponse): Promise<void> {
  if (req.method !== 'GET') return send(res, 405, { error: 'use GET' });
  if (!apiAuthorized(deps, req, res)) return;
  const text = decoded(rest);
  const ref = text === null ? { problem: 'the path is not valid percent-encoding' } : parseTagRef(text);
  if ('problem' in ref)
    return send(res, 400, {
      error: `${ref.problem}; expected /api/tags/<registryHost>/<repository>:<tag>`,
    });
  const [state, history] = await Promise.all([deps.store.tagState(ref), deps.store.history(ref)]);
  if (!state && history.length === 0) return send(res, 404, { error: `no history for ${formatTagRef(ref)}` });
  return send(res, 200, {
    tagRef: formatTagRef(ref),
    current: state?.digest ?? null,
    pendingRestore: state?.pendingRestore ?? null,
    history,
  });
}
