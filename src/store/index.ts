export type { StateStore, DeploymentStore, DeploymentRecord, ApiKeyStore, ApiKeyRecord, RevocationStore } from './ports.js';
export { openSqliteStore } from './sqlite/open-sqlite-store.js';
