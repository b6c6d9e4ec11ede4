import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { KubernetesApiError, problemSummary } from '../../shared/agent/api-errors';
import {
  type AgentOptions,
  applyBump,
  type BumpReport,
  type Readiness,
  type WorkloadClient,
} from '../../shared/agent/apply';
import type { ApprovedDigests } from '../../shared/agent/drift';
import {
  DigestBump,
  SIGNATURE_HEADER,
  TIMESTAMP_HEADER,
  verifyBodySignature,
} from '../../shared/contracts/cluster-bump/payload';
import { errorMessage } from '../../shared/core';
import type { Logger } from '../../shared/log';
import { parseJsonBody } from '../../shared/sources/json-body';
import { type GuessLimiter, warningGuessLimiter } from './guess-limit';
import { boundedServer, readBody, send } from './http-json';
import { type AgentMetrics, METRICS_TOKEN_ENV } from './metrics-agent';
import { answerWithin, oneAtATime } from './readiness';

/** A bump is a few hundred bytes; anything near this limit is not one. */
export const MAX_AGENT_BODY_BYTES = 64 * 1024;
export const DEFAULT_WINDOW_SECONDS = 300;
/** Ids remembered at most; past it, new bumps are refused (503) rather than replays let through. */
export const DEFAULT_REPLAY_CAPACITY = 10_000;
/** `/readyz` answers not ready when the Kubernetes API has not answered within this. */
export const DEFAULT_READY_WITHIN_MS = 5_000;
/**
 * Open connections the agent accepts at once; past it a new one is closed unanswered. Its callers are
 * the senders of bumps, the kubelet's probes and Prometheus: a few at a time, never this many.
 */
export const AGENT_MAX_CONNECTIONS = 256;

export interface AgentServerDeps extends AgentOptions {
  secret: string;
  client: WorkloadClient;
  log: Logger;
  /** How far X-Tagwarden-Timestamp may be from now, either way. */
  windowSeconds?: number;
  replayCapacity?: number;
  now?: () => number;
  /** Counts bumps and patches, and answers `GET /metrics`; without it that route is 404. */
  metrics?: AgentMetrics;
  /** How long `/readyz` waits for the Kubernetes API before answering not ready (default 5 s). */
  readyWithinMs?: number;
  /** Drift (issue 15): every accepted bump's digest becomes its tag's approved digest here. */
  approved?: ApprovedDigests;
  /** Wrong metrics tokens per client address; without it, a new one with serve's limits. */
  guesses?: GuessLimiter;
}

/**
 * `tagwarden agent`: receives signed digest bumps (DESIGN.md, "Cluster endpoint contract") and pins the
 * workloads that follow the tag. Answers:
 * 200 `{ patched, unchanged, dryRun, mode, failed, unparsable, refused }` · 400 bad body (with the
 * reason) · 401 missing or wrong signature, or a timestamp header missing, different from the signed
 * body's, or outside the window · 405 · 409 an id already accepted (a replay: the bump was already
 * applied, so the sender must not count it as a failure to retry) · 413 · 424 the Kubernetes API
 * refused the agent's configuration (TLS, 401, 403, 404 of the API): `{ error, problem }`, permanent
 * for the sender · 502 the API failed a list or patch otherwise (the id is forgotten, so the sender's
 * retry is applied) · 503 replay memory full. `GET /healthz` is liveness; `GET /readyz` answers 200
 * when the workloads can be read (the API answers, or manifests mode) and 503 with the reason if not.
 * `GET /metrics` (with `metrics`) is 429 for an address that sent 10 wrong metrics tokens in a minute.
 */
export function createAgentServer(deps: AgentServerDeps): Server {
  const edge: AgentEdge = {
    replays: new ReplayGuard(deps.replayCapacity ?? DEFAULT_REPLAY_CAPACITY),
    readiness: readinessProbe(deps),
    guesses: deps.guesses ?? warningGuessLimiter(deps.log, METRICS_TOKEN_ENV),
  };
  const server = boundedServer((req, res) => {
    route(deps, edge, req, res).catch((error: unknown) => {
      deps.log.error('agent request failed', { error: errorMessage(error) });
      if (!res.headersSent) send(res, 500, { error: 'internal error' });
    });
  }, AGENT_MAX_CONNECTIONS);
  return server;
}

/** What one agent server keeps across its requests. */
interface AgentEdge {
  replays: ReplayGuard;
  readiness: (res: ServerResponse) => Promise<void>;
  guesses: GuessLimiter;
}

/** The signed timestamp, checked against its header and the accepted window; or the answer to refuse with. */
function signedWindow(
  deps: AgentServerDeps,
  bump: DigestBump,
  stamp: string | undefined,
): { signedAt: number; windowMs: number; now: number } | { status: number; error: string } {
  if (stamp === undefined) return { status: 401, error: `missing ${TIMESTAMP_HEADER} header` };
  if (stamp !== bump.timestamp)
    return { status: 401, error: `${TIMESTAMP_HEADER} does not equal the signed body's timestamp` };
  const signedAt = Date.parse(bump.timestamp);
  if (Number.isNaN(signedAt))
    return { status: 400, error: `timestamp ${JSON.stringify(bump.timestamp)} is not an RFC 3339 time` };
  const now = deps.now?.() ?? Date.now();
  const windowMs = (deps.windowSeconds ?? DEFAULT_WINDOW_SECONDS) * 1000;
  if (Math.abs(now - signedAt) > windowMs)
    return {
      status: 401,
      error: `timestamp ${bump.timestamp} is outside the accepted window of ${windowMs / 1000} s (check the clocks)`,
    };
  return { signedAt, windowMs, now };
}

async function route(
  deps: AgentServerDeps,
  { replays, readiness, guesses }: AgentEdge,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<void> {
  const path = new URL(req.url ?? '/', 'http://localhost').pathname;
  if (path === '/healthz' || path === '/readyz') {
    if (req.method !== 'GET' && req.method !== 'HEAD') return send(res, 405, { error: 'use GET' });
    return path === '/healthz' ? send(res, 200, { status: 'ok' }) : readiness(res);
  }
  if (path === '/metrics' && deps.metrics) return deps.metrics.answer(req, res, guesses);
  if (path !== '/' && path !== '/bump')
    return send(res, 404, { error: `no route for ${path.slice(0, 100)}; POST bumps to /bump` });
  if (req.method !== 'POST') {
    res.setHeader('Allow', 'POST');
    return send(res, 405, { error: 'use POST' });
  }
  deps.metrics?.bumpReceived(res);
  const body = await readBody(req, res, MAX_AGENT_BODY_BYTES);
  if (!body) return;
  // Authentication runs on the raw bytes, before any parsing.
  const signature = verifyBodySignature(deps.secret, body, header(req, SIGNATURE_HEADER));
  if (!signature.ok) return send(res, 401, { error: signature.reason });
  const json = parseJsonBody(body.toString('utf8'));
  if (!json.ok) return send(res, 400, { error: json.reason });
  const parsed = DigestBump.safeParse(json.value);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    return send(res, 400, {
      error: `bad bump: ${issue?.path.join('.') || 'body'}: ${issue?.message ?? 'invalid'}`,
    });
  }
  const bump = parsed.data;
  const window = signedWindow(deps, bump, header(req, TIMESTAMP_HEADER));
  if ('status' in window) return send(res, window.status, { error: window.error });
  const { signedAt, windowMs, now } = window;
  const claim = replays.claim(bump.id, signedAt + windowMs, now);
  if (claim === 'seen')
    return send(res, 409, { error: `bump ${bump.id} was already received (replay refused)` });
  if (claim === 'busy') {
    // Not a replay to refuse (409 tells the sender it was delivered): the first attempt has not ended.
    res.setHeader('Retry-After', '5');
    return send(res, 503, { error: `bump ${bump.id} is still being applied; retry later` });
  }
  if (claim === 'full') return send(res, 503, { error: 'too many bumps in the replay window; retry later' });
  deps.approved?.accept(bump);
  await answerBump(deps, replays, bump, res);
}

/**
 * `/readyz`: 200 when the workloads can be read, 503 with the problem in a few words (anyone who
 * reaches the agent may ask, so not what the API said: that is logged, once per change of state).
 * Probes that arrive together share one call to the API.
 */
function readinessProbe(deps: AgentServerDeps): (res: ServerResponse) => Promise<void> {
  let wasReady: boolean | null = null;
  const withinMs = deps.readyWithinMs ?? DEFAULT_READY_WITHIN_MS;
  const check = oneAtATime(() =>
    answerWithin(deps.client.ready(deps.namespaces), withinMs, (): Readiness => {
      const error = `the Kubernetes API did not answer within ${withinMs} ms`;
      return { ready: false, source: 'api', error, problem: null };
    }),
  );
  return async (res) => {
    const state = await check();
    if (state.ready !== wasReady) {
      if (state.ready) deps.log.info('ready', { source: state.source, detail: state.detail });
      else deps.log.warn('not ready', { source: state.source, error: state.error, problem: state.problem });
      wasReady = state.ready;
    }
    if (state.ready) return send(res, 200, { status: 'ready', source: state.source, detail: state.detail });
    // Manifests mode runs where its files are: their names and lines are no secret there.
    const error = state.source === 'manifests' ? state.error : problemSummary(state.problem);
    send(res, 503, { status: 'not ready', source: state.source, problem: state.problem, error });
  };
}

/** Applies an accepted bump and answers with what happened (DESIGN.md's contract, see createAgentServer). */
async function answerBump(
  deps: AgentServerDeps,
  replays: ReplayGuard,
  bump: DigestBump,
  res: ServerResponse,
): Promise<void> {
  let report: BumpReport;
  try {
    report = await applyBump(deps.client, bump, deps, deps.log);
  } catch (error) {
    replays.forget(bump.id);
    deps.log.error('bump failed', { eventId: bump.id, error: errorMessage(error) });
    if (error instanceof KubernetesApiError && error.problem)
      return send(res, 424, permanent(error.problem, error.message));
    return send(res, 502, { error: errorMessage(error) });
  }
  deps.metrics?.bumpApplied(report);
  if (report.failed.length > 0) {
    // Forgotten, so a retry (or `tagwarden retry` once the configuration is fixed) is applied.
    replays.forget(bump.id);
    const configuration = report.failed.find((failure) => failure.problem);
    if (configuration?.problem)
      return send(res, 424, { ...permanent(configuration.problem, configuration.error), ...report });
    return send(res, 502, { error: `${report.failed.length} patch(es) failed`, ...report });
  }
  replays.applied(bump.id);
  if (report.refused.length > 0 && report.patched.length === 0) {
    // Every workload it would move already took it or a newer bump: a replay that outlived our memory.
    return send(res, 409, { error: `bump ${bump.id} refused: ${report.refused[0]!.reason}`, ...report });
  }
  send(res, 200, report);
}

/** The body of a permanent failure: the sender gives up on a 4xx, and its excerpt starts with the reason. */
function permanent(problem: string, message: string): { error: string; problem: string } {
  return { error: `cluster configuration (${problem}): ${message}`, problem };
}

/**
 * Remembers accepted ids until their timestamp leaves the window (after that the timestamp check
 * refuses the body anyway), so memory is bounded by the rate of bumps times the window. An id is
 * `busy` from its claim until its bump was applied (`seen` after) or failed (forgotten, so a retry
 * applies it): a retry that arrives while the first attempt still waits on the API is told to come
 * back, not that the bump was delivered.
 */
export class ReplayGuard {
  private readonly expiries = new Map<string, { expiresAt: number; applied: boolean }>();
  constructor(private readonly capacity: number) {}

  claim(id: string, expiresAt: number, now: number): 'new' | 'seen' | 'busy' | 'full' {
    const known = this.expiries.get(id);
    if (known !== undefined && known.expiresAt >= now) return known.applied ? 'seen' : 'busy';
    if (this.expiries.size >= this.capacity) {
      for (const [key, entry] of this.expiries) if (entry.expiresAt < now) this.expiries.delete(key);
      if (this.expiries.size >= this.capacity) return 'full';
    }
    this.expiries.set(id, { expiresAt, applied: false });
    return 'new';
  }

  /** The bump of `id` was applied: from now on a retry of it is a replay. */
  applied(id: string): void {
    const entry = this.expiries.get(id);
    if (entry) entry.applied = true;
  }

  forget(id: string): void {
    this.expiries.delete(id);
  }

  get size(): number {
    return this.expiries.size;
  }
}

function header(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name.toLowerCase()];
  return Array.isArray(value) ? value[0] : value;
}
