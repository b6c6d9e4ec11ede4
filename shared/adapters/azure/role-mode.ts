import { PermanentError } from '../../core/errors';

/**
 * ACR's "role assignment permissions mode" (ARM registry property `roleAssignmentMode`, API version
 * 2025-11-01 of Microsoft.ContainerRegistry): `AbacRepositoryPermissions` ("RBAC Registry + ABAC
 * Repository Permissions", `az acr … --role-assignment-mode rbac-abac`) or
 * `LegacyRegistryPermissions` ("RBAC Registry Permissions", `rbac`). The role the template gives the
 * Function App, "Container Registry Repository Writer", is honoured only in the first; in the second
 * revert and lock would get 401/403. There the documented alternative is AcrPush (pull/read,
 * push/write) plus a custom role carrying `registries/metadata/write` (the tag lock), which the
 * template assigns with `registryPermissions=legacy`. Source: learn.microsoft.com,
 * container-registry/container-registry-rbac-abac-repository-permissions.
 */
export const ABAC_MODE = 'AbacRepositoryPermissions';

export interface RoleModeCheck {
  subscription: string;
  resourceGroup: string;
  registry: string;
  /** The registry's `roleAssignmentMode` as ARM reports it (absent on registries that predate it). */
  mode: string | undefined;
  /** `--legacy-roles`: the app was deployed with `registryPermissions=legacy`. */
  legacyRoles: boolean;
}

/** The exact command that switches the registry to ABAC-enabled mode. */
export function switchToAbacCommand(check: Omit<RoleModeCheck, 'mode' | 'legacyRoles'>): string {
  return `az acr update --name ${check.registry} --resource-group ${check.resourceGroup} --subscription ${check.subscription} --role-assignment-mode rbac-abac`;
}

/**
 * The line to print when the registry's mode matches the roles the app was given; throws one line
 * naming the way out when it does not.
 */
export function checkRoleAssignmentMode(check: RoleModeCheck): string {
  const mode = check.mode || 'LegacyRegistryPermissions';
  const abac = mode === ABAC_MODE;
  if (abac && !check.legacyRoles)
    return `role assignment mode ${mode}: "Container Registry Repository Writer" applies`;
  if (!abac && check.legacyRoles)
    return `role assignment mode ${mode}: --legacy-roles, the app needs AcrPush and the tag-lock custom role (deploy main.bicep with registryPermissions=legacy)`;
  if (abac)
    throw new PermanentError(
      `--legacy-roles: registry ${check.registry} is ABAC-enabled (${mode}), where AcrPush is not honoured; run without --legacy-roles and deploy main.bicep with registryPermissions=abac`,
    );
  throw new PermanentError(
    `registry ${check.registry} is in role assignment mode ${mode}, where "Container Registry Repository Writer" is not honoured (revert and lock would get 403): switch it with \`${switchToAbacCommand(check)}\`, or deploy with registryPermissions=legacy and rerun with --legacy-roles`,
  );
}
