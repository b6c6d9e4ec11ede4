/**
 * The "Deploy on Azure" steps of docs/azure.md, rehearsed against what they build and deploy:
 *  1. the policy as JSON, with the command of step 2 (`tagwarden policy --config tagwarden.yaml --json`);
 *  2. the app settings of `infra/azure/main.bicep`, read from the template (params given as the
 *     README's deployment command gives them, variables and resources evaluated, what only Azure
 *     knows after creating a resource filled in below);
 *  3. the secrets the README sets in the vault, which App Service puts in place of the settings'
 *     Key Vault references;
 *  4. the package, built and zipped exactly as the README does, unpacked as the platform does;
 * then every function the app registers is called, as the Functions host would call it, in a
 * process whose environment is those settings: the webhook, the Event Grid trigger and HTTP route
 * (Event Grid schema, CloudEvents, handshake) and the outbox timer. Stand-ins: Azurite for the
 * storage account (through `TAGWARDEN_STORAGE`, which the README documents as winning over the
 * account name), the ACR data plane and ARM on loopback (reached as `https://myregistry.azurecr.io`
 * and `https://management.azure.com`), App Service's managed-identity endpoint, and Slack.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TableClient } from '@azure/data-tables';
import { TableStorageHistoryStore } from '../../shared/history/table-storage';
import { type RunningAzurite, startAzurite } from '../support/azurite';
import { appSettings, type Deployment, evaluate, readBicep } from '../support/bicep';
import { runCli, useCliSnapshot } from '../support/cli-process';
import { digestOf } from '../support/events';
import { type FakeAcr, startFakeAcr } from '../support/fake-acr';
import { type FakeArm, startFakeArm } from '../support/fake-arm';
import { type FakeManagedIdentity, startFakeManagedIdentity } from '../support/fake-managed-identity';
import { manifestFor } from '../support/fake-registry';
import { type FunctionsHost, type HttpInput, startFunctionsHost } from '../support/functions-host';
import { DRIFT_SECRET, driftReport, SPLIT, signedDrift } from '../support/signed-drift';
import { signedClick } from '../support/slack-clicks';
import { type SlackStub, startSlackStub } from '../support/slack-stub';
import { buildCli, eventually } from '../support/tagwarden';

const REPO = join(__dirname, '..', '..');
// The README's example values: `-p registryName=myregistry registryResourceGroup=registry-rg`, group `tagwarden`.
const SUBSCRIPTION = '00000000-1111-2222-3333-444444444444';
const REGISTRY = 'myregistry';
const REGISTRY_GROUP = 'registry-rg';
const LOGIN_SERVER = `${REGISTRY}.azurecr.io`;
const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
const POLICY_YAML = `rules:
  - match: { repository: orders }
    action: revert
  - match: { repository: payments-api }
    action: lock
`;
// Step 2 of docs/azure.md, as written there (`node bin/tagwarden.js …`, in the directory of tagwarden.yaml).
const POLICY_TO_JSON = ['policy', '--config', 'tagwarden.yaml', '--json'];
// Step 3 of the README: `az keyvault secret set --vault-name <keyVaultName> -n <name> --value …`.
const WEBHOOK_SECRET = 'b3f1c0ffee5ec2e7d00dfeedc0ffee5ec2e7d00dfeed';
const SIGNING_SECRET = 'rehearsal-slack-signing-secret-0123';
const VAULT_SECRETS = (slackUrl: string): Record<string, string> => ({
  'tagwarden-acr-webhook-secret': WEBHOOK_SECRET,
  'tagwarden-slack-webhook-url': slackUrl,
  'tagwarden-slack-signing-secret': SIGNING_SECRET,
  // The cluster an agent reports drift for (and bumps would go to): docs/azure.md's clusters secret.
  'tagwarden-clusters': JSON.stringify([
    { name: 'prod-eu', url: 'https://agent.prod-eu.example/bump', format: 'tagwarden', secret: DRIFT_SECRET },
  ]),
});

let azurite: RunningAzurite;
let acr: FakeAcr;
let arm: FakeArm;
let identity: FakeManagedIdentity;
let slack: SlackStub;
let host: FunctionsHost;
let store: TableStorageHistoryStore;
let settings: Record<string, string>;
let work: string;
let restoreCli: (() => void) | undefined;
const called = new Set<string>();

/** What Azure reports about the resources once created (the template reads these, it cannot set them). */
const deployment = (policyJson: string): Deployment => ({
  subscriptionId: SUBSCRIPTION,
  tenantId: '99999999-8888-7777-6666-555555555555',
  resourceGroup: 'tagwarden',
  location: 'westeurope',
  params: {
    registryName: REGISTRY,
    registryResourceGroup: REGISTRY_GROUP,
    policyJson,
    slackEnabled: true,
    slackActions: true,
    clusterBumps: true,
  },
  runtime: {
    'Microsoft.ContainerRegistry/registries': (name) => ({ loginServer: `${name.toLowerCase()}.azurecr.io` }),
    'Microsoft.KeyVault/vaults': (name) => ({ vaultUri: `https://${name}.vault.azure.net/` }),
    'Microsoft.Insights/components': () => ({
      ConnectionString: 'InstrumentationKey=00000000-0000-0000-0000-000000000000',
    }),
    'Microsoft.Storage/storageAccounts': (name) => ({
      primaryEndpoints: { blob: `https://${name}.blob.core.windows.net/` },
    }),
  },
});

/**
 * App Service's part: a Key Vault reference (`@Microsoft.KeyVault(SecretUri=https://<vault>/secrets/<name>/)`
 * or `@Microsoft.KeyVault(VaultName=<vault>;SecretName=<name>)`) is replaced by the secret when the
 * template's vault holds it; otherwise the reference stays as it is, as App Service leaves it.
 */
function resolveKeyVaultReferences(
  defined: Record<string, string>,
  vaultUri: string,
  secrets: Record<string, string>,
): Record<string, string> {
  const vaultName = new URL(vaultUri).hostname.split('.')[0];
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(defined)) {
    const byUri = /^@Microsoft\.KeyVault\(SecretUri=(https:\/\/[^/]+\/)secrets\/([^/)]+)\/?\)$/.exec(value);
    const byName = /^@Microsoft\.KeyVault\(VaultName=([^;)]+);SecretName=([^;)]+)\)$/.exec(value);
    const ours = byUri?.[1] === vaultUri || byName?.[1] === vaultName;
    const secret = ours ? secrets[(byUri ?? byName)![2]!] : undefined;
    out[name] = secret ?? value;
  }
  return out;
}

/** Step 4 of the README: package, then `(cd dist/azure-functions && zip -qr ../azure-functions.zip .)`. */
function buildAndUnpack(into: string): string {
  execFileSync(process.execPath, ['functions/azure/package.mjs'], { cwd: REPO, stdio: 'pipe' });
  const dist = join(REPO, 'dist');
  rmSync(join(dist, 'azure-functions.zip'), { force: true });
  execFileSync('zip', ['-qr', '../azure-functions.zip', '.'], { cwd: join(dist, 'azure-functions') });
  const app = join(into, 'wwwroot');
  execFileSync('unzip', ['-q', join(dist, 'azure-functions.zip'), '-d', app]);
  return app;
}

beforeAll(async () => {
  [azurite, acr, arm, identity, slack] = await Promise.all([
    startAzurite(),
    startFakeAcr({ loginServer: LOGIN_SERVER }),
    startFakeArm(),
    startFakeManagedIdentity(),
    startSlackStub(),
  ]);
  arm.addRegistry({
    subscription: SUBSCRIPTION,
    resourceGroup: REGISTRY_GROUP,
    registry: REGISTRY,
    location: 'westeurope',
    tags: { 'tagwarden:owners': '#orders-team' },
  });
  work = mkdtempSync(join(tmpdir(), 'tagwarden-azure-rehearsal-'));
  writeFileSync(join(work, 'tagwarden.yaml'), POLICY_YAML);
  buildCli();
  restoreCli = useCliSnapshot();
  const converted = runCli(POLICY_TO_JSON, { cwd: work });
  if (converted.status !== 0) throw new Error(`step 2 failed: ${converted.stderr}`);
  // policyJson="$(cat policy.json)": the shell drops the trailing newline.
  const policyJson = converted.stdout.trimEnd();
  const template = readBicep(readFileSync(join(REPO, 'infra', 'azure', 'main.bicep'), 'utf8'));
  const where = deployment(policyJson);
  const vault = [...template.resources.values()].find((r) => r.type === 'Microsoft.KeyVault/vaults')!;
  const vaultUri = (evaluate(template, where, vault.symbol) as { properties: { vaultUri: string } })
    .properties.vaultUri;
  settings = resolveKeyVaultReferences(appSettings(template, where), vaultUri, VAULT_SECRETS(slack.url));
  const app = buildAndUnpack(work);
  host = await startFunctionsHost(
    app,
    {
      ...settings,
      // Azurite stands in for the storage account (the settings table: it wins over the account name).
      TAGWARDEN_STORAGE: azurite.connectionString,
      // Set by App Service itself for the system-assigned identity.
      IDENTITY_ENDPOINT: identity.endpoint,
      IDENTITY_HEADER: identity.header,
    },
    { [LOGIN_SERVER]: acr.endpoint, 'management.azure.com': arm.endpoint },
  );
  store = new TableStorageHistoryStore(
    TableClient.fromConnectionString(azurite.connectionString, settings.TAGWARDEN_HISTORY_TABLE!, {
      allowInsecureConnection: true,
    }),
  );
}, 180_000);

afterAll(async () => {
  await host?.stop();
  await Promise.all([azurite?.stop(), acr?.stop(), arm?.stop(), identity?.stop(), slack?.close()]);
  if (work) rmSync(work, { recursive: true, force: true });
  restoreCli?.();
});

async function invoke(name: string, input: HttpInput | object) {
  called.add(name);
  const invocation = await host.invoke(name, input);
  if (invocation.error) throw new Error(`${name} failed: ${invocation.error}\n${host.output()}`);
  return invocation;
}

const WEBHOOK_URL = 'https://tagwarden-app.azurewebsites.net/api/webhooks/acr';
const EVENT_GRID_URL = 'https://tagwarden-app.azurewebsites.net/api/webhooks/acr-eventgrid';

function acrDelivery(id: string, repository: string, tag: string, digest: string, secret = WEBHOOK_SECRET) {
  return {
    method: 'POST',
    url: WEBHOOK_URL,
    headers: { 'content-type': 'application/json', authorization: `Bearer ${secret}` },
    body: JSON.stringify({
      id,
      timestamp: new Date().toISOString(),
      action: 'push',
      target: { mediaType: OCI_MANIFEST, size: 524, digest, length: 524, repository, tag },
      request: { id: `req-${id}`, host: LOGIN_SERVER, method: 'PUT', useragent: 'docker/27.0' },
    }),
  };
}

/** ACR's ImagePushed event data, as both Event Grid schemas carry it. */
function pushedData(id: string, repository: string, tag: string, digest: string) {
  return {
    id,
    timestamp: new Date().toISOString(),
    action: 'push',
    target: { mediaType: OCI_MANIFEST, size: 524, digest, length: 524, repository, tag },
    request: { id: `req-${id}`, host: LOGIN_SERVER, method: 'PUT', useragent: 'docker/27.0' },
  };
}

const REGISTRY_ID = `/subscriptions/${SUBSCRIPTION}/resourceGroups/${REGISTRY_GROUP}/providers/Microsoft.ContainerRegistry/registries/${REGISTRY}`;

function eventGridSchema(id: string, repository: string, tag: string, digest: string) {
  return {
    id: `eg-${id}`,
    topic: REGISTRY_ID,
    subject: `${repository}:${tag}`,
    eventType: 'Microsoft.ContainerRegistry.ImagePushed',
    eventTime: new Date().toISOString(),
    dataVersion: '1.0',
    metadataVersion: '1',
    data: pushedData(id, repository, tag, digest),
  };
}

function cloudEvent(id: string, repository: string, tag: string, digest: string) {
  return {
    specversion: '1.0',
    type: 'Microsoft.ContainerRegistry.ImagePushed',
    source: REGISTRY_ID,
    id: `ce-${id}`,
    time: new Date().toISOString(),
    subject: `${repository}:${tag}`,
    datacontenttype: 'application/json',
    data: pushedData(id, repository, tag, digest),
  };
}

function eventGridHttp(
  body: unknown,
  token = WEBHOOK_SECRET,
  method = 'POST',
  headers: Record<string, string> = {},
) {
  return {
    method,
    url: `${EVENT_GRID_URL}?token=${encodeURIComponent(token)}`,
    headers: { 'content-type': 'application/json', ...headers },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  };
}

/** Pushes an image to the ACR stand-in, as `docker push` would (no event is sent). */
function push(repository: string, tag: string, seed: string) {
  const manifest = manifestFor(seed);
  expect(acr.setTag(repository, tag, manifest.bytes, manifest.mediaType)).toBe(manifest.digest);
  return manifest;
}

const ref = (repository: string, tag: string) => ({ registryHost: LOGIN_SERVER, repository, tag });

async function transitions(repository: string, tag: string): Promise<string[]> {
  return (await store.history(ref(repository, tag))).map((row) => row.transition);
}

/** Runs the timer function until `probe` holds (the outbox retries with a backoff of about a second). */
function byTimer<T>(probe: () => T | undefined, what: string): Promise<T> {
  return eventually(async () => {
    await invoke('tagwardenEffects', { isPastDue: false });
    return probe();
  }, what);
}

describe('the template read as deployed', () => {
  it('defines the settings the app needs, the secrets as Key Vault references App Service resolves', () => {
    expect(settings).toMatchObject({
      TAGWARDEN_REGISTRIES: LOGIN_SERVER,
      TAGWARDEN_REGISTRY_IDS: REGISTRY_ID,
      ACR_WEBHOOK_SECRET: WEBHOOK_SECRET,
      SLACK_WEBHOOK_URL: slack.url,
      SLACK_SIGNING_SECRET: SIGNING_SECRET,
    });
    // Validated by step 2, so written with the defaults the file leaves out.
    expect(JSON.parse(settings.POLICY!)).toEqual({
      defaults: { action: 'alert', owners: [], bump: false },
      rules: [
        { match: { repository: 'orders' }, action: 'revert', owners: [], bump: false },
        { match: { repository: 'payments-api' }, action: 'lock', owners: [], bump: false },
      ],
    });
    expect(settings.TAGWARDEN_STORAGE_ACCOUNT).toMatch(/^[a-z0-9]{3,24}$/);
    expect(Object.values(settings).filter((value) => value.startsWith('@Microsoft.KeyVault('))).toEqual([]);
  });
});

describe('the package as the Functions host loads it', () => {
  it('registers the webhook routes, the Event Grid trigger and the outbox timer the README names', () => {
    const methods = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'];
    const byName = Object.fromEntries(host.functions.map((f) => [f.name, f.trigger]));
    expect(byName).toEqual({
      acrWebhook: { type: 'httpTrigger', route: 'webhooks/acr', methods, authLevel: 'anonymous' },
      acrEventGridWebhook: {
        type: 'httpTrigger',
        route: 'webhooks/acr-eventgrid',
        methods,
        authLevel: 'anonymous',
      },
      slackActions: { type: 'httpTrigger', route: 'slack/actions', methods, authLevel: 'anonymous' },
      agentDriftReport: { type: 'httpTrigger', route: 'webhooks/agent', methods, authLevel: 'anonymous' },
      acrEventGrid: { type: 'eventGridTrigger' },
      tagwardenEffects: { type: 'timerTrigger', schedule: '0 */1 * * * *' },
    });
    // The stand-in host module was found: no "test mode" fallback of @azure/functions.
    expect(host.output()).not.toContain('test mode');
  });
});

describe('acrWebhook', () => {
  it('records an authenticated push and reverts an overwrite on the registry, with one alert naming the owners', async () => {
    const v1 = push('orders', '1.0', 'orders-v1');
    const first = await invoke('acrWebhook', acrDelivery('w-1', 'orders', '1.0', v1.digest));
    expect(first.result).toMatchObject({
      status: 202,
      jsonBody: { accepted: 1, transitions: [{ transition: 'first-seen' }] },
    });
    const v2 = push('orders', '1.0', 'orders-v2');
    const overwrite = await invoke('acrWebhook', acrDelivery('w-2', 'orders', '1.0', v2.digest));
    expect(overwrite.result).toMatchObject({
      status: 202,
      jsonBody: { transitions: [{ transition: 'overwrite' }] },
    });
    await byTimer(() => (acr.tagOf('orders', '1.0')?.digest === v1.digest ? true : undefined), 'the revert');
    expect(acr.manifestOf('orders', v1.digest)?.bytes.equals(v1.bytes)).toBe(true);
    await byTimer(() => (slack.messages.length === 1 ? true : undefined), 'the overwrite alert');
    expect(JSON.stringify(slack.messages[0])).toContain('#orders-team');
    expect(await transitions('orders', '1.0')).toEqual(['first-seen', 'overwrite']);
    // The app reached the registry and ARM with its managed identity, nothing else.
    expect(identity.resources).toEqual(
      expect.arrayContaining(['https://containerregistry.azure.net', 'https://management.azure.com']),
    );
    expect(acr.aadTokens.every((token) => token.startsWith('mi-token-'))).toBe(true);
    expect(acr.aadTokens.length).toBeGreaterThan(0);
    expect(arm.calls.length).toBeGreaterThan(0);
    expect(arm.calls.every((call) => call.authorization?.startsWith('Bearer mi-token-'))).toBe(true);
  });

  it('locks a first push under `lock`', async () => {
    const v1 = push('payments-api', '1.4.2', 'payments-v1');
    const first = await invoke('acrWebhook', acrDelivery('w-lock-1', 'payments-api', '1.4.2', v1.digest));
    expect(first.result).toMatchObject({ status: 202 });
    await byTimer(
      () => (acr.tagOf('payments-api', '1.4.2')?.writeEnabled === false ? true : undefined),
      'the lock',
    );
  });

  it('refuses a forged delivery (wrong or no secret) with 401 and records nothing', async () => {
    const v1 = push('orders', '2.0', 'orders-2-v1');
    const forged = await invoke(
      'acrWebhook',
      acrDelivery('w-forged', 'orders', '2.0', v1.digest, 'not-the-secret-at-all'),
    );
    expect(forged.result).toMatchObject({ status: 401 });
    const anonymous = acrDelivery('w-anon', 'orders', '2.0', v1.digest);
    delete (anonymous.headers as Partial<typeof anonymous.headers>).authorization;
    expect((await invoke('acrWebhook', anonymous)).result).toMatchObject({ status: 401 });
    expect(await transitions('orders', '2.0')).toEqual([]);
    expect(acr.tagOf('orders', '2.0')?.digest).toBe(v1.digest);
  });
});

describe('Event Grid', () => {
  it('acrEventGrid (trigger) records a push in the Event Grid schema and one in CloudEvents', async () => {
    const a = push('web', 'eg', 'web-eg');
    expect((await invoke('acrEventGrid', eventGridSchema('t-1', 'web', 'eg', a.digest))).result).toBeNull();
    expect((await store.tagState(ref('web', 'eg')))?.digest).toBe(a.digest);
    const b = push('web', 'ce', 'web-ce');
    expect((await invoke('acrEventGrid', cloudEvent('t-2', 'web', 'ce', b.digest))).result).toBeNull();
    expect((await store.tagState(ref('web', 'ce')))?.digest).toBe(b.digest);
  });

  it('records one push delivered both as the ACR webhook and through Event Grid once', async () => {
    const a = push('web', 'both', 'web-both');
    const webhook = await invoke('acrWebhook', acrDelivery('both-1', 'web', 'both', a.digest));
    expect(webhook.result).toMatchObject({
      status: 202,
      jsonBody: { transitions: [{ transition: 'first-seen' }] },
    });
    // Event Grid's envelope has an id of its own; ACR's event id travels in data.id.
    await invoke('acrEventGrid', eventGridSchema('both-1', 'web', 'both', a.digest));
    const http = await invoke(
      'acrEventGridWebhook',
      eventGridHttp([cloudEvent('both-1', 'web', 'both', a.digest)]),
    );
    expect(http.result).toMatchObject({
      status: 202,
      jsonBody: { transitions: [{ transition: 'duplicate' }] },
    });
    expect(await transitions('web', 'both')).toEqual(['first-seen']);
  });

  it('acrEventGridWebhook answers the handshake and records both schemas; a wrong token gets 401', async () => {
    const validation = await invoke(
      'acrEventGridWebhook',
      eventGridHttp([
        {
          id: 'val-1',
          topic: REGISTRY_ID,
          subject: '',
          eventType: 'Microsoft.EventGrid.SubscriptionValidationEvent',
          eventTime: new Date().toISOString(),
          dataVersion: '1',
          metadataVersion: '1',
          data: { validationCode: 'C0DE-1234', validationUrl: 'https://rp.eventgrid.azure.net/validate' },
        },
      ]),
    );
    expect(validation.result).toMatchObject({ status: 200, jsonBody: { validationResponse: 'C0DE-1234' } });
    const preflight = await invoke(
      'acrEventGridWebhook',
      eventGridHttp(undefined, WEBHOOK_SECRET, 'OPTIONS', {
        'webhook-request-origin': 'eventgrid.azure.net',
      }),
    );
    expect(preflight.result).toMatchObject({
      status: 200,
      headers: { 'WebHook-Allowed-Origin': 'eventgrid.azure.net' },
    });
    const a = push('web', 'http-eg', 'web-http-eg');
    const egSchema = await invoke(
      'acrEventGridWebhook',
      eventGridHttp([eventGridSchema('h-1', 'web', 'http-eg', a.digest)]),
    );
    expect(egSchema.result).toMatchObject({ status: 202, jsonBody: { accepted: 1 } });
    const b = push('web', 'http-ce', 'web-http-ce');
    const ce = await invoke(
      'acrEventGridWebhook',
      eventGridHttp([cloudEvent('h-2', 'web', 'http-ce', b.digest)]),
    );
    expect(ce.result).toMatchObject({ status: 202, jsonBody: { accepted: 1 } });
    expect(await transitions('web', 'http-eg')).toEqual(['first-seen']);
    expect(await transitions('web', 'http-ce')).toEqual(['first-seen']);
    const c = push('web', 'http-forged', 'web-http-forged');
    const forged = await invoke(
      'acrEventGridWebhook',
      eventGridHttp([eventGridSchema('h-3', 'web', 'http-forged', c.digest)], 'wrong-token-wrong-token'),
    );
    expect(forged.result).toMatchObject({ status: 401 });
    expect(await transitions('web', 'http-forged')).toEqual([]);
  });
});

describe('tagwardenEffects (timer)', () => {
  it('delivers an alert the delivery could not send, on a later run of the outbox', async () => {
    const a = push('orders', '3.0', 'orders-3-v1');
    await invoke('acrWebhook', acrDelivery('t-w-1', 'orders', '3.0', a.digest));
    const before = slack.messages.length;
    slack.failNext = [503];
    const b = push('orders', '3.0', 'orders-3-v2');
    await invoke('acrWebhook', acrDelivery('t-w-2', 'orders', '3.0', b.digest));
    expect(slack.messages).toHaveLength(before);
    await byTimer(
      () => (slack.messages.length === before + 1 ? true : undefined),
      'the alert, retried by the timer',
    );
    expect(slack.received).toBeGreaterThan(before + 1);
    expect(acr.tagOf('orders', '3.0')?.digest).toBe(a.digest);
    // Recorded under the source's namespace (`acr:<id>`): every effect of the overwrite settled, none left pending.
    const effects = await store.effectsOf('acr:t-w-2');
    expect(effects.map((e) => e.status)).toEqual(effects.map(() => 'done'));
    expect(effects.length).toBeGreaterThanOrEqual(2);
  });
});

describe('slackActions (HTTP)', () => {
  it('takes a click signed with the secret from Key Vault (a non-approver is told so), refuses a forged one', async () => {
    const value = {
      kind: 'revert' as const,
      ref: `${LOGIN_SERVER}/orders:9.9`,
      from: digestOf('a'),
      to: digestOf('b'),
    };
    const request = (secret: string) => {
      const click = signedClick(value, {
        secret,
        user: 'U0STRANGER',
        signedAt: new Date(),
        responseUrl: `${slack.url}/not-slack`,
      });
      const url = 'https://tagwarden-app.azurewebsites.net/api/slack/actions';
      return { method: 'POST', url, headers: click.headers, body: click.rawBody.toString() };
    };
    const received = slack.received;
    const click = await invoke('slackActions', request(SIGNING_SECRET));
    expect(click.result).toMatchObject({ status: 200, jsonBody: { response_type: 'ephemeral' } });
    expect(JSON.stringify(click.result)).toContain('not an approver');
    expect((await invoke('slackActions', request(`${SIGNING_SECRET}x`))).result).toMatchObject({
      status: 401,
    });
    // Its response_url is not Slack's: nothing is posted there.
    expect(slack.received).toBe(received);
  });
});

describe('agentDriftReport (HTTP)', () => {
  it("records a drift report signed with the cluster's secret from Key Vault, refuses its replay and a forgery", async () => {
    const finding = { ...SPLIT, registryHost: LOGIN_SERVER, repository: 'orders', tag: '7.7' };
    const report = driftReport(`rehearsal-${Date.now()}`, [finding], new Date().toISOString());
    const request = (secret?: string) => {
      const { body, headers } = signedDrift(report, secret);
      const url = 'https://tagwarden-app.azurewebsites.net/api/webhooks/agent';
      return { method: 'POST', url, headers, body };
    };
    expect((await invoke('agentDriftReport', request())).result).toMatchObject({ status: 200 });
    expect((await invoke('agentDriftReport', request())).result).toMatchObject({ status: 409 });
    expect((await invoke('agentDriftReport', request(`${DRIFT_SECRET}x`))).result).toMatchObject({
      status: 401,
    });
    const open = await store.drift.openFindings('prod-eu');
    expect(open.map((o) => o.finding.tag)).toEqual(['7.7']);
  });
});

describe('the rehearsal itself', () => {
  it('called every function the package registers', () => {
    expect([...called].sort()).toEqual(host.functions.map((f) => f.name).sort());
  });

  it("ran step 2's policy command as docs/azure.md writes it", () => {
    const page = readFileSync(join(REPO, 'docs', 'azure.md'), 'utf8');
    expect(page).toContain(`\nnode bin/tagwarden.js ${POLICY_TO_JSON.join(' ')} > policy.json\n`);
  });
});
