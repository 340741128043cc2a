/**
 * The global `fetch()` of a function, gateway side: an outbound request arrives from a worker
 * (isolate → worker → gateway, `t: 'egress'`), is made by the egress guard with the function's
 * manifest grants and a Cedar `egress` decision per attempt, and every attempt (allowed or not)
 * becomes an audit-chain event before the answer goes back.
 */
import { isPalisadeError, type AuditEvent, type ErrorCode } from '../kernel/index.js';
import type { EgressGrantSpec } from '../manifest/index.js';
import type { PolicyAuthorizer } from '../policy/index.js';
import { MAX_BINDING_BODY_BYTES, type BindingCallAnswer, type EgressHandler } from '../runtime/index.js';
import { createEgressGuard, egressErrorCode, type DnsResolver, type EgressEvent, type EgressLimits, type EgressReason } from '../segmentation/index.js';
import { functionPrincipal } from './secret-resolvers.js';

/** Bounds of one `fetch()` of a function; the invocation's own deadline always caps `timeoutMs`. */
export const DEFAULT_FUNCTION_EGRESS_LIMITS: EgressLimits = {
  maxResponseBytes: MAX_BINDING_BODY_BYTES,
  maxRequestBytes: MAX_BINDING_BODY_BYTES,
  timeoutMs: 10_000,
  maxRedirects: 5,
};

/** What the egress handler of a node needs. */
export interface EgressWiringOptions {
  /** The grants of a function (`functions.<name>.egress`); empty: none. */
  readonly grants: (fn: string) => readonly EgressGrantSpec[];
  readonly policy: Pick<PolicyAuthorizer, 'authorizeEgress'>;
  /** Records one audit event; the answer waits for it, and a rejection refuses the answer. */
  readonly record: (event: AuditEvent) => Promise<void>;
  readonly now: () => number;
  readonly limits?: EgressLimits;
  /** Trust anchors replacing the bundled roots (a private PKI; tests). */
  readonly tls?: { readonly ca?: string | readonly string[] };
  readonly resolve?: DnsResolver;
  /** A refused attempt, for the operator log. */
  readonly onRefused?: (event: EgressEvent, requestId: string, code: ErrorCode) => void;
}

// Operational failures are `error`; everything the guard refuses on purpose is `deny`.
const ERROR_REASONS: ReadonlySet<EgressReason> = new Set(['dns-failed', 'connect-failed', 'timeout', 'cancelled', 'too-large']);


/** One egress attempt as an audit event (the `callFunction`/`readSecret` family: the function is the principal). */
export function egressAuditEvent(e: EgressEvent, caller: { readonly requestId: string; readonly chain: readonly string[] }, code?: ErrorCode): AuditEvent {
  return {
    time: e.time,
    requestId: caller.requestId,
    action: 'egress',
    outcome: e.decision === 'allow' ? 'allow' : ERROR_REASONS.has(e.reason) ? 'error' : 'deny',
    reason: e.reason,
    status: e.status ?? 0,
    method: e.method ?? 'CALL',
    function: e.function,
    principal: functionPrincipal(e.function),
    ...(e.decision === 'allow' || code === undefined ? {} : { code }),
    clientIp: '',
    durationMs: e.durationMs,
    policyIds: e.policyIds,
    chain: caller.chain,
    egress: { ...(e.host === undefined ? {} : { host: e.host }), ...(e.port === undefined ? {} : { port: e.port }), ...(e.address === undefined ? {} : { address: e.address }), hop: e.hop },
  };
}

/**
 * The worker pool's `egress` handler: grants from the manifest, a Cedar `egress` decision per
 * attempt (`Function::"fn"` → `Host::"<canonical host>"`), the guard's checks, one audit event
 * per attempt. Never rejects; a refusal is a sanitised message and its `PAL_EGRESS_*` code.
 */
export function createEgressHandler(options: EgressWiringOptions): EgressHandler {
  const limits = options.limits ?? DEFAULT_FUNCTION_EGRESS_LIMITS;
  return async (caller, payload, signal): Promise<BindingCallAnswer> => {
    // INVARIANT: no early return before the guard: a function without any grant, or without time
    // left, still makes an attempt, and every attempt is decided and recorded here (deny by default).
    const grants = options.grants(caller.fn);
    const records: Array<Promise<void>> = [];
    const remaining = Math.floor(caller.deadline - options.now());
    if (remaining <= 0) {
      const time = options.now();
      const event: EgressEvent = { time, function: caller.fn, decision: 'deny', reason: 'timeout', policyIds: [], hop: 0, durationMs: 0 };
      records.push(options.record(egressAuditEvent(event, caller, 'PAL_EGRESS_TIMEOUT')));
      return settle(records, { ok: false, code: 'PAL_EGRESS_TIMEOUT', message: 'the invocation has no time left for an outbound request' });
    }
    // One guard per request: its decisions and events belong to this invocation.
    const guard = createEgressGuard({
      limits: { ...limits, timeoutMs: Math.max(1, Math.min(limits.timeoutMs, remaining)) },
      authorize: ({ host }) => options.policy.authorizeEgress({ fn: caller.fn, host, chain: caller.chain, principal: caller.principal, time: options.now() }),
      events: {
        onEgress: (event) => {
          const code = event.decision === 'deny' ? egressErrorCode(event.reason) : undefined;
          if (code !== undefined) options.onRefused?.(event, caller.requestId, code);
          records.push(options.record(egressAuditEvent(event, caller, code)));
        },
      },
      ...(options.resolve === undefined ? {} : { resolve: options.resolve }),
      ...(options.tls === undefined ? {} : { tls: options.tls }),
    });
    let answer: BindingCallAnswer;
    try {
      const res = await guard.fetch(caller.fn, grants, payload, signal);
      answer = { ok: true, res: { status: res.status, headers: res.headers, body: res.body } };
    } catch (error) {
      answer = isPalisadeError(error) && error.code.startsWith('PAL_EGRESS_') ? { ok: false, code: error.code, message: error.message } : { ok: false, code: 'PAL_INTERNAL', message: 'the outbound request failed' };
      // Say where the fix is when the function has no grant at all.
      if (grants.length === 0 && answer.code === 'PAL_EGRESS_NOT_GRANTED') answer = { ...answer, message: NO_GRANT_MESSAGE };
    }
    return settle(records, answer);
  };
}

const NO_GRANT_MESSAGE = 'outbound requests are not granted to this function (manifest: functions.<name>.egress)';

/** Every attempt is on the chain before the function learns anything of it; a record that failed refuses the answer. */
async function settle(records: ReadonlyArray<Promise<void>>, answer: BindingCallAnswer): Promise<BindingCallAnswer> {
  const recorded = await Promise.allSettled(records);
  if (recorded.some((r) => r.status === 'rejected')) return { ok: false, code: 'PAL_AUDIT_UNAVAILABLE', message: 'the outbound request could not be recorded' };
  return answer;
}
