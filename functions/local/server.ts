import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { formatTagRef, parseTagRef } from '../../shared/core';
import type { EffectRunner } from '../../shared/guard/effects';
import { type IngestDeps, ingestWebhook, webhookPreflight } from '../../shared/guard/ingest';
import { MAX_BODY_BYTES } from '../../shared/sources';
import { webhookAnswer } from '../webhook-answer';
import { readBody, send } from './http-json';

export interface LocalServerDeps extends IngestDeps {
  /** Called after events were recorded, so the outbox runs at once instead of at the next poll. */
  onRecorded: () => void;
}

export interface RunningLocalService {
  port: number;
  stop(): Promise<void>;
}

/**
 * `tagwarden serve`: the HTTP server and the outbox runner behind it, started and stopped together.
 * Effects run in `effects`: every recorded delivery wakes it at once, and it polls for retries.
 */
export async function startLocalService(
  deps: IngestDeps & { effects: Pick<EffectRunner, 'start' | 'stop' | 'wake'> },
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
      await deps.effects.stop();
    },
  };
}

/** The local HTTP runtime: thin routing over the shared ingest and history. */
export function createLocalServer(deps: LocalServerDeps): Server {
  const server = createServer((req, res) => {
    route(deps, req, res).catch((error: unknown) => {
      deps.log.error('request failed', { error: error instanceof Error ? error.message : String(error) });
      if (!res.headersSent) send(res, 500, { error: 'internal error' });
    });
  });
  server.requestTimeout = 30_000;
  server.headersTimeout = 10_000;
  return server;
}

async function route(deps: LocalServerDeps, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://localhost');
  const path = url.pathname;
  if (path === '/healthz') {
    return req.method === 'GET' || req.method === 'HEAD'
      ? send(res, 200, { status: 'ok' })
      : send(res, 405, { error: 'use GET' });
  }
  const webhook = /^\/webhooks\/([^/]+)$/.exec(path);
  if (webhook) {
    if (req.method === 'OPTIONS') {
      const answer = webhookPreflight(deps, {
        source: decodeURIComponent(webhook[1]!),
        headers: req.headers,
        query: url.searchParams,
      });
      for (const [name, value] of Object.entries(answer.headers)) res.setHeader(name, value);
      return send(res, answer.status, answer.body);
    }
    if (req.method !== 'POST') return send(res, 405, { error: 'use POST' });
    const body = await readBody(req, res, MAX_BODY_BYTES);
    if (!body) return;
    const outcome = await ingestWebhook(deps, {
      source: decodeURIComponent(webhook[1]!),
      headers: req.headers,
      query: url.searchParams,
      body,
    });
    const answer = webhookAnswer(outcome);
    send(res, answer.status, answer.body);
    if (outcome.kind === 'recorded') deps.onRecorded();
    return;
  }
  if (path.startsWith('/api/tags/')) {
    if (req.method !== 'GET') return send(res, 405, { error: 'use GET' });
    const ref = parseTagRef(decodeURIComponent(path.slice('/api/tags/'.length)));
    if ('problem' in ref)
      return send(res, 400, {
        error: `${ref.problem}; expected /api/tags/<registryHost>/<repository>:<tag>`,
      });
    const [state, history] = await Promise.all([deps.store.tagState(ref), deps.store.history(ref)]);
    if (!state && history.length === 0)
      return send(res, 404, { error: `no history for ${formatTagRef(ref)}` });
    return send(res, 200, {
      tagRef: formatTagRef(ref),
      current: state?.digest ?? null,
      pendingRestore: state?.pendingRestore ?? null,
      history,
    });
  }
  send(res, 404, { error: `no route for ${req.method} ${path.slice(0, 100)}` });
}
