import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { searchAuditLog } from '../audit/index.js';
import type { AuditEvent } from '../kernel/index.js';
import type { Manifest } from '../manifest/index.js';
import { buildAccessReport, type AccessReport, type KnownPrincipal } from '../policy/index.js';
import { egressGrantCovers } from '../segmentation/index.js';
import { listProjectApiKeys } from './api-key-admin.js';
import { userAdmin } from './user-admin.js';

/**
 * Reads what the access report needs (the audit events of the window through the audit log's
 * query API, the built-in users and the API keys from `.palisade/state.db`) and builds it, with
 * the egress guard's grant matching.
 * Read-only: a project without a state store has no users or keys to list.
 *
 * @example
 * ```ts
 * const report = await loadAccessReport(manifest, { since: Date.now() - 30 * 86_400_000, until: Date.now() });
 * ```
 */
export async function loadAccessReport(manifest: Manifest, window: { readonly since: number; readonly until: number }): Promise<AccessReport> {
  const stateDir = join(manifest.projectDir, '.palisade');
  const events: AuditEvent[] = [];
  let afterSeq = 0;
  for (;;) {
    const page = searchAuditLog(stateDir, { since: window.since, until: window.until, afterSeq, limit: 10_000 });
    for (const r of page) events.push(r.event);
    if (page.length < 10_000) break;
    afterSeq = page[page.length - 1]?.seq ?? afterSeq;
  }
  const principals: KnownPrincipal[] = [];
  if (existsSync(join(stateDir, 'state.db'))) {
    if (manifest.identity.builtin.enabled) for (const u of await userAdmin.list(manifest)) principals.push({ principalId: u.id, kind: 'user', name: u.username, roles: u.roles, inactive: u.disabled });
    if (manifest.identity.apiKeys.enabled) for (const k of await listProjectApiKeys(manifest)) principals.push({ principalId: `apikey:${k.id}`, kind: 'apiKey', name: k.name, roles: k.roles, inactive: k.revokedAt !== null || (k.expiresAt !== null && Date.parse(k.expiresAt) <= window.until) });
  }
  return buildAccessReport({ manifest, manifestText: readFileSync(manifest.file, 'utf8'), events, principals, since: window.since, until: window.until, egressGrantCovers });
}
