const FORBIDDEN_KEYS = new Set(['__proto__', 'constructor', 'prototype']);

/** Result of {@link safeJsonParse}. */
export type SafeJsonResult = { readonly ok: true; readonly value: unknown } | { readonly ok: false; readonly reason: 'syntax' | 'forbidden-key' | 'too-deep' };

/**
 * Parses JSON and rejects keys that enable prototype pollution (`__proto__`, `constructor`,
 * `prototype`) and nesting deeper than `maxDepth`.
 *
 * @example
 * ```ts
 * safeJsonParse('{"__proto__":{"admin":true}}'); // { ok: false, reason: 'forbidden-key' }
 * ```
 */
export function safeJsonParse(text: string, maxDepth = 64): SafeJsonResult {
  let forbidden = false;
  let value: unknown;
  try {
    value = JSON.parse(text, (key, v: unknown) => {
      if (FORBIDDEN_KEYS.has(key)) forbidden = true;
      return v;
    });
  } catch {
    return { ok: false, reason: 'syntax' };
  }
  if (forbidden) return { ok: false, reason: 'forbidden-key' };
  if (depthOf(value, maxDepth) > maxDepth) return { ok: false, reason: 'too-deep' };
  return { ok: true, value };
}

function depthOf(value: unknown, limit: number): number {
  // Iterative walk: a hostile document must not be able to overflow our own stack.
  let max = 0;
  const stack: Array<[unknown, number]> = [[value, 0]];
  while (stack.length > 0) {
    const [node, depth] = stack.pop() as [unknown, number];
    if (depth > max) max = depth;
    if (max > limit) return max;
    if (node !== null && typeof node === 'object') {
      for (const child of Object.values(node)) stack.push([child, depth + 1]);
    }
  }
  return max;
}
