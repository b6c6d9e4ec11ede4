import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { formatTagRef, parseTagRef } from '../../shared/core';
import { type IngestDeps, ingestWebhook, webhookPreflight } from '../../shared/guard/ingest';
import { MAX_BODY_BYTES } from '../../shared/sources';

export interface LocalServerDeps extends IngestDeps {
  /** Called after events were recorded, so the outbox runs at once instead of at the next poll. */
  onRecorded: () => void;
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
    const body = await readBody(req, res);
    if (!body) return;
    const result = await ingestWebhook(deps, {
      source: decodeURIComponent(webhook[1]!),
      headers: req.headers,
      query: url.searchParams,
      body,
    });
    send(res, result.status, result.body);
    if (result.status === 202) deps.onRecorded();
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

/** Reads at most MAX_BODY_BYTES; answers 413 (and returns null) as soon as a body is larger. */
function readBody(req: IncomingMessage, res: ServerResponse): Promise<Buffer | null> {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > MAX_BODY_BYTES) {
    tooLarge(req, res, `body is ${declared} bytes; the limit is ${MAX_BODY_BYTES}`);
    return Promise.resolve(null);
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        tooLarge(req, res, `body is larger than the limit of ${MAX_BODY_BYTES} bytes`);
        resolve(null);
      } else chunks.push(chunk);
    });
    req.on('end', () => resolve(size > MAX_BODY_BYTES ? null : Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

function tooLarge(req: IncomingMessage, res: ServerResponse, reason: string): void {
  if (res.headersSent) return;
  res.setHeader('Connection', 'close');
  send(res, 413, { error: reason });
  // Stop reading what is left; the connection closes after the answer.
  req.removeAllListeners('data');
  req.resume();
}

function send(res: ServerResponse, status: number, body: unknown): void {
  const text = `${JSON.stringify(body)}\n`;
  res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text) });
  res.end(text);
}
