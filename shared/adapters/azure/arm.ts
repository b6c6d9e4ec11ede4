import { ContainerRegistryManagementClient } from '@azure/arm-containerregistry';
import type { TokenCredential } from '@azure/identity';
import { azureEndpoint } from './loopback';

export const DEFAULT_ARM_ENDPOINT = 'https://management.azure.com';

/**
 * An ARM client for container registries. `endpoint` picks another cloud, or a stand-in on
 * loopback http (tests); the token scope follows the endpoint, as the SDK's default does.
 */
export function containerRegistryManagement(
  credential: TokenCredential,
  subscription: string,
  endpoint: string = DEFAULT_ARM_ENDPOINT,
): ContainerRegistryManagementClient {
  const setup = azureEndpoint(endpoint, true);
  return new ContainerRegistryManagementClient(credential, subscription, {
    endpoint: setup.endpoint,
    additionalPolicies: setup.additionalPolicies,
  });
}
