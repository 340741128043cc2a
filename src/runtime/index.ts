export { bundleFunction, stopBundler, MAX_BUNDLE_BYTES, type FunctionBundle } from './bundle-function.js';
export { buildPrelude } from './build-prelude.js';
export {
  createWorkerPool,
  workerExecArgv,
  type WorkerPool,
  type WorkerPoolOptions,
  type WorkerPoolEvents,
  type FunctionResult,
  type FunctionLogLine,
} from './worker-pool.js';
export type { InvokeRequest, InvokeResponse } from './protocol.js';
export { compilePrelude, createWarmIsolate, FunctionSandbox, SparePool, type PreludeScript, type SandboxResult } from './function-sandbox.js';
export type { WorkerFunction } from './protocol.js';
