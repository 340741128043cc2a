import { readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { DiagnosticsError, PalisadeError, type ValidationResult } from '../kernel/index.js';
import type { Manifest } from './manifest-types.js';
import { validateManifestText } from './validate-manifest.js';

/** The manifest's file name inside a project directory. */
export const MANIFEST_FILE = 'palisade.yaml';

/**
 * Reads and validates `<projectDir>/palisade.yaml`, collecting every problem.
 *
 * Throws only when the file cannot be read at all (`PAL_MANIFEST_NOT_FOUND`,
 * `PAL_MANIFEST_UNREADABLE`); content problems are returned as diagnostics.
 *
 * @example
 * ```ts
 * const result = checkManifest('examples/shop');
 * ```
 */
export function checkManifest(projectDir: string): ValidationResult<Manifest> {
  const dir = resolve(projectDir);
  const file = join(dir, MANIFEST_FILE);
  let text: string;
  try {
    if (!statSync(dir).isDirectory()) throw new PalisadeError('PAL_MANIFEST_NOT_FOUND', `\`${projectDir}\` is not a directory: pass the project directory that holds \`${MANIFEST_FILE}\``);
    text = readFileSync(file, 'utf8');
  } catch (error) {
    if (error instanceof PalisadeError) throw error;
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new PalisadeError('PAL_MANIFEST_NOT_FOUND', `no \`${MANIFEST_FILE}\` in \`${projectDir}\`: pass the project directory, or create a project with \`palisade init ${projectDir}\``, { cause: error });
    throw new PalisadeError('PAL_MANIFEST_UNREADABLE', `cannot read \`${join(projectDir, MANIFEST_FILE)}\` (${code ?? 'unknown error'})`, { cause: error });
  }
  return validateManifestText({ text, file: join(projectDir, MANIFEST_FILE), projectDir: dir });
}

/**
 * Loads a manifest and throws a {@link DiagnosticsError} carrying every problem when it is invalid.
 *
 * @example
 * ```ts
 * const manifest = loadManifest('examples/shop');
 * ```
 */
export function loadManifest(projectDir: string): Manifest {
  const result = checkManifest(projectDir);
  if (!result.ok || result.value === undefined) throw new DiagnosticsError(result.errors);
  return result.value;
}
