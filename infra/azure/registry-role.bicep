// The Function App's identity on the registry: the least built-in role that can both lock a tag and
// put a previous manifest back.
//
// "Container Registry Repository Writer" grants the data actions
//   registries/repositories/metadata/read, metadata/write  (read tag properties; lock: writeEnabled/deleteEnabled)
//   registries/repositories/content/read, content/write    (read a manifest; re-put it under the tag)
// and nothing else: no delete, no catalog listing, no control plane. AcrPush (pull/read + push/write)
// does not list metadata/write, which locking needs; Contributor/Owner would be far more than needed.
// Source: Azure built-in roles for Containers (learn.microsoft.com, role-based-access-control/built-in-roles/containers).
// It is honoured only in registries whose role assignment mode is "RBAC Registry + ABAC Repository
// Permissions" (roleAssignmentMode AbacRepositoryPermissions); `tagwarden azure setup` checks it.
// For an RBAC-only registry, registryPermissions=legacy assigns the alternative below.

@description('Name of the registry (in this deployment\'s resource group).')
param registryName string

@description('Principal id of the Function App\'s system-assigned identity.')
param principalId string

@description('The registry\'s role assignment mode: abac ("RBAC Registry + ABAC Repository Permissions") or legacy (RBAC-only; see main.bicep).')
@allowed(['abac', 'legacy'])
param registryPermissions string = 'abac'

var legacy = registryPermissions == 'legacy'

var containerRegistryRepositoryWriter = '2a1e307c-b015-4ebd-883e-5b7698a07328'
// Reader: the registry resource itself (registries/read), for its `tagwarden:owners` tag, which names
// the owners alerts go to. Control-plane read only: it reads no image.
var reader = 'acdd72a7-3385-48ef-bd42-f606fba81ae7'

resource registry 'Microsoft.ContainerRegistry/registries@2023-07-01' existing = {
  name: registryName
}

resource repositoryWriter 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (!legacy) {
  name: guid(registry.id, principalId, containerRegistryRepositoryWriter)
  scope: registry
  properties: {
    principalId: principalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', containerRegistryRepositoryWriter)
  }
}

resource ownersReader 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(registry.id, principalId, reader)
  scope: registry
  properties: {
    principalId: principalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', reader)
  }
}

// RBAC-only registries honour neither Repository Writer nor any ABAC role. The documented
// alternative there: AcrPush (registries/pull/read, push/write: read a manifest, re-put it) plus a
// custom role with the repository metadata actions (read tag properties; lock a tag). Creating the
// custom role needs Microsoft.Authorization/roleDefinitions/write in the registry's resource group.
var acrPush = '8311e382-0749-4cb8-b61a-304f252e45ec'
var tagLockerName = guid(registry.id, 'tagwarden-tag-locker')

resource pusher 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (legacy) {
  name: guid(registry.id, principalId, acrPush)
  scope: registry
  properties: {
    principalId: principalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', acrPush)
  }
}

resource tagLocker 'Microsoft.Authorization/roleDefinitions@2022-04-01' = if (legacy) {
  name: tagLockerName
  properties: {
    roleName: 'Tagwarden tag locker (${registryName})'
    description: 'Read and lock tags of one RBAC-only registry: repository metadata read and write.'
    type: 'CustomRole'
    permissions: [
      {
        actions: [
          'Microsoft.ContainerRegistry/registries/metadata/read'
          'Microsoft.ContainerRegistry/registries/metadata/write'
        ]
        notActions: []
      }
    ]
    assignableScopes: [
      registry.id
    ]
  }
}

resource tagLockerAssignment 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (legacy) {
  name: guid(registry.id, principalId, tagLockerName)
  scope: registry
  properties: {
    principalId: principalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: tagLocker.id
  }
}

output roleDefinitionId string = legacy ? acrPush : containerRegistryRepositoryWriter
