import type { FunctionSpec, Manifest, SecretSpec } from './manifest-types.js';
import type { SegmentRuleProblem } from './segment-rule-problem.js';

/** The segment every declared or granted secret belongs to, and the secrets whose owner is ambiguous. */
export interface SecretSegments {
  readonly owners: Map<string, string>;
  readonly problems: SegmentRuleProblem[];
}

/** Where a function holds a secret: its `secrets` list, or the rotation function of the secret. */
export interface SecretHolder {
  readonly fn: string;
  readonly segment: string;
  readonly path: readonly (string | number)[];
}

/**
 * Every function that holds each secret: the functions granted it (`functions.<fn>.secrets`) and
 * its rotation function (`secrets.<name>.rotation.function`, which sees every new value).
 *
 * @example
 * ```ts
 * secretHolders(secrets, functions).get('db-url'); // [{ fn: 'orders', segment: 'payments', path: [...] }]
 * ```
 */
export function secretHolders(secrets: ReadonlyMap<string, SecretSpec>, functions: ReadonlyMap<string, FunctionSpec>): Map<string, SecretHolder[]> {
  const out = new Map<string, SecretHolder[]>();
  const add = (name: string, h: SecretHolder) => out.set(name, [...(out.get(name) ?? []), h]);
  for (const fn of functions.values()) (fn.secrets ?? []).forEach((name, i) => add(name, { fn: fn.name, segment: fn.segment, path: ['functions', fn.name, 'secrets', i] }));
  for (const s of secrets.values()) {
    const fn = s.rotation === undefined ? undefined : functions.get(s.rotation.function);
    if (fn !== undefined) add(s.name, { fn: fn.name, segment: fn.segment, path: ['secrets', s.name, 'rotation', 'function'] });
  }
  return out;
}

/**
 * Decides which segment each secret belongs to: its declared `segment:`; else the one segment of
 * the functions holding it; else (held by nobody) `default`. Functions of several segments and no
 * declared segment is a problem: the owner, and with it who needs a segment rule, would be a guess.
 *
 * @example
 * ```ts
 * resolveSecretSegments(secrets, functions).owners.get('db-url'); // 'payments'
 * ```
 */
export function resolveSecretSegments(secrets: ReadonlyMap<string, SecretSpec>, functions: ReadonlyMap<string, FunctionSpec>): SecretSegments {
  const owners = new Map<string, string>();
  const problems: SegmentRuleProblem[] = [];
  const holders = secretHolders(secrets, functions);
  const names = new Set([...secrets.keys(), ...holders.keys()]);
  for (const name of [...names].sort()) {
    const declared = secrets.get(name)?.segment;
    if (declared !== undefined) {
      owners.set(name, declared);
      continue;
    }
    const held = holders.get(name) ?? [];
    const segments = [...new Set(held.map((h) => h.segment))].sort();
    if (segments.length <= 1) {
      owners.set(name, segments[0] ?? 'default');
      continue;
    }
    // INVARIANT: an ambiguous secret has no owner, so it can never be read by a guess.
    const [first, ...others] = segments as [string, ...string[]];
    const each = segments.map((s) => `\`${s}\` (${held.filter((h) => h.segment === s).map((h) => `\`${h.fn}\``).join(', ')})`);
    const where = `${each.slice(0, -1).join(', ')} and ${each[each.length - 1] ?? ''}`;
    const at = held.find((h) => h.segment !== first) ?? held[0];
    problems.push({
      code: 'PAL_MANIFEST_SEGMENT_CROSSING',
      path: at?.path ?? ['secrets', name],
      message: `secret \`${name}\` declares no segment and is granted to functions in segments ${where}, so it is not clear which segment it belongs to`,
      hint: `declare its segment and let the others read it with a rule: secrets: { ${name}: { segment: ${first} } } and segments: { ${first}: { allowSecretReadsFrom: [${others.join(', ')}] } }`,
    });
  }
  return { owners, problems };
}

/**
 * The segment a secret belongs to (`default` for a secret the manifest names nowhere).
 *
 * @example
 * ```ts
 * secretSegmentOf(manifest, 'db-url'); // 'payments'
 * ```
 */
export function secretSegmentOf(manifest: Pick<Manifest, 'secretSegments'>, name: string): string {
  return manifest.secretSegments.get(name) ?? 'default';
}
