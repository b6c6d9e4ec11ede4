import { app } from '@azure/functions';
import { acrWebhookHandler } from './acr-webhook';
import { azureDependencies } from './dependencies';
import { driftReportHandler } from './drift-report';
import { effectsTimerHandler } from './effects';
import { eventGridTriggerHandler, eventGridWebhookHandler } from './event-grid';
import { slackActionsHandler } from './slack-actions';

// The Functions app (v4 programming model): every function registered here, each a thin handler over
// the shared core. Routes live under the host's `/api` prefix.

// `anonymous`: Tagwarden checks its own secret on the raw bytes, in constant time (shared/auth), and
// a registry cannot add the `?code=` function key to a webhook call it signs with a header.
// Every method reaches the handler so that a GET gets a 405 with a reason, not the host's 404.
const ALL_METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'] as const;

app.http('acrWebhook', {
  route: 'webhooks/acr',
  methods: [...ALL_METHODS],
  authLevel: 'anonymous',
  handler: acrWebhookHandler(azureDependencies),
});

app.http('acrEventGridWebhook', {
  route: 'webhooks/acr-eventgrid',
  methods: [...ALL_METHODS],
  authLevel: 'anonymous',
  handler: eventGridWebhookHandler(azureDependencies),
});

app.http('slackActions', {
  route: 'slack/actions',
  methods: [...ALL_METHODS],
  authLevel: 'anonymous',
  handler: slackActionsHandler(azureDependencies),
});

// Drift reports from `tagwarden agent` (issue 15), signed with the cluster's secret of TAGWARDEN_CLUSTERS.
app.http('agentDriftReport', {
  route: 'webhooks/agent',
  methods: [...ALL_METHODS],
  authLevel: 'anonymous',
  handler: driftReportHandler(azureDependencies),
});

app.eventGrid('acrEventGrid', { handler: eventGridTriggerHandler(azureDependencies) });

app.timer('tagwardenEffects', {
  schedule: '0 */1 * * * *',
  handler: effectsTimerHandler(azureDependencies),
});
