export type { StateStore, DeploymentStore, DeploymentRecord, ApiKeyStore, ApiKeyRecord, RevocationStore, UserStore, UserRecord, RefreshTokenStore, RefreshTokenRecord, SigningKeyStore, SigningKeyRecord } from './ports.js';
export { openSqliteStore } from './sqlite/open-sqlite-store.js';
