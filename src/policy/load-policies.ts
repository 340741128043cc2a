import { readFileSync } from 'node:fs';
import { relative } from 'node:path';
import type { Diagnostic, ValidationResult } from '../kernel/index.js';
import type { Manifest } from '../manifest/index.js';
import { compilePolicySet, type CompiledPolicySet } from './compile-policy-set.js';
import { generateManifestPolicies } from './generate-policies.js';
import { parsePolicyFile } from './parse-policy-file.js';
import type { PolicySource } from './policy-source.js';

/**
 * The effective policy set of a project: the policies generated from the manifest plus every
 * `.cedar` file under `policies:`, validated against the schema in strict mode. Collects every
 * problem; nothing is half-loaded.
 *
 * @example
 * ```ts
 * const result = loadPolicySet(manifest);
 * if (!result.ok) throw new DiagnosticsError(result.errors);
 * ```
 */
export function loadPolicySet(manifest: Pick<Manifest, 'routes' | 'functions' | 'segments' | 'file' | 'projectDir' | 'policies'> & Partial<Pick<Manifest, 'roles'>>): ValidationResult<CompiledPolicySet> {
  const sources: PolicySource[] = [...generateManifestPolicies(manifest)];
  const errors: Diagnostic[] = [];
  for (const absolute of manifest.policies ?? []) {
    const file = relative(manifest.projectDir, absolute);
    let text: string;
    try {
      text = readFileSync(absolute, 'utf8');
    } catch (error) {
      errors.push({ code: 'PAL_POLICY_FILE_NOT_FOUND', severity: 'error', path: file, message: `cannot read policy file \`${file}\` (${(error as NodeJS.ErrnoException).code ?? 'unknown error'})`, location: { file } });
      continue;
    }
    const parsed = parsePolicyFile(file, text);
    errors.push(...parsed.errors);
    sources.push(...parsed.policies);
  }
  if (errors.length > 0) return { ok: false, errors, warnings: [] };
  return compilePolicySet(sources);
}
