import type { EventGridEvent, InvocationContext } from '@azure/functions';
import { errorMessage } from '../../shared/core';
import { recordBody } from '../../shared/guard/poison';
import type { AzureDependencies, DependenciesProvider } from './dependencies';
import { runDueEffects } from './effects';
import { httpHandler } from './http';

/**
 * Event Grid delivered over HTTP (`…/webhooks/acr-eventgrid?token=<secret>`): the Event Grid schema
 * or CloudEvents 1.0, with the subscription-validation handshake and the CloudEvents OPTIONS
 * preflight answered by the acr-eventgrid parser.
 */
export const eventGridWebhookHandler = (getDeps: DependenciesProvider) =>
  httpHandler(getDeps, 'acr-eventgrid');

/**
 * The Event Grid trigger: the host authenticates Event Grid (system key) and answers the validation
 * handshake itself, then hands over one event at a time. Rejected events are kept as failed records;
 * a store outage sends the event to the poison queue; if that fails too, throwing makes Event Grid
 * retry (and dead-letter, when the subscription has a dead-letter destination).
 */
export async function handleEventGridEvent(
  deps: AzureDependencies,
  event: EventGridEvent | Record<string, unknown>,
  context: InvocationContext,
): Promise<void> {
  const body = Buffer.from(JSON.stringify(event));
  const receivedAt = (deps.now?.() ?? new Date()).toISOString();
  const outcome = await recordBody(deps, 'acr-eventgrid', body);
  if (outcome.kind === 'unavailable') {
    try {
      await deps.poison.add({ source: 'acr-eventgrid', reason: outcome.reason, receivedAt, body });
      context.warn('event kept in the poison queue for replay');
      return;
    } catch (error) {
      throw new Error(
        `history store and poison queue unavailable; Event Grid will retry: ${errorMessage(error)}`,
      );
    }
  }
  if (outcome.kind !== 'recorded' && outcome.kind !== 'handshake') {
    // Not an event we can read at all: keep it where an operator lists failures.
    await deps.store.recordFailure({
      source: 'acr-eventgrid',
      reason: outcome.reason,
      payload: body.toString('utf8'),
      receivedAt,
    });
    context.warn(`event rejected: ${outcome.reason}`);
    return;
  }
  await runDueEffects(deps, context);
}

export const eventGridTriggerHandler =
  (getDeps: DependenciesProvider) =>
  async (event: EventGridEvent, context: InvocationContext): Promise<void> =>
    handleEventGridEvent(await getDeps(), event, context);
