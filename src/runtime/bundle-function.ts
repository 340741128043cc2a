import { relative } from 'node:path';
import { build, stop, type Message } from 'esbuild';
import { PalisadeError } from '../kernel/index.js';
import type { FunctionSpec } from '../manifest/index.js';

/** A function bundled into one CommonJS script, ready to evaluate in an isolate. */
export interface FunctionBundle {
  readonly name: string;
  readonly code: string;
}

/** Largest bundle accepted, in bytes: a guard against accidentally bundling a whole SDK. */
export const MAX_BUNDLE_BYTES = 8 * 1024 * 1024;

/**
 * Bundles a function and its npm dependencies with esbuild for the isolate: no Node built-ins
 * (`platform: neutral`), browser/worker package entry points preferred.
 *
 * Throws `PAL_RUNTIME_BUILD_FAILED` whose message names `file:line:col` of the first error.
 * Type errors are not checked here (esbuild strips types); syntax errors are.
 *
 * @example
 * ```ts
 * const bundle = await bundleFunction(manifest.functions.get('orders')!, manifest.projectDir);
 * ```
 */
export async function bundleFunction(spec: FunctionSpec, projectDir: string): Promise<FunctionBundle> {
  try {
    const result = await build({
      entryPoints: [spec.source],
      absWorkingDir: projectDir,
      bundle: true,
      write: false,
      format: 'cjs',
      platform: 'neutral',
      target: 'es2022',
      mainFields: ['worker', 'browser', 'module', 'main'],
      conditions: ['worker', 'browser'],
      logLevel: 'silent',
      legalComments: 'none',
      sourcemap: false,
    });
    const code = result.outputFiles[0]?.text ?? '';
    if (code.length > MAX_BUNDLE_BYTES) {
      throw new PalisadeError('PAL_RUNTIME_BUILD_FAILED', `function \`${spec.name}\` bundles to ${code.length} bytes, more than ${MAX_BUNDLE_BYTES}`);
    }
    return { name: spec.name, code };
  } catch (error) {
    if (error instanceof PalisadeError) throw error;
    const messages = (error as { errors?: Message[] }).errors ?? [];
    const first = messages[0];
    if (first === undefined) throw new PalisadeError('PAL_RUNTIME_BUILD_FAILED', `function \`${spec.name}\` failed to bundle`, { cause: error });
    const loc = first.location;
    const where = loc === null ? relative(projectDir, spec.source) : `${loc.file}:${loc.line}:${loc.column + 1}`;
    const more = messages.length > 1 ? ` (and ${messages.length - 1} more)` : '';
    throw new PalisadeError('PAL_RUNTIME_BUILD_FAILED', `${where}: ${first.text.toLowerCase()}${more}`, { cause: error });
  }
}

/** Stops esbuild's background service process; a later build starts it again. */
export async function stopBundler(): Promise<void> {
  await stop();
}
