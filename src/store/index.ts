export type { StateStore, DeploymentStore, DeploymentRecord } from './ports.js';
export { openSqliteStore } from './sqlite/open-sqlite-store.js';
