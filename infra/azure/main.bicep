// Tagwarden on Azure: a Function App (Linux, Flex Consumption, Node 22) with a system-assigned
// managed identity, a storage account holding the history table and the poison queue, and a Key
// Vault (RBAC) whose secrets reach the app as Key Vault references. No keys or connection strings:
// the app reaches storage, the vault and the registry with its identity only.
//
//   az deployment group create -g <rg> -f infra/azure/main.bicep \
//     -p registryName=<registry> registryResourceGroup=<registry rg> policyJson="$(cat policy.json)"

@description('Name of the Azure Container Registry to guard (its login server is <name>.azurecr.io).')
param registryName string

@description('Resource group of the registry (may differ from the deployment\'s).')
param registryResourceGroup string = resourceGroup().name

@description('The registry\'s role assignment mode (az acr show --query roleAssignmentMode): abac for AbacRepositoryPermissions (the app gets "Container Registry Repository Writer"), legacy for an RBAC-only registry (AcrPush plus a custom tag-lock role; `tagwarden azure setup --legacy-roles`).')
@allowed(['abac', 'legacy'])
param registryPermissions string = 'abac'

@description('Whether alerts go to Slack: adds the SLACK_WEBHOOK_URL setting, a Key Vault reference to slackSecretName. Without it alerts go to the function log. Set it once that secret exists.')
param slackEnabled bool = false

@description('Key Vault secret holding the Slack incoming-webhook URL (read only with slackEnabled).')
param slackSecretName string = 'tagwarden-slack-webhook-url'

@description('Whether the app takes clicks on alerts\' buttons (POST /api/slack/actions): adds the SLACK_SIGNING_SECRET setting, a Key Vault reference to slackSigningSecretName. Set it once that secret exists. Without it the route answers 404.')
param slackActions bool = false

@description('Key Vault secret holding the Slack app\'s signing secret (read only with slackActions).')
param slackSigningSecretName string = 'tagwarden-slack-signing-secret'

@description('Key Vault secret holding the shared secret ACR sends (Authorization: Bearer …) and Event Grid sends (?token=…).')
param webhookSecretName string = 'tagwarden-acr-webhook-secret'

@description('Whether the app tells cluster endpoints of digest bumps: adds the TAGWARDEN_CLUSTERS setting, a Key Vault reference to clustersSecretName. Set it once that secret exists (an unresolved reference stops the functions).')
param clusterBumps bool = false

@description('Key Vault secret holding the cluster endpoints (a JSON list like the config file\'s clusters; they carry HMAC keys and passwords).')
param clustersSecretName string = 'tagwarden-clusters'

@description('Region of every resource this template creates.')
param location string = resourceGroup().location

@description('Prefix of resource names (lowercase letters and digits: it starts the storage account name); a hash of the resource group keeps names unique.')
@minLength(3)
@maxLength(11)
param namePrefix string = 'tagwarden'

@description('The policy as JSON (the YAML policy file converted; see docs/azure.md). Empty: the built-in defaults.')
param policyJson string = ''

// Built-in role definitions (ids are the same in every tenant).
var roles = {
  // The Functions host keeps its keys, timer leases and the deployment package in blobs.
  storageBlobDataOwner: 'b7e6dc6d-f1e8-4753-8033-0f276bb0955b'
  // The poison queue: send, peek, receive, delete.
  storageQueueDataContributor: '974c5e8b-45b9-4653-ba55-5f855dd0fb88'
  // The history table: read and write entities (and create the table if missing).
  storageTableDataContributor: '0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3'
  // Read the secrets the Key Vault references name.
  keyVaultSecretsUser: '4633458b-17de-408a-b874-0445c86b69e6'
}

var suffix = substring(uniqueString(resourceGroup().id, namePrefix), 0, 8)
var storageName = toLower('${namePrefix}${suffix}')
var vaultName = '${namePrefix}-${suffix}'
var historyTable = 'tagwardenhistory'
var poisonQueue = 'tagwarden-poison'
var deploymentContainer = 'app-package'

resource registry 'Microsoft.ContainerRegistry/registries@2023-07-01' existing = {
  name: registryName
  scope: resourceGroup(registryResourceGroup)
}

resource storage 'Microsoft.Storage/storageAccounts@2023-05-01' = {
  name: storageName
  location: location
  kind: 'StorageV2'
  sku: { name: 'Standard_LRS' }
  properties: {
    supportsHttpsTrafficOnly: true
    minimumTlsVersion: 'TLS1_2'
    allowBlobPublicAccess: false
    // Identity only: no account key can be used against this account.
    allowSharedKeyAccess: false
    defaultToOAuthAuthentication: true
  }
}

resource blobService 'Microsoft.Storage/storageAccounts/blobServices@2023-05-01' = {
  parent: storage
  name: 'default'
}

resource packageContainer 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' = {
  parent: blobService
  name: deploymentContainer
  properties: { publicAccess: 'None' }
}

resource tableService 'Microsoft.Storage/storageAccounts/tableServices@2023-05-01' = {
  parent: storage
  name: 'default'
}

resource history 'Microsoft.Storage/storageAccounts/tableServices/tables@2023-05-01' = {
  parent: tableService
  name: historyTable
}

resource queueService 'Microsoft.Storage/storageAccounts/queueServices@2023-05-01' = {
  parent: storage
  name: 'default'
}

resource poison 'Microsoft.Storage/storageAccounts/queueServices/queues@2023-05-01' = {
  parent: queueService
  name: poisonQueue
}

resource vault 'Microsoft.KeyVault/vaults@2023-07-01' = {
  name: vaultName
  location: location
  properties: {
    tenantId: subscription().tenantId
    sku: { family: 'A', name: 'standard' }
    enableRbacAuthorization: true
    enableSoftDelete: true
    softDeleteRetentionInDays: 30
    enablePurgeProtection: true
  }
}

// Where the function logs go (every structured log line: `event recorded`, `effect done`, …).
resource workspace 'Microsoft.OperationalInsights/workspaces@2023-09-01' = {
  name: '${namePrefix}-logs-${suffix}'
  location: location
  properties: {
    sku: { name: 'PerGB2018' }
    retentionInDays: 30
  }
}

resource insights 'Microsoft.Insights/components@2020-02-02' = {
  name: '${namePrefix}-insights-${suffix}'
  location: location
  kind: 'web'
  properties: {
    Application_Type: 'web'
    WorkspaceResourceId: workspace.id
  }
}

resource plan 'Microsoft.Web/serverfarms@2024-04-01' = {
  name: '${namePrefix}-plan-${suffix}'
  location: location
  kind: 'functionapp'
  sku: { name: 'FC1', tier: 'FlexConsumption' }
  properties: { reserved: true }
}

// Optional: without it the functions record bump effects as skipped (no cluster endpoints configured).
var clusterSettings = clusterBumps ? [
  { name: 'TAGWARDEN_CLUSTERS', value: '@Microsoft.KeyVault(SecretUri=${vault.properties.vaultUri}secrets/${clustersSecretName}/)' }
] : []

// Optional: without it alerts are written to the function log (an unresolved reference is treated the same way).
var slackSettings = slackEnabled ? [
  { name: 'SLACK_WEBHOOK_URL', value: '@Microsoft.KeyVault(SecretUri=${vault.properties.vaultUri}secrets/${slackSecretName}/)' }
] : []

// Optional: without it POST /api/slack/actions answers 404 (Slack actions are off).
var slackActionSettings = slackActions ? [
  { name: 'SLACK_SIGNING_SECRET', value: '@Microsoft.KeyVault(SecretUri=${vault.properties.vaultUri}secrets/${slackSigningSecretName}/)' }
] : []

// Flex Consumption rejects the site properties Microsoft lists as deprecated for it (ftpsState,
// use32BitWorkerProcess, alwaysOn, linuxFxVersion, functionAppScaleLimit, …) and the app settings
// its runtime section replaces (FUNCTIONS_WORKER_RUNTIME, FUNCTIONS_EXTENSION_VERSION, …): none is
// set here. The table: "Flex Consumption plan deprecations",
// https://learn.microsoft.com/azure/azure-functions/functions-app-settings#flex-consumption-plan-deprecations
// (test/integration/azure-template.test.ts lists them and fails if one appears).
resource app 'Microsoft.Web/sites@2024-04-01' = {
  name: '${namePrefix}-${suffix}'
  location: location
  kind: 'functionapp,linux'
  identity: { type: 'SystemAssigned' }
  properties: {
    serverFarmId: plan.id
    httpsOnly: true
    keyVaultReferenceIdentity: 'SystemAssigned'
    functionAppConfig: {
      deployment: {
        storage: {
          type: 'blobContainer'
          value: '${storage.properties.primaryEndpoints.blob}${deploymentContainer}'
          authentication: { type: 'SystemAssignedIdentity' }
        }
      }
      scaleAndConcurrency: { maximumInstanceCount: 40, instanceMemoryMB: 512 }
      runtime: { name: 'node', version: '22' }
    }
    siteConfig: {
      minTlsVersion: '1.2'
      http20Enabled: true
      appSettings: concat([
        // The host's own storage, by identity (Flex Consumption sets the worker runtime itself).
        { name: 'AzureWebJobsStorage__accountName', value: storage.name }
        { name: 'APPLICATIONINSIGHTS_CONNECTION_STRING', value: insights.properties.ConnectionString }
        // The cloud the app runs in: storage suffix, ARM endpoint and ACR token audience follow it.
        { name: 'AZURE_CLOUD', value: environment().name }
        { name: 'TAGWARDEN_STORAGE_ACCOUNT', value: storage.name }
        { name: 'TAGWARDEN_HISTORY_TABLE', value: history.name }
        { name: 'TAGWARDEN_POISON_QUEUE', value: poison.name }
        { name: 'TAGWARDEN_REGISTRIES', value: registry.properties.loginServer }
        { name: 'TAGWARDEN_REGISTRY_IDS', value: registry.id }
        { name: 'POLICY', value: policyJson }
        { name: 'ACR_WEBHOOK_SECRET', value: '@Microsoft.KeyVault(SecretUri=${vault.properties.vaultUri}secrets/${webhookSecretName}/)' }
      ], slackSettings, slackActionSettings, clusterSettings)
    }
  }
}

resource blobOwner 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(storage.id, app.id, roles.storageBlobDataOwner)
  scope: storage
  properties: {
    principalId: app.identity.principalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.storageBlobDataOwner)
  }
}

resource queueContributor 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(storage.id, app.id, roles.storageQueueDataContributor)
  scope: storage
  properties: {
    principalId: app.identity.principalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.storageQueueDataContributor)
  }
}

resource tableContributor 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(storage.id, app.id, roles.storageTableDataContributor)
  scope: storage
  properties: {
    principalId: app.identity.principalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.storageTableDataContributor)
  }
}

resource secretsUser 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(vault.id, app.id, roles.keyVaultSecretsUser)
  scope: vault
  properties: {
    principalId: app.identity.principalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.keyVaultSecretsUser)
  }
}

// The registry may live in another resource group: its role assignment is deployed there.
module registryRole 'registry-role.bicep' = {
  name: 'tagwarden-registry-role-${suffix}'
  scope: resourceGroup(registryResourceGroup)
  params: {
    registryName: registryName
    principalId: app.identity.principalId
    registryPermissions: registryPermissions
  }
}

output functionAppName string = app.name
output webhookUrl string = 'https://${app.properties.defaultHostName}/api/webhooks/acr'
output eventGridWebhookUrl string = 'https://${app.properties.defaultHostName}/api/webhooks/acr-eventgrid'
output keyVaultName string = vault.name
output storageAccountName string = storage.name
output principalId string = app.identity.principalId
output applicationInsightsName string = insights.name
