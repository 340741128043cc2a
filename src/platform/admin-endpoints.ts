import type Database from 'better-sqlite3';
import { openAuditDatabaseReadOnly, readAuditHead } from '../audit/index.js';
import { adminActionNames, type AdminEndpoint } from '../gateway/index.js';
import { listUsers } from '../identity/index.js';
import type { Clock } from '../kernel/index.js';
import type { StateStore } from '../store/index.js';

/** What the built-in admin endpoints read. */
export interface AdminEndpointDeps {
  readonly store: StateStore;
  readonly clock: Clock;
  /** The `.palisade/` directory holding `audit.db`. */
  readonly stateDir: string;
}

/**
 * The node's admin endpoints. To add one (secrets, keys, deploy), write an {@link AdminEndpoint}
 * naming its Cedar action and resource and append it to this list: the gateway authenticates,
 * decides, audits and validates the body before the handler runs.
 *
 * - `GET /whoami`: who the caller is and which operator actions the policies allow it (decided
 *   as "any operator action": a caller with none gets 403).
 * - `GET /users` (`manageUsers` on `users`): built-in users, metadata only (never hashes or
 *   TOTP secrets).
 * - `GET /audit/head` (`readAudit` on `audit`): the last sequence number, its hash and the last
 *   signed checkpoint, to compare with a witness copy.
 *
 * @example
 * ```ts
 * const admin = builtinAdminEndpoints({ store, clock, stateDir });
 * createAdminApi(admin.endpoints, authenticate); // admin.close() at shutdown
 * ```
 */
export function builtinAdminEndpoints(deps: AdminEndpointDeps): { readonly endpoints: AdminEndpoint[]; close(): void } {
  let auditDb: Database.Database | undefined;
  const endpoints: AdminEndpoint[] = [
    {
      method: 'GET',
      path: '/whoami',
      action: adminActionNames,
      resource: 'node',
      handle: async ({ principal, allowedActions }) => ({
        status: 200,
        body: { principal: { type: principal.type, id: principal.id, issuer: principal.issuer, authMethod: principal.authMethod, roles: principal.roles, mfa: principal.mfa }, allowedActions },
      }),
    },
    {
      method: 'GET',
      path: '/users',
      action: 'manageUsers',
      resource: 'users',
      handle: async () => ({ status: 200, body: { users: await listUsers(deps.store, deps.clock) } }),
    },
    {
      method: 'GET',
      path: '/audit/head',
      action: 'readAudit',
      resource: 'audit',
      handle: async () => {
        // Opened on first use (read-only, WAL): the writer lives in its own thread.
        auditDb ??= openAuditDatabaseReadOnly(deps.stateDir);
        const head = readAuditHead(auditDb);
        const cp = head.checkpoint;
        return {
          status: 200,
          body: {
            seq: head.seq,
            head: head.head,
            checkpoint: cp === null ? null : { treeSize: cp.statement.treeSize, head: cp.statement.head, root: cp.statement.root, time: new Date(cp.statement.time).toISOString(), keyId: cp.statement.keyId, kind: cp.statement.kind, signature: cp.signature },
          },
        };
      },
    },
  ];
  return {
    endpoints,
    close() {
      auditDb?.close();
      auditDb = undefined;
    },
  };
}
