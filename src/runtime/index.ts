export { bundleFunction, stopBundler, MAX_BUNDLE_BYTES, type FunctionBundle } from './bundle-function.js';
export { buildPrelude } from './build-prelude.js';
export {
  createWorkerPool,
  readWholeBody,
  workerExecArgv,
  RuntimeRetryLater,
  type WorkerPool,
  type WorkerPoolOptions,
  type WorkerPoolEvents,
  type FunctionResult,
  type FunctionLogLine,
  type BodyStream,
  type InvokeOptions,
  type PoolFunctionSpec,
  type EgressCaller,
  type EgressHandler,
} from './worker-pool.js';
export { MAX_CALL_DEPTH, bindingCallSteps, type BindingCallAnswer, type BindingCallEvent, type BindingCallReason, type CallAuthorizer, type CallAuthorizationRequest } from './binding-calls.js';
export type { SecretResolver, ResolvedSecret, KvResolver, KvStore, KvListPage } from './secret-ports.js';
export { secretRefusal, type SecretReadEvent, type SecretReadReason, type SecretAuthorizer, type SecretAuthorizationRequest } from './secret-reads.js';
export { SecretRedactor, MIN_REDACTED_BYTES, redactedForms } from './redact-secrets.js';
export type { InvokeRequest, InvokeResponse, InvokePrincipal } from './protocol.js';
export { EGRESS_METHODS, MAX_BINDING_BODY_BYTES, MAX_KV_KEY_BYTES, MAX_KV_VALUE_BYTES, MAX_KV_LIST_LIMIT, MAX_SECRET_READS_PER_REQUEST } from './protocol.js';
export { compilePrelude, createWarmIsolate, FunctionSandbox, SparePool, LOAD_TIMEOUT_MS, FIRST_CALL_CPU_ALLOWANCE_MS, type PreludeScript, type SandboxResult } from './function-sandbox.js';
export type { WorkerFunction } from './protocol.js';
export { probeNetworkIsolation, type NetworkIsolation } from './network-namespace.js';
