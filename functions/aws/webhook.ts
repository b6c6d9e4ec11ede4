import { SendMessageCommand } from '@aws-sdk/client-sqs';
import type { LambdaFunctionURLEvent } from 'aws-lambda';
import { errorMessage } from '../../shared/core';
import { checkWebhook, webhookPreflight } from '../../shared/guard/ingest';
import { webhookMessages } from '../../shared/guard/queue-envelope';
import { MAX_BODY_BYTES } from '../../shared/sources';
import { acceptedBody, decoded, preflightAnswer, webhookAnswer } from '../webhook-answer';
import { answer, lowerCaseHeaders, type UrlResult, urlResult } from './url-result';
import { type WebhookDeps, webhookDependencies } from './webhook-dependencies';

export type { UrlResult, WebhookDeps };

/**
 * Third-party registry webhooks on a Function URL: authenticate on the raw bytes, bound and parse
 * the body, answer handshakes, queue the normalized events, acknowledge. Recording happens in the
 * queue consumer, so a slow DynamoDB never makes a registry time out and retry.
 */
export async function handleWebhook(deps: WebhookDeps, event: LambdaFunctionURLEvent): Promise<UrlResult> {
  const match = /^\/webhooks\/([^/]+)$/.exec(event.rawPath);
  if (!match)
    return answer(404, {
      error:
        'no such route; webhooks are POST /webhooks/<source> (Slack clicks go to <InteractionsUrl>/slack/actions)',
    });
  const source = decoded(match[1]!);
  if (source === null)
    return answer(400, { error: 'the source name in the path is not valid percent-encoding' });
  // Agents' reports (and Slack's clicks) have a Function URL of their own (interactions.ts), so this
  // bundle carries no DynamoDB (nor the report's contract): say where they go, not "unknown source".
  if (source === 'agent')
    return answer(404, { error: 'drift reports go to POST <InteractionsUrl>/webhooks/agent' });
  const headers = lowerCaseHeaders(event.headers);
  const query = new URLSearchParams(event.rawQueryString ?? '');
  const method = event.requestContext.http.method;
  if (method === 'OPTIONS') {
    const preflight = preflightAnswer(webhookPreflight(deps, { source, headers, query }));
    return answer(preflight.status, preflight.body, preflight.headers);
  }
  if (method !== 'POST') return answer(405, { error: 'use POST' }, { allow: 'POST' });
  const body = event.body
    ? Buffer.from(event.body, event.isBase64Encoded ? 'base64' : 'utf8')
    : Buffer.alloc(0);
  // The one place this runtime bounds a body (the Function URL itself stops at 6 MB).
  if (body.length > MAX_BODY_BYTES)
    return urlResult(
      webhookAnswer({
        kind: 'tooLarge',
        reason: `body is ${body.length} bytes; the limit is ${MAX_BODY_BYTES}`,
      }),
    );
  const checked = checkWebhook(deps, { source, headers, query, body });
  if (!checked.ok) return urlResult(webhookAnswer(checked.refusal));
  if (checked.handshake) return urlResult(webhookAnswer({ kind: 'handshake', response: checked.handshake }));
  const receivedAt = (deps.now?.() ?? new Date()).toISOString();
  try {
    for (const message of webhookMessages(
      checked.source,
      receivedAt,
      checked.events,
      checked.rejected,
      checked.digestDeletes,
    )) {
      await deps.sqs.send(new SendMessageCommand({ QueueUrl: deps.queueUrl, MessageBody: message }));
    }
  } catch (error) {
    deps.log.error('could not queue webhook events; asking the sender to retry', {
      source,
      error: errorMessage(error),
    });
    return urlResult(webhookAnswer({ kind: 'unavailable', reason: 'queue unavailable; retry later' }));
  }
  return answer(
    202,
    acceptedBody({ accepted: checked.events.length, ignored: checked.ignored, rejected: checked.rejected }),
  );
}

export const handler = async (event: LambdaFunctionURLEvent): Promise<UrlResult> => {
  if (!process.env.QUEUE_URL) return answer(500, { error: 'QUEUE_URL is not set' });
  return handleWebhook(await webhookDependencies(), event);
};
