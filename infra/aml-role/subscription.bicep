// The app's custom role for its user-assigned identity at a whole subscription (AML_COMPUTE_SCOPES or amlScopes).
targetScope = 'subscription'

@description('The custom role\'s name (a GUID), defined in main.bicep.')
param roleDefinitionName string

@description('The user-assigned identity\'s principal id.')
param principalId string

resource assignment 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(subscription().id, principalId, roleDefinitionName)
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roleDefinitionName)
    principalId: principalId
    principalType: 'ServicePrincipal'
  }
}
