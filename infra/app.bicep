// Everything in the app's resource group: the user-assigned identity the host and the app sign in with, the Storage
// account (no shared keys), Log Analytics and Application Insights (no local auth), the Flex Consumption plan and
// Function App, the identity's data roles, and the workbook.
targetScope = 'resourceGroup'

param environmentName string
param location string
param tags object
param pythonVersion string
param instanceMemoryMB int
param maximumInstanceCount int

@description('The chosen app settings (non-empty values, names the app reads).')
param settings object

var token = toLower(uniqueString(subscription().id, resourceGroup().id, environmentName))
var deploymentContainer = 'app-package'
// Built-in roles (Microsoft Learn, "Azure built-in roles"): what the host needs on its storage (blob: deployment
// package, timer locks; queue and table: the fan-out's queues and the tick claims) and to send telemetry.
var storageRoles = {
  'Storage Blob Data Owner': 'b7e6dc6d-f1e8-4753-8033-0f276bb0955b'
  'Storage Queue Data Contributor': '974c5e8b-45b9-4653-ba55-5f855dd0fb88'
  'Storage Table Data Contributor': '0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3'
}
var monitoringMetricsPublisher = '3913510d-42f4-4e42-8a64-420c390055eb'
// A timer whose schedule is not set is switched off (the host setting docs/operations.md names), not left in error.
var timerSchedules = {
  RunPipelineTimer: 'RUN_PIPELINE_SCHEDULE'
  StopComputeTimer: 'STOP_COMPUTE_SCHEDULE'
  StartComputeTimer: 'START_COMPUTE_SCHEDULE'
}
var timersOff = toObject(filter(items(timerSchedules), timer => !contains(settings, timer.value)), timer => ('AzureWebJobs.${timer.key}.Disabled'), timer => ('true'))

resource identity 'Microsoft.ManagedIdentity/userAssignedIdentities@2023-01-31' = {
  name: 'id-aml-timer-${token}'
  location: location
  tags: tags
}

resource storage 'Microsoft.Storage/storageAccounts@2023-05-01' = {
  name: 'stamltimer${token}'
  location: location
  tags: tags
  kind: 'StorageV2'
  sku: {
    name: 'Standard_LRS'
  }
  properties: {
    allowSharedKeyAccess: false
    defaultToOAuthAuthentication: true
    allowBlobPublicAccess: false
    minimumTlsVersion: 'TLS1_2'
    supportsHttpsTrafficOnly: true
  }
}

resource blobService 'Microsoft.Storage/storageAccounts/blobServices@2023-05-01' = {
  parent: storage
  name: 'default'
}

resource packageContainer 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' = {
  parent: blobService
  name: deploymentContainer
  properties: {
    publicAccess: 'None'
  }
}

resource logs 'Microsoft.OperationalInsights/workspaces@2023-09-01' = {
  name: 'log-aml-timer-${token}'
  location: location
  tags: tags
  properties: {
    sku: {
      name: 'PerGB2018'
    }
    retentionInDays: 30
    features: {
      disableLocalAuth: true
    }
  }
}

resource insights 'Microsoft.Insights/components@2020-02-02' = {
  name: 'appi-aml-timer-${token}'
  location: location
  tags: tags
  kind: 'web'
  properties: {
    Application_Type: 'web'
    WorkspaceResourceId: logs.id
    IngestionMode: 'LogAnalytics'
    DisableLocalAuth: true
  }
}

resource plan 'Microsoft.Web/serverfarms@2024-04-01' = {
  name: 'plan-aml-timer-${token}'
  location: location
  tags: tags
  kind: 'functionapp'
  sku: {
    tier: 'FlexConsumption'
    name: 'FC1'
  }
  properties: {
    reserved: true
  }
}

resource site 'Microsoft.Web/sites@2024-04-01' = {
  name: 'func-aml-timer-${token}'
  location: location
  tags: union(tags, { 'azd-service-name': 'app' })
  kind: 'functionapp,linux'
  identity: {
    type: 'UserAssigned'
    userAssignedIdentities: {
      '${identity.id}': {}
    }
  }
  properties: {
    serverFarmId: plan.id
    httpsOnly: true
    siteConfig: {
      minTlsVersion: '1.2'
      ftpsState: 'Disabled'
    }
    functionAppConfig: {
      deployment: {
        storage: {
          type: 'blobContainer'
          value: '${storage.properties.primaryEndpoints.blob}${deploymentContainer}'
          authentication: {
            type: 'UserAssignedIdentity'
            userAssignedIdentityResourceId: identity.id
          }
        }
      }
      scaleAndConcurrency: {
        instanceMemoryMB: instanceMemoryMB
        maximumInstanceCount: maximumInstanceCount
      }
      runtime: {
        name: 'python'
        version: pythonVersion
      }
    }
  }
}

resource storageAccess 'Microsoft.Authorization/roleAssignments@2022-04-01' = [for storageRole in items(storageRoles): {
  name: guid(storage.id, identity.id, storageRole.value)
  scope: storage
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', storageRole.value)
    principalId: identity.properties.principalId
    principalType: 'ServicePrincipal'
  }
}]

resource telemetryAccess 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(insights.id, identity.id, monitoringMetricsPublisher)
  scope: insights
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', monitoringMetricsPublisher)
    principalId: identity.properties.principalId
    principalType: 'ServicePrincipal'
  }
}

// The host's storage and telemetry by identity (Microsoft Learn, "Connect to host storage with an identity"; Flex
// Consumption sets no FUNCTIONS_WORKER_RUNTIME, WEBSITE_RUN_FROM_PACKAGE or WEBSITE_CONTENT* settings), and the app's
// identity: AZURE_CLIENT_ID with no secret is the user-assigned managed identity (docs/settings.md).
resource appSettings 'Microsoft.Web/sites/config@2024-04-01' = {
  parent: site
  name: 'appsettings'
  properties: union(settings, timersOff, {
    AZURE_CLIENT_ID: identity.properties.clientId
    AzureWebJobsStorage__credential: 'managedidentity'
    AzureWebJobsStorage__clientId: identity.properties.clientId
    AzureWebJobsStorage__blobServiceUri: storage.properties.primaryEndpoints.blob
    AzureWebJobsStorage__queueServiceUri: storage.properties.primaryEndpoints.queue
    AzureWebJobsStorage__tableServiceUri: storage.properties.primaryEndpoints.table
    APPLICATIONINSIGHTS_CONNECTION_STRING: insights.properties.ConnectionString
    APPLICATIONINSIGHTS_AUTHENTICATION_STRING: 'ClientId=${identity.properties.clientId};Authorization=AAD'
  })
  dependsOn: [
    storageAccess
    telemetryAccess
    packageContainer
  ]
}

// The workbook reads the app's own log lines (docs/monitor.md) in this Application Insights; it holds no resource
// id of its own: the one it opens on is added here.
resource workbook 'Microsoft.Insights/workbooks@2023-06-01' = {
  name: guid(insights.id, 'aml-timer-workbook')
  location: location
  tags: tags
  kind: 'shared'
  properties: {
    displayName: 'AML Timer Functions (${environmentName})'
    category: 'workbook'
    sourceId: insights.id
    serializedData: string(union(loadJsonContent('workbook.json'), { fallbackResourceIds: [insights.id] }))
  }
}

output functionAppName string = site.name
output identityPrincipalId string = identity.properties.principalId
output identityClientId string = identity.properties.clientId
output workbookId string = workbook.id
