import type Database from 'better-sqlite3';
import { openAuditDatabaseReadOnly, readAuditHead } from '../audit/index.js';
import { adminActionNames, type AdminEndpoint, type AdminEndpointRequest } from '../gateway/index.js';
import { listUsers } from '../identity/index.js';
import { PalisadeError, type Clock } from '../kernel/index.js';
import type { StateStore } from '../store/index.js';
import type { SecretChangeActor, VaultSecretsAdmin } from './secrets-admin.js';

/** What a rotation started through the admin API reports: metadata of the outcome, never a value. */
export interface RotationReport {
  readonly ok: boolean;
  readonly result: string;
  readonly step: string;
  readonly version?: number;
}

/** The node's secrets, as the admin API reaches them. */
export interface AdminSecretsDeps {
  readonly admin: VaultSecretsAdmin;
  /**
   * Runs the secret's configured rotation function now (claiming it like the scheduler does).
   * Throws `PAL_SECRETS_ROTATION_UNAVAILABLE` when none is configured or one is running.
   */
  rotateNow(name: string, requestId: string): Promise<RotationReport>;
}

const MAX_VALUE_CHARS = 65_536;
const valueBody = (required: boolean): unknown => ({
  type: 'object',
  additionalProperties: false,
  ...(required ? { required: ['value'] } : {}),
  properties: { value: { type: 'string', minLength: 1, maxLength: MAX_VALUE_CHARS } },
});

function actorOf(request: AdminEndpointRequest): SecretChangeActor {
  const p = request.principal;
  return { requestId: request.requestId, method: request.method, clientIp: request.clientIp, route: request.route, principal: { type: p.type, id: p.id, issuer: p.issuer, authMethod: p.authMethod, mfa: p.mfa } };
}

const nameOf = (request: AdminEndpointRequest): string => request.params.name ?? '';
const encoder = new TextEncoder();
// A lone UTF-16 surrogate (JSON allows `"\ud800"`) has no UTF-8 form: encoding it would store U+FFFD instead.
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** A value as the vault stores it (UTF-8), refusing what UTF-8 cannot hold rather than altering it. */
function encodeValue(value: string): Uint8Array {
  if (LONE_SURROGATE.test(value)) throw new PalisadeError('PAL_SECRETS_VALUE_INVALID', 'the value holds a lone UTF-16 surrogate, which UTF-8 cannot store unchanged; send valid Unicode text', { status: 422, expose: true });
  return encoder.encode(value);
}

/**
 * The secrets endpoints (`manageSecrets` on `secrets`): metadata out, values only in, one audit
 * event per change (the same as the CLI's, naming the HTTP principal). No response carries a value.
 */
function secretsEndpoints(secrets: AdminSecretsDeps): AdminEndpoint[] {
  const common = { action: 'manageSecrets', resource: 'secrets' } as const;
  return [
    { ...common, method: 'GET', path: '/secrets', handle: async () => ({ status: 200, body: { secrets: await secrets.admin.list() } }) },
    { ...common, method: 'GET', path: '/secrets/:name/versions', handle: async (r) => ({ status: 200, body: { secret: await secrets.admin.versions(nameOf(r)) } }) },
    {
      ...common,
      method: 'PUT',
      path: '/secrets/:name',
      body: valueBody(true),
      handle: async (r) => ({ status: 200, body: { secret: await secrets.admin.set(nameOf(r), encodeValue((r.json as { value: string }).value), actorOf(r)) } }),
    },
    {
      ...common,
      method: 'POST',
      path: '/secrets/:name/rotate',
      body: valueBody(false),
      handle: async (r) => {
        const value = (r.json as { value?: string }).value;
        if (value !== undefined) return { status: 200, body: { secret: await secrets.admin.rotate(nameOf(r), encodeValue(value), actorOf(r)) } };
        const report = await secrets.rotateNow(nameOf(r), r.requestId);
        if (!report.ok) throw new PalisadeError('PAL_SECRETS_ROTATION_FAILED', `the rotation failed at step \`${report.step}\` (${report.result}); the current version is unchanged`, { status: 422, expose: true });
        return { status: 200, body: { rotation: report, secret: await secrets.admin.versions(nameOf(r)) } };
      },
    },
    { ...common, method: 'DELETE', path: '/secrets/:name', handle: async (r) => ({ status: 200, body: { secret: await secrets.admin.delete(nameOf(r), actorOf(r)) } }) },
    { ...common, method: 'POST', path: '/secrets/:name/restore', body: { type: 'object', additionalProperties: false, maxProperties: 0 }, handle: async (r) => ({ status: 200, body: { secret: await secrets.admin.restore(nameOf(r), actorOf(r)) } }) },
  ];
}

/** What the built-in admin endpoints read. */
export interface AdminEndpointDeps {
  readonly store: StateStore;
  readonly clock: Clock;
  /** The `.palisade/` directory holding `audit.db`. */
  readonly stateDir: string;
  /** The node's vault; without it there are no secrets endpoints. */
  readonly secrets?: AdminSecretsDeps;
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
 * - `manageSecrets` on `secrets`: `GET /secrets`, `GET /secrets/:name/versions`,
 *   `PUT /secrets/:name` `{value}`, `POST /secrets/:name/rotate` `{value}` or `{}` (run the
 *   rotation function now), `DELETE /secrets/:name` (soft delete), `POST /secrets/:name/restore`.
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
  if (deps.secrets !== undefined) endpoints.push(...secretsEndpoints(deps.secrets));
  return {
    endpoints,
    close() {
      auditDb?.close();
      auditDb = undefined;
    },
  };
}
