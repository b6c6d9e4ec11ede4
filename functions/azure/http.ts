import type { HttpRequest, HttpResponseInit, InvocationContext } from '@azure/functions';
import { BodyTooLargeError, readBoundedBody } from '../../shared/bounded-body';
import { errorMessage } from '../../shared/core';
import { admitWebhook, ingestAdmitted, webhookPreflight } from '../../shared/guard/ingest';
import { MAX_BODY_BYTES } from '../../shared/sources';
import { preflightAnswer, type WebhookAnswer, webhookAnswer } from '../webhook-answer';
import type { AzureDependencies, DependenciesProvider } from './dependencies';
import { runDueEffects } from './effects';

/** A JSON answer with its status and any extra headers; `nosniff`, so no browser reads it as HTML. */
export function json(status: number, body: unknown, headers: Record<string, string> = {}): HttpResponseInit {
  const answerHeaders = {
    'content-type': 'application/json',
    'x-content-type-options': 'nosniff',
    ...headers,
  };
  return { status, jsonBody: body, headers: answerHeaders };
}

/**
 * One webhook delivery for `source`: authenticate on the raw bytes, bound and parse the body, record
 * (shared/guard/ingest). When the store cannot take it, the body goes to the poison queue and the
 * sender gets a 202, so neither the event nor a retry storm is lost; only if the poison queue fails
 * too does the sender get a 503 and retry.
 */
export async function handleWebhook(
  deps: AzureDependencies,
  source: 'acr' | 'acr-eventgrid',
  request: HttpRequest,
  context: InvocationContext,
): Promise<HttpResponseInit> {
  const headers: Record<string, string> = {};
  request.headers.forEach((value, name) => {
    headers[name.toLowerCase()] = value;
  });
  if (request.method === 'OPTIONS') {
    const preflight = preflightAnswer(webhookPreflight(deps, { source, headers, query: request.query }));
    return json(preflight.status, preflight.body, preflight.headers);
  }
  if (request.method !== 'POST') return json(405, { error: 'use POST' }, { allow: 'POST' });
  // Source and credentials first, from the headers; the body is read only for a request that passed.
  const admission = admitWebhook(deps, { source, headers, query: request.query });
  if (!admission.ok) return answered(webhookAnswer(admission.refusal));
  const body = await boundedBody(request, headers['content-length']);
  if (typeof body === 'string') return answered(webhookAnswer({ kind: 'tooLarge', reason: body }));
  const receivedAt = (deps.now?.() ?? new Date()).toISOString();
  const outcome = await ingestAdmitted(deps, admission.webhook, body);
  if (outcome.kind === 'unavailable') return poisoned(deps, source, body, receivedAt, outcome.reason);
  if (outcome.kind === 'recorded' || outcome.kind === 'handshake') await runDueEffects(deps, context);
  return answered(webhookAnswer(outcome));
}

function answered(answer: WebhookAnswer): HttpResponseInit {
  return json(answer.status, answer.body);
}

/**
 * The body, at most MAX_BODY_BYTES of it, counted as the bytes arrive (a Content-Length can lie or be
 * missing): the one place the Azure HTTP functions enforce the size (`limit`, by default the webhooks'). A string says why it was refused.
 */
export async function boundedBody(
  request: HttpRequest,
  announced: string | undefined,
  limit = MAX_BODY_BYTES,
): Promise<Buffer | string> {
  try {
    return await readBoundedBody(request.body, limit, { contentLength: announced });
  } catch (error) {
    if (error instanceof BodyTooLargeError) return error.message;
    throw error;
  }
}

async function poisoned(
  deps: AzureDependencies,
  source: string,
  body: Buffer,
  receivedAt: string,
  reason: string,
): Promise<HttpResponseInit> {
  try {
    await deps.poison.add({ source, reason, receivedAt, body });
    deps.log.warn('body kept in the poison queue for replay', { source, reason, queue: deps.poison.name });
    return json(202, { accepted: 0, poisoned: true, reason, queue: deps.poison.name });
  } catch (error) {
    deps.log.error('could not keep the body in the poison queue; asking the sender to retry', {
      source,
      error: errorMessage(error),
    });
    return json(503, { error: 'history store unavailable; retry later' });
  }
}

/** A handler with its dependencies resolved per call; a settings error answers 500 with one line. */
export function httpHandler(
  getDeps: DependenciesProvider,
  source: 'acr' | 'acr-eventgrid',
): (request: HttpRequest, context: InvocationContext) => Promise<HttpResponseInit> {
  return async (request, context) => {
    let deps: AzureDependencies;
    try {
      deps = await getDeps();
    } catch (error) {
      context.error(`Tagwarden is misconfigured: ${errorMessage(error)}`);
      return json(500, { error: 'Tagwarden is misconfigured; see the function logs' });
    }
    return handleWebhook(deps, source, request, context);
  };
}
