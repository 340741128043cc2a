import type { AuditEvent } from '../kernel/index.js';

const PRODUCT = { name: 'Palisade', vendor_name: 'Palisade' } as const;
const AUTH_ACTIONS: Readonly<Record<string, number>> = { login: 1, logout: 2, refresh: 99 };
const METHOD_ACTIVITY: Readonly<Record<string, number>> = { POST: 1, GET: 2, HEAD: 2, OPTIONS: 2, PUT: 3, PATCH: 3, DELETE: 4 };

/**
 * One event as an OCSF 1.1 object: Authentication (class 3002) for `login`/`logout`/`refresh`,
 * API Activity (class 6003) otherwise. `metadata.sequence` carries the chain's sequence number,
 * which a receiver uses to drop duplicates of an at-least-once delivery.
 */
export function formatOcsf(seq: number, e: AuditEvent): Record<string, unknown> {
  const auth = e.action in AUTH_ACTIONS;
  const classUid = auth ? 3002 : 6003;
  const activityId = auth ? (AUTH_ACTIONS[e.action] as number) : (METHOD_ACTIVITY[e.method] ?? 99);
  const success = e.outcome === 'allow';
  return {
    class_uid: classUid,
    category_uid: auth ? 3 : 6,
    activity_id: activityId,
    type_uid: classUid * 100 + activityId,
    time: e.time,
    severity_id: success ? 1 : e.outcome === 'deny' ? 3 : 4,
    status_id: success ? 1 : 2,
    status: success ? 'Success' : 'Failure',
    status_code: String(e.status),
    status_detail: e.reason,
    metadata: { version: '1.1.0', product: PRODUCT, uid: e.requestId, sequence: seq, log_name: 'palisade-audit' },
    ...(e.principal === undefined ? {} : { actor: { user: { uid: e.principal.id, type: e.principal.type, ...(e.principal.issuer === undefined ? {} : { domain: e.principal.issuer }) }, authorizations: [{ decision: e.outcome, ...(e.policyIds === undefined ? {} : { policy: { uid: e.policyIds.join(',') } }) }] } }),
    ...(auth && e.principal !== undefined ? { user: { uid: e.principal.id }, auth_protocol: e.principal.authMethod, is_mfa: e.principal.mfa } : {}),
    src_endpoint: { ip: e.clientIp },
    http_request: { http_method: e.method, ...(e.userAgent === undefined ? {} : { user_agent: e.userAgent }), uid: e.requestId },
    ...(auth ? {} : { api: { operation: e.action, request: { uid: e.requestId }, response: { code: e.status } } }),
    ...(e.route === undefined ? {} : { resources: [{ type: 'route', name: e.route }, ...(e.function === undefined ? [] : [{ type: 'function', name: e.function }])] }),
    duration: e.durationMs,
    unmapped: { outcome: e.outcome, reason: e.reason, ...(e.code === undefined ? {} : { code: e.code }), ...(e.authFailure === undefined ? {} : { auth_failure: e.authFailure }), ...(e.policyIds === undefined ? {} : { policy_ids: e.policyIds }), ...(e.principal === undefined ? {} : { mfa: e.principal.mfa, auth_method: e.principal.authMethod }) },
  };
}

// CEF escapes: `\` and `|` in header fields; `\`, `=` and line breaks in extension values.
const header = (s: string): string => s.replace(/\\/g, '\\\\').replace(/\|/g, '\\|').replace(/[\r\n]/g, ' ');
const ext = (s: string): string => s.replace(/\\/g, '\\\\').replace(/=/g, '\\=').replace(/\r\n|\r|\n/g, '\\n');

/** One event as an ArcSight CEF:0 line. */
export function formatCef(seq: number, e: AuditEvent, version: string): string {
  const severity = e.outcome === 'allow' ? 3 : e.outcome === 'deny' ? 6 : 8;
  const fields: [string, string | number | undefined][] = [
    ['rt', e.time],
    ['externalId', e.requestId],
    ['cn1Label', 'seq'],
    ['cn1', seq],
    ['src', e.clientIp],
    ['suser', e.principal?.id],
    ['cs1Label', 'issuer'],
    ['cs1', e.principal?.issuer],
    ['cs2Label', 'authMethod'],
    ['cs2', e.principal?.authMethod],
    ['cs3Label', 'policyIds'],
    ['cs3', e.policyIds?.join(',')],
    ['cs4Label', 'function'],
    ['cs4', e.function],
    ['requestMethod', e.method],
    ['request', e.route],
    ['requestClientApplication', e.userAgent],
    ['act', e.outcome],
    ['outcome', e.status],
    ['reason', e.reason],
    ['cn2Label', 'durationMs'],
    ['cn2', e.durationMs],
  ];
  const extension = fields.filter(([, v]) => v !== undefined && v !== '').map(([k, v]) => `${k}=${ext(String(v))}`).join(' ');
  return `CEF:0|Palisade|Palisade|${header(version)}|${header(`${e.action}:${e.outcome}`)}|${header(`${e.action} ${e.outcome} (${e.reason})`)}|${severity}|${extension}`;
}
