import { join } from 'node:path';
import { build } from 'esbuild';
import { PalisadeError } from '../kernel/index.js';
import { packageRoot } from './package-paths.js';

let cached: Promise<string> | undefined;

/**
 * Bundles the isolate prelude (Web APIs from standard polyfills, host bridges, the dispatcher)
 * once per process. The source lives in `src/runtime/prelude/`.
 *
 * @example
 * ```ts
 * const prelude = await buildPrelude();
 * ```
 */
export function buildPrelude(): Promise<string> {
  cached ??= build({
    entryPoints: [join(packageRoot, 'src', 'runtime', 'prelude', 'prelude.js')],
    bundle: true,
    write: false,
    format: 'iife',
    platform: 'neutral',
    target: 'es2022',
    mainFields: ['module', 'main'],
    minify: true,
    legalComments: 'none',
    logLevel: 'silent',
  }).then(
    (result) => result.outputFiles[0]?.text ?? '',
    (error: unknown) => {
      cached = undefined;
      throw new PalisadeError('PAL_INTERNAL', 'the isolate prelude failed to build', { cause: error });
    },
  );
  return cached;
}
