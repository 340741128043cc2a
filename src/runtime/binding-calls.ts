/**
 * The call channel's gateway end: a binding call from inside an isolate (`await env.NAME.fetch()`)
 * arrives here, isolate → worker → gateway, and is decided by a table of small steps, like the
 * request path. Identity is the gateway's own record of the invocation, never the worker's word.
 *
 * Later capabilities slot in as steps (egress rules, secrets) and as handlers by binding type.
 */
import { isPalisadeError, type ErrorCode } from '../kernel/index.js';
import type { BindingSpec } from '../manifest/index.js';
import { collectBody } from './collect-body.js';
import { MAX_BINDING_BODY_BYTES, type BindingCallPayload, type InvokePrincipal, type InvokeRequest, type InvokeResponse } from './protocol.js';

/** The calling invocation, from the gateway's table. */
export interface CallerIdentity {
  readonly fn: string;
  readonly segment: string;
  readonly requestId: string;
  readonly principal: InvokePrincipal | null;
  /** Functions earlier in the chain, outermost first (not including `fn`). */
  readonly chain: readonly string[];
  /** When the calling invocation's own deadline passes (ms since epoch). */
  readonly deadline: number;
  readonly bindings: Readonly<Record<string, BindingSpec>>;
}

/** What a binding call was decided as, for operators and (later) audit. */
export interface BindingCallEvent {
  readonly caller: string;
  readonly requestId: string;
  readonly binding: string;
  readonly target?: string;
  readonly chain: readonly string[];
  readonly allowed: boolean;
  readonly reason: BindingCallReason;
  /** The policies that decided (Cedar ids); empty when a step before the policy refused. */
  readonly policyIds: readonly string[];
}

/** Closed vocabulary of binding-call decisions. */
export type BindingCallReason = 'allowed' | 'not-granted' | 'policy-denied' | 'too-deep' | 're-entrant' | 'deadline-passed' | 'too-large' | 'target-failed';

/** The answer sent back to the worker: a response, or a sanitised error. */
export type BindingCallAnswer = { readonly ok: true; readonly res: InvokeResponse } | { readonly ok: false; readonly code: ErrorCode; readonly message: string };

/** How a binding call invokes a function (the worker pool's `invoke`). */
export type CallInvoker = (fn: string, req: InvokeRequest, options: { readonly chain: readonly string[] }) => Promise<{ status: number; headers: ReadonlyArray<readonly [string, string]>; body: Uint8Array | AsyncIterable<Uint8Array> & { byteLength: number | undefined; cancel(): void } }>;

/** One function-to-function call as the policy engine sees it. */
export interface CallAuthorizationRequest {
  readonly caller: string;
  readonly target: string;
  /** Functions earlier in the chain, outermost first (not the caller). */
  readonly chain: readonly string[];
  /** The principal whose request started the chain. */
  readonly principal: InvokePrincipal | null;
  readonly time: number;
}

/** Decides a call (Cedar `Action::"callFunction"`); filled by the policy capability. Throwing is a deny. */
export type CallAuthorizer = (request: CallAuthorizationRequest) => { readonly effect: 'allow' | 'deny'; readonly policyIds: readonly string[] };

/** Everything one binding call needs. */
export interface BindingCallInput {
  readonly caller: CallerIdentity;
  readonly binding: string;
  readonly payload: BindingCallPayload;
  readonly invoke: CallInvoker;
  readonly now: () => number;
  /** The policy decision after the grant; absent only where no policy capability runs (runtime tests). */
  readonly authorize?: CallAuthorizer;
  readonly events?: { onBindingCall?(event: BindingCallEvent): void };
}

/** Longest chain of function-to-function calls: A → B → C → D. */
export const MAX_CALL_DEPTH = 4;

/** A binding call refused or failed; carries its reason from the closed vocabulary. */
class CallDenied extends Error {
  constructor(
    readonly code: ErrorCode,
    readonly reason: BindingCallReason,
    message: string,
  ) {
    super(message);
  }
}

interface CallState {
  readonly input: BindingCallInput;
  target?: string;
  policyIds: readonly string[];
}

type CallStep = (state: CallState) => void;

/** Step 1: the binding must be granted to the caller in the manifest, and be a service. */
const resolveGrant: CallStep = (state) => {
  const spec = Object.hasOwn(state.input.caller.bindings, state.input.binding) ? state.input.caller.bindings[state.input.binding] : undefined;
  if (spec?.type !== 'service') throw new CallDenied('PAL_RUNTIME_BINDING_DENIED', 'not-granted', `binding \`${state.input.binding}\` is not granted`);
  state.target = spec.function;
};

/**
 * Step 2: the policy engine must permit `callFunction` from the caller to the target, with the
 * chain and the original principal in the context. The manifest grant is a policy too, so a
 * custom `forbid` (for example on `context.originalCaller.roles`) can narrow it. Deny on error.
 */
const authorizeCall: CallStep = (state) => {
  const { input } = state;
  if (input.authorize === undefined) return;
  let allow = false;
  try {
    const decision = input.authorize({ caller: input.caller.fn, target: state.target as string, chain: input.caller.chain, principal: input.caller.principal, time: input.now() });
    allow = decision.effect === 'allow';
    state.policyIds = decision.policyIds;
  } catch {
    allow = false;
  }
  if (!allow) throw new CallDenied('PAL_RUNTIME_BINDING_DENIED', 'policy-denied', `a policy refuses the call to \`${state.target ?? ''}\``);
};

/** Step 3: bounded depth. */
const checkDepth: CallStep = (state) => {
  if (state.input.caller.chain.length + 2 > MAX_CALL_DEPTH) throw new CallDenied('PAL_RUNTIME_BINDING_DENIED', 'too-deep', `call chain deeper than ${MAX_CALL_DEPTH}`);
};

/**
 * Step 4: no re-entry. A → B → A would wait for an isolate of A while A waits for B; refusing
 * re-entry makes a deadlock impossible by construction (B gets an error it can handle).
 */
const checkReentry: CallStep = (state) => {
  const { caller } = state.input;
  if (state.target === caller.fn || caller.chain.includes(state.target ?? '')) throw new CallDenied('PAL_RUNTIME_BINDING_DENIED', 're-entrant', `\`${state.target ?? ''}\` is already in the call chain`);
};

/** Step 5: the caller's deadline has not passed. */
const checkDeadline: CallStep = (state) => {
  if (state.input.now() >= state.input.caller.deadline) throw new CallDenied('PAL_RUNTIME_BINDING_FAILED', 'deadline-passed', 'the calling request is out of time');
};

/** The decision steps, in order. */
export const bindingCallSteps: readonly CallStep[] = Object.freeze([resolveGrant, authorizeCall, checkDepth, checkReentry, checkDeadline]);

/**
 * Decides and runs one binding call. Never rejects: every failure is a sanitised answer.
 *
 * @example
 * ```ts
 * const answer = await runBindingCall({ caller, binding: 'BILLING', payload, invoke, now: Date.now });
 * ```
 */
export async function runBindingCall(input: BindingCallInput): Promise<BindingCallAnswer> {
  const state: CallState = { input, policyIds: [] };
  const { caller } = input;
  const report = (allowed: boolean, reason: BindingCallReason) =>
    input.events?.onBindingCall?.({ caller: caller.fn, requestId: caller.requestId, binding: input.binding, ...(state.target === undefined ? {} : { target: state.target }), chain: caller.chain, allowed, reason, policyIds: state.policyIds });
  try {
    for (const step of bindingCallSteps) step(state);
    report(true, 'allowed');
    return await callService(state, input);
  } catch (error) {
    if (error instanceof CallDenied) {
      if (error.code === 'PAL_RUNTIME_BINDING_DENIED' || error.reason === 'deadline-passed') report(false, error.reason);
      return { ok: false, code: error.code, message: error.message };
    }
    // Sanitised: the callee's failure is named by its code, never by its detail.
    const code: ErrorCode = isPalisadeError(error) ? error.code : 'PAL_INTERNAL';
    return { ok: false, code: 'PAL_RUNTIME_BINDING_FAILED', message: `the called function failed (${code})` };
  }
}

/** The handler of `service` bindings: invoke the target through the gateway's worker pool. */
async function callService(state: CallState, input: BindingCallInput): Promise<BindingCallAnswer> {
  const { caller, payload } = input;
  const target = state.target as string;
  const remaining = caller.deadline - input.now();
  let timer: NodeJS.Timeout | undefined;
  const outOfTime = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new CallDenied('PAL_RUNTIME_BINDING_FAILED', 'deadline-passed', 'the call did not finish before the calling request ran out of time')), remaining);
  });
  try {
    const result = await Promise.race([
      input.invoke(
        target,
        // The callee sees the same request id and principal: the chain of callers is on record.
        { method: payload.method, url: payload.url, headers: payload.headers, body: payload.body, requestId: caller.requestId, principal: caller.principal },
        { chain: [...caller.chain, caller.fn] },
      ),
      outOfTime,
    ]);
    const body = await Promise.race([readBounded(result.body), outOfTime]);
    return { ok: true, res: { status: result.status, headers: result.headers, body } };
  } finally {
    clearTimeout(timer);
  }
}

async function readBounded(body: Uint8Array | (AsyncIterable<Uint8Array> & { byteLength: number | undefined; cancel(): void })): Promise<Uint8Array> {
  if (body instanceof Uint8Array) return body;
  if (body.byteLength !== undefined && body.byteLength > MAX_BINDING_BODY_BYTES) {
    body.cancel();
    throw new CallDenied('PAL_RUNTIME_BINDING_FAILED', 'too-large', 'the called function response is too large');
  }
  try {
    return await collectBody(body, MAX_BINDING_BODY_BYTES);
  } catch (error) {
    if (isPalisadeError(error) && error.code === 'PAL_RUNTIME_RESPONSE_TOO_LARGE') throw new CallDenied('PAL_RUNTIME_BINDING_FAILED', 'too-large', 'the called function response is too large');
    throw error;
  }
}
