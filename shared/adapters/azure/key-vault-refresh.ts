import type { TokenCredential } from '@azure/identity';
import { PermanentError, TransientError } from '../../core/errors';

/**
 * App Service caches Key Vault references and refetches them about once a day; references created
 * before their secrets existed stay unresolved until then. The documented nudge is an authenticated
 * POST to the site's `config/configreferences/appsettings/refresh` (learn.microsoft.com,
 * app-service/app-service-key-vault-references, "Rotation"), api-version 2022-03-01.
 */
export const REFRESH_API_VERSION = '2022-03-01';

export interface FunctionApp {
  subscription: string;
  resourceGroup: string;
  name: string;
}

/** The path (under the ARM endpoint) of the refresh call. */
export function refreshPath(app: FunctionApp): string {
  return `/subscriptions/${app.subscription}/resourceGroups/${encodeURIComponent(app.resourceGroup)}/providers/Microsoft.Web/sites/${encodeURIComponent(app.name)}/config/configreferences/appsettings/refresh?api-version=${REFRESH_API_VERSION}`;
}

/** The exact `az rest` command that does the same (for the docs and for a person to rerun). */
export function refreshCommand(app: FunctionApp, armEndpoint = 'https://management.azure.com'): string {
  return `az rest --method post --url "${armEndpoint}${refreshPath(app)}"`;
}

interface ReferenceAnswer {
  value?: Array<{ name?: string; properties?: { status?: string; secretName?: string } }>;
}

/**
 * Refreshes the app's Key Vault references; returns one line per reference with its status (a
 * setting whose secret is still missing shows it here, not a day later).
 */
export async function refreshKeyVaultReferences(
  credential: TokenCredential,
  armEndpoint: string,
  app: FunctionApp,
): Promise<string[]> {
  const base = armEndpoint.replace(/\/+$/, '');
  const token = await credential.getToken(`${base}/.default`);
  if (!token) throw new PermanentError('no Azure token for the Key Vault reference refresh');
  const what = `refreshing the Key Vault references of function app ${app.name} in resource group ${app.resourceGroup}`;
  let response: Response;
  try {
    response = await fetch(`${base}${refreshPath(app)}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token.token}`, 'content-type': 'application/json' },
      signal: AbortSignal.timeout(30_000),
    });
  } catch (error) {
    throw new TransientError(`${what}: ${(error as Error).message}`);
  }
  const text = await response.text();
  if (!response.ok) {
    let code = '';
    try {
      code = (JSON.parse(text) as { error?: { code?: string } }).error?.code ?? '';
    } catch {}
    const detail = `${what}: ARM answered ${response.status}${code ? ` ${code}` : ''}`;
    if (response.status === 404) throw new PermanentError(`${detail} (is --function-app right?)`);
    if (response.status === 401 || response.status === 403)
      throw new PermanentError(
        `${detail}; the caller needs Microsoft.Web/sites/config/write on the app (e.g. Website Contributor), or run \`${refreshCommand(app, base)}\` as someone who has it`,
      );
    throw response.status >= 500 || response.status === 429
      ? new TransientError(detail)
      : new PermanentError(detail);
  }
  let answer: ReferenceAnswer = {};
  try {
    answer = text ? (JSON.parse(text) as ReferenceAnswer) : {};
  } catch {}
  const lines = [`refreshed the Key Vault references of function app ${app.name}`];
  for (const reference of answer.value ?? []) {
    const setting = reference.name?.split('/').pop() ?? '?';
    lines.push(`  ${setting}: ${reference.properties?.status ?? 'unknown'}`);
  }
  return lines;
}
