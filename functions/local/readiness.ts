import { statSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { errorMessage } from '../../shared/core';
import type { HistoryStore } from '../../shared/history';
import type { Logger } from '../../shared/log';
import { send } from './http-json';

/** Resolves to null when serve can take traffic, else to the reason it cannot (one line, shown to anyone who asks). */
export type ReadinessCheck = () => Promise<string | null>;

/**
 * One check at a time: a caller that comes while a check runs shares its answer. A probe anyone may
 * send unauthenticated then costs at most one outgoing call (a history read, a Kubernetes API list)
 * at a time, however many arrive at once; each answer is still fresh (it began after the request did
 * or while it waited, never from a cache). A check cut short by `answerWithin` has ended here while
 * its call may still hang: the next caller starts another.
 */
export function oneAtATime<T>(check: () => Promise<T>): () => Promise<T> {
  let running: Promise<T> | null = null;
  return () => {
    running ??= check().finally(() => {
      running = null;
    });
    return running;
  };
}

/**
 * What `work` resolves to, or `late()` when it has not settled within `ms`: a check whose call hangs
 * (a blackholed server) still answers, and, shared by `oneAtATime`, does not hold every later probe.
 */
export async function answerWithin<T>(work: Promise<T>, ms: number, late: () => T): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<T>((resolve) => {
    timer = setTimeout(() => resolve(late()), ms);
  });
  try {
    return await Promise.race([work, deadline]);
  } finally {
    clearTimeout(timer);
  }
}

/** The tag a readiness read looks up: a point read on the tag table, which no real tag can match. */
const PROBE = { registryHost: 'readyz.invalid', repository: 'readyz', tag: 'readyz' } as const;

/** Why serve is not ready: `reason` in a few words for whoever asks, `detail` for serve's log only. */
interface NotReady {
  reason: string;
  detail: string;
}

/**
 * Ready when the history answers a cheap read (one tag looked up by key) within `withinMs`. For a
 * SQLite file, also when the file is still the one opened: a removed or replaced file would go on
 * answering from the open handle while every other process sees another history. Anyone may ask, so
 * the reason names no file, host or user: the store's error and the file's path go to the log, at
 * `warn` once each time they change (and `info` when the history answers again).
 */
export function historyReadiness(
  store: Pick<HistoryStore, 'tagState'>,
  file: string | null,
  log: Logger,
  withinMs = 1500,
): ReadinessCheck {
  const opened = file === null ? null : inode(file);
  const check = async (): Promise<NotReady | null> => {
    if (file !== null && inode(file) !== opened) {
      const reason = 'the history file was removed or replaced since serve opened it';
      return { reason, detail: `${reason}: ${file}` };
    }
    const reason = `the history did not answer within ${withinMs} ms`;
    try {
      return await answerWithin(
        store.tagState(PROBE).then(() => null),
        withinMs,
        (): NotReady => ({ reason, detail: reason }),
      );
    } catch (error) {
      const detail = `the history did not answer: ${errorMessage(error)}`;
      return { reason: "the history did not answer (serve's log has the error)", detail };
    }
  };
  let logged: string | null = null;
  return async () => {
    const found = await check();
    if ((found?.detail ?? null) !== logged) {
      if (found) log.warn('not ready', { reason: found.detail });
      else log.info('ready again: the history answers');
      logged = found?.detail ?? null;
    }
    return found?.reason ?? null;
  };
}

function inode(file: string): number | null {
  try {
    return statSync(file).ino;
  } catch {
    return null;
  }
}

/** `GET /readyz`: 200 `{status: "ready"}`, or 503 `{status: "not ready", reason}`. */
export async function answerReadiness(
  check: ReadinessCheck,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<void> {
  if (req.method !== 'GET' && req.method !== 'HEAD') return send(res, 405, { error: 'use GET' });
  const reason = await check();
  if (reason === null) return send(res, 200, { status: 'ready' });
  send(res, 503, { status: 'not ready', reason });
}
