import type {
  CallbackConfig,
  Registry,
  Webhook,
  WebhookCreateParameters,
  WebhookUpdateParameters,
} from '@azure/arm-containerregistry';
import { PermanentError } from '../../core/errors';
import { classifyAzureError, statusOf } from './errors';
import { checkRoleAssignmentMode } from './role-mode';

/** What `tagwarden azure setup` makes the registry's webhook look like. */
export interface WantedWebhook {
  /** The Function's URL for ACR webhooks (the `acr` source). */
  serviceUri: string;
  /** The token the `acr` source expects as `Authorization: Bearer <token>`. */
  token: string;
}

/** The webhook as ARM reports it, with the write-only parts read from getCallbackConfig. */
export interface CurrentWebhook {
  serviceUri: string;
  customHeaders: Record<string, string>;
  actions: string[];
  status: string;
  scope: string;
}

export type WebhookPlan =
  | { kind: 'create'; body: WebhookCreateParameters }
  | { kind: 'update'; changed: string[]; body: WebhookUpdateParameters }
  | { kind: 'none' };

/** Push and delete: every tag event the `acr` source turns into history. */
export const WEBHOOK_ACTIONS = ['push', 'delete'];
const AUTHORIZATION = 'Authorization';

/**
 * The change that makes the webhook what Tagwarden needs, or none. Pure, so every case is unit
 * tested; only the fields that differ are updated. Custom headers other than Authorization that
 * someone added by hand are kept. An empty scope means every repository.
 */
export function planWebhook(
  current: CurrentWebhook | null,
  wanted: WantedWebhook,
  location: string,
): WebhookPlan {
  const authorization = `Bearer ${wanted.token}`;
  if (!current) {
    return {
      kind: 'create',
      body: {
        location,
        serviceUri: wanted.serviceUri,
        customHeaders: { [AUTHORIZATION]: authorization },
        actions: [...WEBHOOK_ACTIONS],
        status: 'enabled',
        scope: '',
      },
    };
  }
  const body: WebhookUpdateParameters = {};
  const changed: string[] = [];
  if (current.serviceUri !== wanted.serviceUri) {
    body.serviceUri = wanted.serviceUri;
    changed.push('serviceUri');
  }
  const headerName = Object.keys(current.customHeaders).find((k) => k.toLowerCase() === 'authorization');
  if (headerName === undefined || current.customHeaders[headerName] !== authorization) {
    const kept = Object.fromEntries(
      Object.entries(current.customHeaders).filter(([k]) => k.toLowerCase() !== 'authorization'),
    );
    body.customHeaders = { ...kept, [AUTHORIZATION]: authorization };
    changed.push('customHeaders');
  }
  const actions = [...new Set(current.actions)].sort();
  if (actions.join(',') !== [...WEBHOOK_ACTIONS].sort().join(',')) {
    body.actions = [...WEBHOOK_ACTIONS];
    changed.push('actions');
  }
  if (current.status !== 'enabled') {
    body.status = 'enabled';
    changed.push('status');
  }
  if (current.scope !== '') {
    body.scope = '';
    changed.push('scope');
  }
  return changed.length === 0 ? { kind: 'none' } : { kind: 'update', changed, body };
}

/** The plan as lines for a person; the token is never printed. */
export function describePlan(plan: WebhookPlan, webhookName: string): string[] {
  if (plan.kind === 'none') return [`webhook ${webhookName} is up to date; nothing to change`];
  const body = plan.body;
  const fields: Array<[string, string | undefined]> = [
    ['serviceUri', body.serviceUri],
    ['actions', body.actions?.join(', ')],
    ['status', body.status],
    ['scope', body.scope === undefined ? undefined : body.scope || '(every repository)'],
  ];
  const lines =
    plan.kind === 'create'
      ? [`webhook ${webhookName}: create in ${plan.body.location}`]
      : [`webhook ${webhookName}: update ${plan.changed.join(', ')}`];
  for (const [name, value] of fields) if (value !== undefined) lines.push(`  ${name}: ${value}`);
  for (const header of Object.keys(body.customHeaders ?? {}).sort())
    lines.push(`  header ${header}: ${header === AUTHORIZATION ? 'Bearer ***' : '***'}`);
  return lines;
}

/** The part of ContainerRegistryManagementClient setup uses (the real client satisfies it). */
export interface ArmContainerRegistry {
  registries: { get(resourceGroup: string, registry: string): Promise<Registry> };
  webhooks: {
    get(resourceGroup: string, registry: string, webhook: string): Promise<Webhook>;
    getCallbackConfig(resourceGroup: string, registry: string, webhook: string): Promise<CallbackConfig>;
    beginCreateAndWait(
      resourceGroup: string,
      registry: string,
      webhook: string,
      parameters: WebhookCreateParameters,
    ): Promise<Webhook>;
    beginUpdateAndWait(
      resourceGroup: string,
      registry: string,
      webhook: string,
      parameters: WebhookUpdateParameters,
    ): Promise<Webhook>;
  };
}

export interface WebhookSetupRequest extends WantedWebhook {
  subscription: string;
  resourceGroup: string;
  registry: string;
  webhookName: string;
  dryRun: boolean;
  /** The app was given AcrPush and the tag-lock custom role (`registryPermissions=legacy`). */
  legacyRoles?: boolean;
}

export interface WebhookSetupResult {
  plan: WebhookPlan;
  /** What was planned and what happened, for a person. */
  lines: string[];
  /** Whether a write call was made. */
  changed: boolean;
}

/** Reads the registry and its webhook, plans, and (unless a dry run) applies the plan. */
export async function setupAcrWebhook(
  arm: ArmContainerRegistry,
  request: WebhookSetupRequest,
): Promise<WebhookSetupResult> {
  const { resourceGroup, registry, webhookName } = request;
  const where = `registry ${registry} in resource group ${resourceGroup} of subscription ${request.subscription}`;
  let found: Registry;
  try {
    found = await arm.registries.get(resourceGroup, registry);
  } catch (error) {
    if (statusOf(error) === 404) throw new PermanentError(`${where} was not found`);
    throw classifyAzureError(`reading ${where}`, error);
  }
  // Before any write: revert and lock need roles the registry's mode honours.
  const mode = checkRoleAssignmentMode({
    subscription: request.subscription,
    resourceGroup,
    registry,
    mode: found.roleAssignmentMode,
    legacyRoles: request.legacyRoles === true,
  });
  const current = await readWebhook(arm, request);
  const plan = planWebhook(current, request, found.location);
  const lines = [`${where} (${found.location})`, mode, ...describePlan(plan, webhookName)];
  if (plan.kind === 'none') return { plan, lines, changed: false };
  if (request.dryRun) return { plan, lines: [...lines, 'dry run: nothing was changed'], changed: false };
  try {
    if (plan.kind === 'create')
      await arm.webhooks.beginCreateAndWait(resourceGroup, registry, webhookName, plan.body);
    else await arm.webhooks.beginUpdateAndWait(resourceGroup, registry, webhookName, plan.body);
  } catch (error) {
    throw classifyAzureError(
      `${plan.kind === 'create' ? 'creating' : 'updating'} webhook ${webhookName}`,
      error,
    );
  }
  return {
    plan,
    lines: [...lines, `${plan.kind === 'create' ? 'created' : 'updated'} webhook ${webhookName}`],
    changed: true,
  };
}

async function readWebhook(
  arm: ArmContainerRegistry,
  request: WebhookSetupRequest,
): Promise<CurrentWebhook | null> {
  const { resourceGroup, registry, webhookName } = request;
  let webhook: Webhook;
  try {
    webhook = await arm.webhooks.get(resourceGroup, registry, webhookName);
  } catch (error) {
    if (statusOf(error) === 404) return null;
    throw classifyAzureError(`reading webhook ${webhookName}`, error);
  }
  // serviceUri and customHeaders are write-only on the webhook; only getCallbackConfig shows them.
  let callback: CallbackConfig;
  try {
    callback = await arm.webhooks.getCallbackConfig(resourceGroup, registry, webhookName);
  } catch (error) {
    throw classifyAzureError(`reading the callback of webhook ${webhookName}`, error);
  }
  return {
    serviceUri: callback.serviceUri,
    customHeaders: callback.customHeaders ?? {},
    actions: webhook.actions ?? [],
    status: webhook.status ?? 'enabled',
    scope: webhook.scope ?? '',
  };
}
