import type { TagRef } from '../../core';
import { PermanentError } from '../../core/errors';
import type { RepositoryOwners } from '../notify/repository-owners';
import { classifyAzureError, statusOf } from './errors';

/** The registry resource tag whose value names its owners, e.g. `#payments, @alice` (as on ECR). */
export const OWNERS_TAG = 'tagwarden:owners';

/** The part of ContainerRegistryManagementClient this needs (the real client satisfies it). */
export interface ArmRegistryReader {
  registries: { get(resourceGroup: string, registry: string): Promise<{ tags?: Record<string, string> }> };
}

/**
 * The owners a registry's `tagwarden:owners` Azure resource tag names: `#payments, @alice` →
 * ['#payments', '@alice']; [] when the tag is absent. ACR has no per-repository resource tags, so
 * on Azure owners are per registry.
 */
export async function ownersFromRegistryTags(
  arm: ArmRegistryReader,
  resourceGroup: string,
  registry: string,
): Promise<string[]> {
  let tags: Record<string, string> | undefined;
  try {
    tags = (await arm.registries.get(resourceGroup, registry)).tags;
  } catch (error) {
    if (statusOf(error) === 404)
      throw new PermanentError(`registry ${registry} in resource group ${resourceGroup} was not found`);
    throw classifyAzureError(`reading the tags of registry ${registry}`, error);
  }
  const value = Object.entries(tags ?? {}).find(([key]) => key.toLowerCase() === OWNERS_TAG)?.[1] ?? '';
  return [...new Set(value.split(/[\s,]+/).filter(Boolean))];
}

const REGISTRY_ID =
  /^\/subscriptions\/([0-9a-fA-F-]{36})\/resourceGroups\/([-\w._()]{1,90})\/providers\/Microsoft\.ContainerRegistry\/registries\/([a-zA-Z0-9]{5,50})$/i;

/**
 * Alert owners from the `tagwarden:owners` tag of the registry an event came from, for the registries
 * named by ARM resource id (app setting TAGWARDEN_REGISTRY_IDS, comma-separated); [] for any other host.
 * Throws on an id that is not a registry's, so a typo in the setting is seen at start.
 */
export function registryOwners(
  resourceIds: string | undefined,
  armFor: (subscription: string) => ArmRegistryReader,
): RepositoryOwners {
  const registries = new Map<string, { subscription: string; resourceGroup: string; name: string }>();
  for (const id of (resourceIds ?? '')
    .split(',')
    .map((text) => text.trim())
    .filter(Boolean)) {
    const match = REGISTRY_ID.exec(id);
    if (!match)
      throw new Error(
        `TAGWARDEN_REGISTRY_IDS: "${id.slice(0, 200)}" is not a registry resource id (/subscriptions/<id>/resourceGroups/<group>/providers/Microsoft.ContainerRegistry/registries/<name>)`,
      );
    const [, subscription, resourceGroup, name] = match as unknown as [string, string, string, string];
    registries.set(name.toLowerCase(), { subscription, resourceGroup, name });
  }
  return async (ref: TagRef) => {
    // A login server is `<name>.azurecr.io` (or .cn / .us in other clouds).
    const registry = registries.get(ref.registryHost.toLowerCase().split('.')[0] ?? '');
    if (!registry) return [];
    return ownersFromRegistryTags(armFor(registry.subscription), registry.resourceGroup, registry.name);
  };
}
