import { PermanentError } from '../../core/errors';

/**
 * The Azure clouds Tagwarden runs in, with what differs between them: the ARM endpoint, the storage
 * endpoint suffix, and the audience an ACR client asks Entra ID a token for (the SDK's
 * `KnownContainerRegistryAudience`: the public default is `https://containerregistry.azure.net`; the
 * national clouds use their ARM endpoint). Values from the Azure SDK (`@azure/container-registry`
 * KnownContainerRegistryAudience) and `az cloud show` (endpoints.resourceManager, suffixes.storageEndpoint,
 * suffixes.acrLoginServerEndpoint) of each cloud.
 */
export interface AzureCloud {
  /** The name `az cloud list` uses, which AZURE_CLOUD takes. */
  name: 'AzureCloud' | 'AzureChinaCloud' | 'AzureUSGovernment';
  armEndpoint: string;
  /** `<account>.table.<suffix>`, `<account>.queue.<suffix>`. */
  storageSuffix: string;
  acrAudience: string;
  /** Login servers end with it: `<registry><suffix>`. */
  acrSuffix: string;
}

export const AZURE_CLOUDS: readonly AzureCloud[] = [
  {
    name: 'AzureCloud',
    armEndpoint: 'https://management.azure.com',
    storageSuffix: 'core.windows.net',
    acrAudience: 'https://containerregistry.azure.net',
    acrSuffix: '.azurecr.io',
  },
  {
    name: 'AzureChinaCloud',
    armEndpoint: 'https://management.chinacloudapi.cn',
    storageSuffix: 'core.chinacloudapi.cn',
    acrAudience: 'https://management.chinacloudapi.cn',
    acrSuffix: '.azurecr.cn',
  },
  {
    name: 'AzureUSGovernment',
    armEndpoint: 'https://management.usgovcloudapi.net',
    storageSuffix: 'core.usgovcloudapi.net',
    acrAudience: 'https://management.usgovcloudapi.net',
    acrSuffix: '.azurecr.us',
  },
];

const PUBLIC = AZURE_CLOUDS[0] as AzureCloud;

/** The cloud of an ACR login server by its suffix (`.azurecr.cn` → China), or null for another host. */
export function cloudOfRegistry(host: string): AzureCloud | null {
  const name = host.toLowerCase();
  return AZURE_CLOUDS.find((cloud) => name.endsWith(cloud.acrSuffix)) ?? null;
}

/**
 * The cloud a deployment runs in: the AZURE_CLOUD setting when given (AzureCloud, AzureChinaCloud,
 * AzureUSGovernment, any case), else the cloud of the registries it guards (comma-separated login
 * servers), else the public cloud. Registries of two clouds, or a setting that disagrees with them,
 * are refused in one line.
 */
export function azureCloud(setting: string | undefined, registries?: string): AzureCloud {
  const named = setting?.trim();
  let cloud: AzureCloud | undefined;
  if (named) {
    cloud = AZURE_CLOUDS.find((c) => c.name.toLowerCase() === named.toLowerCase());
    if (!cloud)
      throw new PermanentError(
        `AZURE_CLOUD "${named.slice(0, 40)}" is not a cloud Tagwarden knows; use one of ${AZURE_CLOUDS.map((c) => c.name).join(', ')}`,
      );
  }
  for (const host of (registries ?? '')
    .split(',')
    .map((h) => h.trim())
    .filter(Boolean)) {
    const of = cloudOfRegistry(host);
    if (!of) continue;
    if (cloud && of !== cloud)
      throw new PermanentError(
        `registry ${host} is in ${of.name}, but ${named ? `AZURE_CLOUD is ${cloud.name}` : `another registry is in ${cloud.name}`}; one deployment serves one cloud`,
      );
    cloud = of;
  }
  return cloud ?? PUBLIC;
}
