// `azd up`: the Function App with its identity, storage, monitoring and workbook in one resource group, and the app's
// least-privilege role at every Azure Machine Learning scope it acts on. Plain resources with api-versions from
// azure-rest-api-specs (tests/schemas/arm-api-versions.json), no registry modules: it builds offline.
targetScope = 'subscription'

@minLength(1)
@maxLength(64)
@description('The azd environment: it names the resource group and seeds the unique names of the resources.')
param environmentName string

@minLength(1)
@description('Region of the Function App and its resources: one that offers Flex Consumption.')
@metadata({ azd: { type: 'location' } })
param location string

@description('The resource group to create; empty: rg-<environmentName>.')
param resourceGroupName string = ''

@description('The Function App\'s Python: one Flex Consumption offers and the tests run on.')
@allowed(['3.11', '3.12', '3.13'])
param pythonVersion string = '3.11'

@description('Memory of each instance, in MB (Flex Consumption sizes).')
@allowed([512, 2048, 4096])
param instanceMemoryMB int = 2048

@description('The most instances the app scales out to (with AML_FANOUT=queue, the workers).')
@minValue(40)
@maxValue(1000)
param maximumInstanceCount int = 40

@description('More Azure ML scopes to give the app\'s role at, beyond those its settings name (the AML_* workspace and AML_COMPUTE_SCOPES): subscription, resource group or workspace ids.')
param amlScopes array = []

@description('The app settings (docs/settings.md), by name; one left empty is not set. Identity and storage settings come from this template.')
param settings appSettings = {}

@sealed()
@description('Every setting the app reads that a deployment chooses (docs/settings.md); not the AZURE_* identity settings, which come from the user-assigned identity.')
type appSettings = {
  AML_SUBSCRIPTION_ID: string?
  AML_RESOURCE_GROUP: string?
  AML_WORKSPACE_NAME: string?
  AML_CLOUD: string?
  AML_RETRY_BUDGET_SECONDS: string?
  AML_COMPUTE_SCOPES: string?
  AML_COMPUTE_COST: string?
  AML_COMPUTE_COST_CURRENCY: string?
  AML_COMPUTE_CONCURRENCY: string?
  AML_FANOUT: string?
  RUN_PIPELINE_SCHEDULE: string?
  RUN_PIPELINE_TIME_ZONE: string?
  RUN_PIPELINE_LOCAL_SCHEDULE: string?
  RUN_PIPELINE_ID: string?
  RUN_PIPELINE_ENDPOINT_NAME: string?
  RUN_PIPELINE_BATCH_ENDPOINT: string?
  RUN_PIPELINE_BATCH_DEPLOYMENT: string?
  RUN_PIPELINE_EXPERIMENT: string?
  RUN_PIPELINE_PARAMETERS: string?
  RUN_PIPELINE_SKIP_IF_ACTIVE: string?
  RUN_PIPELINE_WAIT_MINUTES: string?
  RUN_PIPELINE_MAX_LATE_MINUTES: string?
  RUN_PIPELINE_DISABLED: string?
  STOP_COMPUTE_SCHEDULE: string?
  STOP_COMPUTE_TIME_ZONE: string?
  STOP_COMPUTE_LOCAL_SCHEDULE: string?
  STOP_COMPUTE_INCLUDE: string?
  STOP_COMPUTE_EXCLUDE: string?
  STOP_COMPUTE_EXEMPT_TAG: string?
  STOP_COMPUTE_DRY_RUN: string?
  STOP_COMPUTE_MAX_LATE_MINUTES: string?
  START_COMPUTE_SCHEDULE: string?
  START_COMPUTE_TIME_ZONE: string?
  START_COMPUTE_LOCAL_SCHEDULE: string?
  START_COMPUTE_TAG: string?
  START_COMPUTE_INCLUDE: string?
  START_COMPUTE_EXCLUDE: string?
  START_COMPUTE_DRY_RUN: string?
  START_COMPUTE_MAX_LATE_MINUTES: string?
}

var tags = { 'azd-env-name': environmentName }
// A setting left empty (azd writes "" for an environment value never set) is left out, not set to "".
var chosenSettings = toObject(filter(items(settings), item => !empty(item.value)), item => (item.key), item => (item.value))
var workspace = settings.?AML_SUBSCRIPTION_ID ?? ''
var singleWorkspace = empty(workspace) || empty(settings.?AML_RESOURCE_GROUP ?? '') || empty(settings.?AML_WORKSPACE_NAME ?? '')
  ? []
  : ['/subscriptions/${workspace}/resourceGroups/${settings.?AML_RESOURCE_GROUP ?? ''}/providers/Microsoft.MachineLearningServices/workspaces/${settings.?AML_WORKSPACE_NAME ?? ''}']
var computeScopes = filter(map(split(settings.?AML_COMPUTE_SCOPES ?? '', ','), scope => trim(scope)), scope => !empty(scope))
// Every scope the app acts on; a scope is /subscriptions/{id} (3 parts split on "/"), a resource group (5) or a
// workspace (9). One of another form gets no assignment (the app refuses it at its first tick, naming the setting).
var roleScopes = union(singleWorkspace, computeScopes, amlScopes)
// A custom role is assignable at subscriptions and resource groups, not at a resource: a workspace's is its group's.
var assignableScopes = union([subscription().id], map(roleScopes, scope => length(split(scope, '/')) == 9 ? join(take(split(scope, '/'), 5), '/') : scope))
var role = loadJsonContent('../docs/aml-timer-functions-role.json')

resource group 'Microsoft.Resources/resourceGroups@2024-03-01' = {
  name: empty(resourceGroupName) ? 'rg-${environmentName}' : resourceGroupName
  location: location
  tags: tags
}

module app 'app.bicep' = {
  name: 'aml-timer-app'
  scope: group
  params: {
    environmentName: environmentName
    location: location
    tags: tags
    pythonVersion: pythonVersion
    instanceMemoryMB: instanceMemoryMB
    maximumInstanceCount: maximumInstanceCount
    settings: chosenSettings
  }
}

// The least-privilege role, defined from docs/aml-timer-functions-role.json itself (so they cannot drift), assignable
// at this subscription and at every scope the app acts on. Role names are unique in a tenant: the environment's is in
// it.
resource amlRole 'Microsoft.Authorization/roleDefinitions@2022-04-01' = {
  name: guid(subscription().id, 'aml-timer-functions', environmentName)
  properties: {
    roleName: '${role.Name} (${environmentName})'
    description: role.Description
    type: 'CustomRole'
    permissions: [
      {
        actions: role.Actions
        notActions: role.NotActions
        dataActions: role.DataActions
        notDataActions: role.NotDataActions
      }
    ]
    assignableScopes: assignableScopes
  }
}

// A scope in another subscription gets its assignment through a module deployed at that subscription.
module amlRoleAtSubscriptions 'aml-role/subscription.bicep' = [for scope in filter(roleScopes, scope => length(split(scope, '/')) == 3): {
  name: 'aml-role-${uniqueString(scope, environmentName)}'
  scope: subscription(split(scope, '/')[2])
  params: {
    roleDefinitionName: amlRole.name
    principalId: app.outputs.identityPrincipalId
  }
}]

module amlRoleInResourceGroups 'aml-role/resource-group.bicep' = [for scope in filter(roleScopes, scope => length(split(scope, '/')) == 5 || length(split(scope, '/')) == 9): {
  name: 'aml-role-${uniqueString(scope, environmentName)}'
  scope: resourceGroup(split(scope, '/')[2], split(scope, '/')[4])
  params: {
    roleDefinitionName: amlRole.name
    principalId: app.outputs.identityPrincipalId
    workspaceName: length(split(scope, '/')) == 9 ? last(split(scope, '/')) : ''
  }
}]

output AZURE_LOCATION string = location
output AZURE_TENANT_ID string = tenant().tenantId
output AZURE_RESOURCE_GROUP string = group.name
output AZURE_FUNCTION_APP_NAME string = app.outputs.functionAppName
output AZURE_IDENTITY_CLIENT_ID string = app.outputs.identityClientId
output AML_TIMER_ROLE_SCOPES array = roleScopes
output AML_TIMER_WORKBOOK_ID string = app.outputs.workbookId
