// The app's custom role for its user-assigned identity at a resource group, or at one workspace in it.
targetScope = 'resourceGroup'

@description('The custom role\'s name (a GUID), defined in main.bicep.')
param roleDefinitionName string

@description('The user-assigned identity\'s principal id.')
param principalId string

@description('A workspace of this resource group; empty: the whole resource group.')
param workspaceName string = ''

var roleDefinitionId = subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roleDefinitionName)

resource workspace 'Microsoft.MachineLearningServices/workspaces@2024-04-01' existing = if (!empty(workspaceName)) {
  name: workspaceName
}

resource atWorkspace 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (!empty(workspaceName)) {
  name: guid(workspace.id, principalId, roleDefinitionName)
  scope: workspace
  properties: {
    roleDefinitionId: roleDefinitionId
    principalId: principalId
    principalType: 'ServicePrincipal'
  }
}

resource atResourceGroup 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (empty(workspaceName)) {
  name: guid(resourceGroup().id, principalId, roleDefinitionName)
  properties: {
    roleDefinitionId: roleDefinitionId
    principalId: principalId
    principalType: 'ServicePrincipal'
  }
}
