import { Ajv } from 'ajv';
import { once } from '../kernel/index.js';
import { parse } from 'yaml';
import type { Diagnostic, Principal, ValidationResult } from '../kernel/index.js';
import type { Manifest } from '../manifest/index.js';
import { routeUid } from './build-entities.js';
import { adminActions, type AdminAction, type PolicyAuthorizer } from './create-policy-authorizer.js';
import { canonicalGrantHost } from './generate-policies.js';
import type { PolicyDecision } from './policy-engine.js';

/** Who asks, in a policy test or `palisade policy explain`. */
export interface CasePrincipal {
  /** The manifest's issuer name: `builtin`, `api-key`, `mtls` or an OIDC issuer's `name`. */
  readonly issuer: string;
  readonly id: string;
  readonly roles?: readonly string[];
  readonly mfa?: boolean;
}

/** One question to the policies: principal, action, resource, context. */
export interface PolicyCase {
  readonly name?: string;
  /** A caller (`invoke`), or a function name (`callFunction`, `egress`). */
  readonly principal: CasePrincipal | string;
  readonly action: 'invoke' | 'callFunction' | 'egress' | AdminAction;
  /**
   * A route uid (`GET,POST /api/orders`) for `invoke`; a function name for `callFunction`; a host
   * for `egress`; the `AdminResource` id (`users`, `audit`, …) for an operator action.
   */
  readonly resource: string;
  readonly context?: {
    readonly ip?: string;
    /** Seconds since the epoch. */
    readonly time?: number;
    readonly risk?: number;
    readonly method?: string;
    readonly chain?: readonly string[];
    readonly originalCaller?: CasePrincipal;
  };
  readonly expect?: 'allow' | 'deny';
}

const principalSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['issuer', 'id'],
  properties: { issuer: { type: 'string', minLength: 1 }, id: { type: 'string', minLength: 1 }, roles: { type: 'array', items: { type: 'string' } }, mfa: { type: 'boolean' } },
} as const;

const caseSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['principal', 'action', 'resource'],
  properties: {
    name: { type: 'string' },
    principal: { oneOf: [principalSchema, { type: 'string', minLength: 1 }] },
    action: { enum: ['invoke', 'callFunction', 'egress', ...adminActions] },
    resource: { type: 'string', minLength: 1 },
    context: {
      type: 'object',
      additionalProperties: false,
      properties: { ip: { type: 'string' }, time: { type: 'integer' }, risk: { type: 'integer', minimum: 0, maximum: 100 }, method: { type: 'string' }, chain: { type: 'array', items: { type: 'string' } }, originalCaller: principalSchema },
    },
    expect: { enum: ['allow', 'deny'] },
  },
} as const;

const ajv = once(() => new Ajv({ allErrors: true, strict: true }));
const validateCase = once(() => ajv().compile<PolicyCase>(caseSchema));
const validateFile = once(() => ajv().compile<{ tests: PolicyCase[] }>({ type: 'object', additionalProperties: false, required: ['tests'], properties: { tests: { type: 'array', minItems: 1, items: caseSchema } } }));

/**
 * Parses a policy test file (`policies/tests/*.yaml`): `tests:`, a list of cases each with
 * `name`, `principal`, `action`, `resource`, optional `context` and `expect: allow|deny`.
 *
 * @example
 * ```ts
 * const { value } = parsePolicyTests('policies/tests/orders.yaml', text);
 * ```
 */
export function parsePolicyTests(file: string, text: string): ValidationResult<readonly PolicyCase[]> {
  let data: unknown;
  try {
    data = parse(text, { maxAliasCount: 50 });
  } catch (error) {
    return { ok: false, errors: [{ code: 'PAL_POLICY_TEST_INVALID', severity: 'error', path: '', message: `\`${file}\` is not valid yaml: ${error instanceof Error ? error.message.split('\n')[0] ?? '' : 'unknown'}`, location: { file } }], warnings: [] };
  }
  if (!validateFile()(data)) {
    const errors: Diagnostic[] = (validateFile().errors ?? []).map((e) => ({ code: 'PAL_POLICY_TEST_INVALID', severity: 'error', path: e.instancePath, message: `${e.instancePath || 'the file'} ${e.message ?? 'is invalid'}`, hint: 'see "Policy tests" in docs/authorization.md', location: { file } }));
    return { ok: false, errors, warnings: [] };
  }
  return { ok: true, value: data.tests, errors: [], warnings: [] };
}

/** Checks one case object (from `--context`-style JSON input) against the case schema. */
export function checkPolicyCase(value: unknown): value is PolicyCase {
  return validateCase()(value);
}

/**
 * Decides one case with the node's authorizer, exactly as a request would be decided
 * (including the step-up test for `invoke`).
 *
 * @example
 * ```ts
 * decidePolicyCase(authorizer, manifest, { principal: { issuer: 'builtin', id: 'u-1', roles: ['customer'] }, action: 'invoke', resource: 'GET /api/orders' });
 * ```
 */
export function decidePolicyCase(authorizer: PolicyAuthorizer, manifest: Manifest, c: PolicyCase, now: number): PolicyDecision | { readonly problem: string } {
  const time = (c.context?.time ?? Math.floor(now / 1000)) * 1000;
  if (c.action === 'invoke') {
    if (typeof c.principal === 'string') return { problem: '`invoke` needs a principal object `{ issuer, id, roles, mfa }`' };
    const route = manifest.routes.find((r) => routeUid(r).id === c.resource);
    if (route === undefined) return { problem: `no route \`${c.resource}\`; routes: ${manifest.routes.map((r) => `\`${routeUid(r).id}\``).join(', ')}` };
    if (route.public) return { problem: `route \`${c.resource}\` is public: no policy decides it` };
    return authorizer.authorizeRoute(toPrincipal(c.principal, manifest), route, { clientIp: c.context?.ip ?? '127.0.0.1', time, method: c.context?.method ?? route.methods[0] ?? 'GET', risk: c.context?.risk ?? 0 });
  }
  if (c.action !== 'callFunction' && c.action !== 'egress') {
    if (typeof c.principal === 'string') return { problem: `\`${c.action}\` needs a principal object \`{ issuer, id, roles, mfa }\`` };
    return authorizer.authorizeAdmin(toPrincipal(c.principal, manifest), c.action, c.resource, { clientIp: c.context?.ip ?? '127.0.0.1', time, risk: c.context?.risk ?? 0 });
  }
  if (typeof c.principal !== 'string') return { problem: `\`${c.action}\` needs the calling function name as principal` };
  if (c.action === 'egress') {
    if (!manifest.functions.has(c.principal)) return { problem: `no function \`${c.principal}\`` };
    const original = c.context?.originalCaller === undefined ? null : toPrincipal(c.context.originalCaller, manifest);
    return authorizer.authorizeEgress({ fn: c.principal, host: canonicalGrantHost(c.resource), chain: c.context?.chain ?? [], principal: original, time });
  }
  for (const fn of [c.principal, c.resource]) if (!manifest.functions.has(fn)) return { problem: `no function \`${fn}\`` };
  const original = c.context?.originalCaller === undefined ? null : toPrincipal(c.context.originalCaller, manifest);
  return authorizer.authorizeCall({ caller: c.principal, target: c.resource, chain: c.context?.chain ?? [], principal: original, time });
}

/** A principal as authentication would have produced it for this issuer name. */
function toPrincipal(p: CasePrincipal, manifest: Manifest): Principal {
  const base = { id: p.id, roles: p.roles ?? [], mfa: p.mfa ?? false };
  switch (p.issuer) {
    case 'builtin':
      return { ...base, type: 'User', authMethod: 'builtin', issuer: 'urn:palisade:builtin' };
    case 'api-key':
      return { ...base, type: 'ServiceAccount', authMethod: 'api-key', issuer: 'urn:palisade:api-keys', id: p.id.startsWith('apikey:') ? p.id : `apikey:${p.id}` };
    case 'mtls':
      return { ...base, type: 'ServiceAccount', authMethod: 'mtls', issuer: 'mtls:' };
    default: {
      const issuer = manifest.identity.issuers.find((i) => i.name === p.issuer);
      return { ...base, type: 'User', authMethod: 'oidc', issuer: issuer?.issuer ?? `urn:unknown:${p.issuer}` };
    }
  }
}
