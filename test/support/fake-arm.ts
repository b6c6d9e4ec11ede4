/**
 * A stand-in for Azure Resource Manager on 127.0.0.1, for the container-registry paths
 * `@azure/arm-containerregistry` 12 calls in `tagwarden azure setup`. There is no ARM emulator.
 *
 *   const arm = await startFakeArm();                   // afterAll: await arm.stop()
 *   arm.addRegistry({ subscription, resourceGroup, registry, location: 'westeurope' });
 *   // point the client at it: endpoint arm.endpoint (loopback http, see shared/adapters/azure/loopback.ts),
 *   // or run the CLI with TAGWARDEN_ARM_ENDPOINT=arm.endpoint TAGWARDEN_ARM_TOKEN=anything
 *   arm.webhookOf(subscription, resourceGroup, registry, 'tagwarden'); // stored webhook, secrets included
 *   arm.writeCalls();   // the PUT and PATCH calls, with their JSON bodies
 *
 * Paths, under /subscriptions/{s}/resourceGroups/{g}/providers/Microsoft.ContainerRegistry/registries/{r}:
 *   GET  ''                                   the registry, with its roleAssignmentMode (404 ResourceNotFound when unknown)
 *   GET|PUT|PATCH /webhooks/{w}               the webhook (serviceUri and customHeaders are write-only)
 *   POST /webhooks/{w}/getCallbackConfig      serviceUri and customHeaders
 * and POST /subscriptions/{s}/resourceGroups/{g}/providers/Microsoft.Web/sites/{app}/config/
 * configreferences/appsettings/refresh: the Key Vault references addSite gave, with their status.
 * Writes answer 200 with `provisioningState: Succeeded`, so the SDK's poller finishes at once.
 * A request without `Authorization: Bearer …` answers 401.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ArmCall {
  method: string;
  path: string;
  status: number;
  authorization: string | null;
  body: unknown;
}

export interface FakeWebhook {
  location: string;
  serviceUri: string;
  customHeaders: Record<string, string>;
  actions: string[];
  status: string;
  scope: string;
}

export interface FakeArm {
  endpoint: string;
  calls: ArmCall[];
  addRegistry(r: {
    subscription: string;
    resourceGroup: string;
    registry: string;
    location: string;
    /** Azure resource tags of the registry. */
    tags?: Record<string, string>;
    /** `properties.roleAssignmentMode` (AbacRepositoryPermissions, LegacyRegistryPermissions); left out: absent. */
    roleAssignmentMode?: string;
  }): void;
  webhookOf(
    subscription: string,
    resourceGroup: string,
    registry: string,
    webhook: string,
  ): FakeWebhook | null;
  setWebhook(
    subscription: string,
    resourceGroup: string,
    registry: string,
    webhook: string,
    value: FakeWebhook,
  ): void;
  /** A Function App whose Key Vault references the refresh call reports (setting → status). */
  addSite(s: {
    subscription: string;
    resourceGroup: string;
    site: string;
    references: Record<string, string>;
  }): void;
  writeCalls(): ArmCall[];
  stop(): Promise<void>;
}

interface FakeRegistry {
  location: string;
  roleAssignmentMode?: string;
  tags: Record<string, string>;
  webhooks: Map<string, FakeWebhook>;
}

const REGISTRY =
  /^\/subscriptions\/([^/]+)\/resourceGroups\/([^/]+)\/providers\/Microsoft\.ContainerRegistry\/registries\/([^/]+)(?:\/webhooks\/([^/]+)(\/getCallbackConfig)?)?$/i;

const SITE_REFRESH =
  /^\/subscriptions\/([^/]+)\/resourceGroups\/([^/]+)\/providers\/Microsoft\.Web\/sites\/([^/]+)\/config\/configreferences\/appsettings\/refresh$/i;

export async function startFakeArm(): Promise<FakeArm> {
  const registries = new Map<string, FakeRegistry>();
  const sites = new Map<string, Record<string, string>>();

  /** POST …/sites/{app}/config/configreferences/appsettings/refresh: the references and their status. */
  function refresh(method: string, match: RegExpExecArray) {
    const [, s, g, app] = match;
    const references = sites.get(key(s!, g!, app!));
    if (method !== 'POST') return armError(405, 'MethodNotAllowed', method);
    if (!references) return armError(404, 'ResourceNotFound', `site ${app} not found`);
    const value = Object.entries(references).map(([name, status]) => ({
      id: `${match[0].replace(/\/refresh$/, '')}/${name}`,
      name,
      type: 'Microsoft.Web/sites/config/configreferences',
      properties: { status, secretName: name.toLowerCase() },
    }));
    return { status: 200, body: { value } };
  }
  const calls: ArmCall[] = [];
  const key = (s: string, g: string, r: string) => `${s}/${g}/${r}`.toLowerCase();

  const webhookBody = (id: string, name: string, w: FakeWebhook) => ({
    id,
    name,
    type: 'Microsoft.ContainerRegistry/registries/webhooks',
    location: w.location,
    properties: { status: w.status, scope: w.scope, actions: w.actions, provisioningState: 'Succeeded' },
  });

  function handle(method: string, path: string, body: Record<string, unknown> | null) {
    const site = SITE_REFRESH.exec(path);
    if (site) return refresh(method, site);
    const m = REGISTRY.exec(path);
    if (!m) return armError(404, 'InvalidResourceType', `${method} ${path} is not part of this fake`);
    const [, s, g, r, w, callback] = m;
    const registry = registries.get(key(s!, g!, r!));
    if (!registry)
      return armError(
        404,
        'ResourceNotFound',
        `The Resource 'Microsoft.ContainerRegistry/registries/${r}' under resource group '${g}' was not found.`,
      );
    if (!w) {
      if (method !== 'GET') return armError(405, 'MethodNotAllowed', method);
      return {
        status: 200,
        body: {
          id: path,
          name: r,
          type: 'Microsoft.ContainerRegistry/registries',
          location: registry.location,
          tags: registry.tags,
          sku: { name: 'Premium', tier: 'Premium' },
          properties: {
            loginServer: `${r!.toLowerCase()}.azurecr.io`,
            provisioningState: 'Succeeded',
            ...(registry.roleAssignmentMode ? { roleAssignmentMode: registry.roleAssignmentMode } : {}),
          },
        },
      };
    }
    const webhook = registry.webhooks.get(w);
    const properties = (body?.properties ?? {}) as Partial<FakeWebhook>;
    if (callback) {
      if (method !== 'POST') return armError(405, 'MethodNotAllowed', method);
      if (!webhook) return armError(404, 'ResourceNotFound', `webhook ${w} not found`);
      return { status: 200, body: { serviceUri: webhook.serviceUri, customHeaders: webhook.customHeaders } };
    }
    if (method === 'GET') {
      if (!webhook) return armError(404, 'ResourceNotFound', `webhook ${w} not found`);
      return { status: 200, body: webhookBody(path, w, webhook) };
    }
    if (method === 'PUT') {
      if (typeof body?.location !== 'string' || typeof properties.serviceUri !== 'string')
        return armError(400, 'InvalidRequestContent', 'location and properties.serviceUri are required');
      const created: FakeWebhook = {
        location: body.location,
        serviceUri: properties.serviceUri,
        customHeaders: properties.customHeaders ?? {},
        actions: properties.actions ?? [],
        status: properties.status ?? 'enabled',
        scope: properties.scope ?? '',
      };
      registry.webhooks.set(w, created);
      return { status: 200, body: webhookBody(path, w, created) };
    }
    if (method === 'PATCH') {
      if (!webhook) return armError(404, 'ResourceNotFound', `webhook ${w} not found`);
      for (const field of ['serviceUri', 'customHeaders', 'actions', 'status', 'scope'] as const)
        if (properties[field] !== undefined) Object.assign(webhook, { [field]: properties[field] });
      return { status: 200, body: webhookBody(path, w, webhook) };
    }
    return armError(405, 'MethodNotAllowed', method);
  }

  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      const path = new URL(req.url ?? '/', 'http://fake').pathname;
      const method = req.method ?? 'GET';
      const authorization = req.headers.authorization ?? null;
      let body: Record<string, unknown> | null = null;
      let reply: { status: number; body: unknown };
      try {
        body = text ? (JSON.parse(text) as Record<string, unknown>) : null;
        reply = /^Bearer \S+$/.test(authorization ?? '')
          ? handle(method, path, body)
          : armError(401, 'AuthenticationFailed', 'no bearer token');
      } catch {
        reply = armError(400, 'InvalidRequestContent', 'the body is not JSON');
      }
      calls.push({ method, path, status: reply.status, authorization, body });
      const payload = JSON.stringify(reply.body);
      res.writeHead(reply.status, { 'Content-Type': 'application/json' });
      res.end(payload);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  return {
    endpoint,
    calls,
    addRegistry: ({ subscription, resourceGroup, registry, location, tags, roleAssignmentMode }) => {
      registries.set(key(subscription, resourceGroup, registry), {
        location,
        ...(roleAssignmentMode ? { roleAssignmentMode } : {}),
        tags: tags ?? {},
        webhooks: new Map(),
      });
    },
    webhookOf: (s, g, r, w) => {
      const webhook = registries.get(key(s, g, r))?.webhooks.get(w);
      return webhook ? structuredClone(webhook) : null;
    },
    setWebhook: (s, g, r, w, value) => {
      registries.get(key(s, g, r))?.webhooks.set(w, structuredClone(value));
    },
    addSite: ({ subscription, resourceGroup, site, references }) => {
      sites.set(key(subscription, resourceGroup, site), { ...references });
    },
    writeCalls: () => calls.filter((c) => c.method === 'PUT' || c.method === 'PATCH'),
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function armError(status: number, code: string, message: string) {
  return { status, body: { error: { code, message } } };
}
