export { startPlatform, startInsecureLoopbackHttpPlatform, type StartOptions, type RunningPlatform } from './start-platform.js';
export { createOperatorLogger } from './create-operator-logger.js';
export { createProjectApiKey, listProjectApiKeys, revokeProjectApiKey, rotateProjectApiKey, openProjectStore, type ApiKeyView } from './api-key-admin.js';
export { userAdmin } from './user-admin.js';
export { loginToGateway, inspectToken, readStoredCredentials, credentialsPath, type StoredCredentials, type TokenReport } from './cli-session.js';
export { ensureDemoCredentials, type DemoCredentials } from './demo-credentials.js';
export { revocationAdmin } from './token-admin.js';
export { resolversFromVault, secretReadAuditEvent, bindingCallAuditEvent, type VaultShape, type RuntimeResolvers } from './secret-resolvers.js';
export { createEgressHandler, egressAuditEvent, DEFAULT_FUNCTION_EGRESS_LIMITS, type EgressWiringOptions } from './egress-calls.js';
