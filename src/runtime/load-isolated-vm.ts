// The one place that loads isolated-vm. Import the value from here, and types from
// 'isolated-vm' with `import type` only (no package of that name exists at run time).
import { createRequire } from 'node:module';
import { join } from 'node:path';
import type * as IsolatedVM from 'isolated-vm';
import { PalisadeError } from '../kernel/index.js';
import { isolatedVmLocation } from './package-paths.js';

function load(): typeof IsolatedVM {
  const location = isolatedVmLocation();
  try {
    return createRequire(join(location.dir, 'package.json'))(location.dir) as typeof IsolatedVM;
  } catch (error) {
    throw new PalisadeError('PAL_RUNTIME_ENGINE_MISSING', `isolated-vm ${location.version} (${location.name}) is installed but does not load on Node ${process.versions.node}: reinstall with \`npm ci\` on this Node`, { cause: error });
  }
}

/**
 * isolated-vm, in the build that fits the running Node: 5.0.4 on Node 20, 7.0.1 on Node 24+.
 * Both have the same API. Also a namespace of isolated-vm's types, so `ivm.Context` works.
 *
 * @example
 * ```ts
 * import ivm from './load-isolated-vm.js';
 * const isolate = new ivm.Isolate({ memoryLimit: 64 });
 * ```
 */
const ivm: typeof IsolatedVM = load();

/* eslint-disable @typescript-eslint/no-explicit-any -- mirrors isolated-vm's own generic defaults */
declare namespace ivm {
  export type Isolate = IsolatedVM.Isolate;
  export type Context = IsolatedVM.Context;
  export type Script = IsolatedVM.Script;
  export type Module = IsolatedVM.Module;
  export type NativeModule = IsolatedVM.NativeModule;
  export type Reference<T = any> = IsolatedVM.Reference<T>;
  export type Dereference<T> = IsolatedVM.Dereference<T>;
  export type ExternalCopy<T = any> = IsolatedVM.ExternalCopy<T>;
  export type Copy<T> = IsolatedVM.Copy<T>;
  export type Callback<T extends (...args: any[]) => any = any> = IsolatedVM.Callback<T>;
  export type Transferable = IsolatedVM.Transferable;
  export type CachedDataOptions = IsolatedVM.CachedDataOptions;
  export type CachedDataResult = IsolatedVM.CachedDataResult;
  export type IsolateOptions = IsolatedVM.IsolateOptions;
  export type ContextOptions = IsolatedVM.ContextOptions;
  export type ScriptOrigin = IsolatedVM.ScriptOrigin;
  export type RunOptions = IsolatedVM.RunOptions;
  export type HeapStatistics = IsolatedVM.HeapStatistics;
}
/* eslint-enable @typescript-eslint/no-explicit-any */

export default ivm;
