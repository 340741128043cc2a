import { Denial } from '../denial.js';
import { checkJsonLimits } from '../json-limits.js';
import type { RequestContext } from '../request-context.js';

const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * Step 5c: validates the body against the route's JSON Schema for this method (compiled once at
 * load), before any function runs. Depth and entry count are checked on the raw bytes first
 * (a parser bomb costs one linear scan), then the JSON is parsed without prototype keys, then
 * the schema runs. Malformed: 400; not matching the schema: 422 with each error and its JSON
 * pointer in the problem's `errors`.
 */
export function validateBody(ctx: RequestContext): void {
  const route = ctx.route;
  const method = ctx.req.method ?? '';
  const validator = route === undefined ? undefined : ctx.state.bodyValidators.get(route)?.get(method);
  if (validator === undefined) return;
  if (ctx.body === null) throw malformed('a json body is required');
  const value = decodeJsonBody(ctx.body, ctx.state.jsonLimits);
  const errors = validator(value);
  if (errors.length > 0) {
    throw new Denial('PAL_GATEWAY_INVALID_BODY', 'invalid-body', `the body does not match the route schema (${errors.length} error${errors.length === 1 ? '' : 's'})`, { errors });
  }
  ctx.json = value;
}

/**
 * Decodes a JSON request body within the gateway's limits: depth and entry count on the raw
 * bytes first (a parser bomb costs one linear scan), strict UTF-8, then a parse that refuses
 * prototype keys. Every refusal is a 400 `Denial`. Shared by route bodies and the admin API.
 *
 * @example
 * ```ts
 * const value = decodeJsonBody(body, { maxJsonDepth: 64, maxJsonKeys: 10_000 });
 * ```
 */
export function decodeJsonBody(body: Uint8Array, limits: { readonly maxJsonDepth: number; readonly maxJsonKeys: number }): unknown {
  if (body.byteLength === 0) throw malformed('a json body is required');
  const { maxJsonDepth, maxJsonKeys } = limits;
  const shape = checkJsonLimits(body, maxJsonDepth, maxJsonKeys);
  if (!shape.ok) throw malformed(shape.reason === 'too-deep' ? `the json body nests deeper than ${maxJsonDepth} levels` : `the json body has more than ${maxJsonKeys} keys and items`);
  let text: string;
  try {
    text = utf8.decode(body);
  } catch {
    throw malformed('the json body is not valid utf-8');
  }
  const parsed = parseJsonBody(text);
  if (!parsed.ok) throw malformed(parsed.reason === 'forbidden-key' ? 'the json body uses a forbidden key (`__proto__`, `constructor` or `prototype`)' : 'the body is not valid json');
  return parsed.value;
}

function malformed(message: string): Denial {
  return new Denial('PAL_GATEWAY_MALFORMED_BODY', 'malformed-body', message);
}

const FORBIDDEN_KEYS = new Set(['__proto__', 'constructor', 'prototype']);

/**
 * `JSON.parse` without a reviver (a reviver makes parsing about four times slower), then one
 * iterative walk for prototype-pollution keys; the same refusals as the kernel's `safeJsonParse`
 * on a body whose depth `checkJsonLimits` already bounded. `JSON.parse` stores `__proto__` as an
 * own data property, so `Object.keys` sees it.
 */
function parseJsonBody(text: string): { ok: true; value: unknown } | { ok: false; reason: 'syntax' | 'forbidden-key' } {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return { ok: false, reason: 'syntax' };
  }
  // A forbidden key is in the text literally or spelled with `\u` escapes (the only JSON escape
  // that can spell a letter or `_`); without either, there is nothing to walk for.
  if (!text.includes('\\u') && !text.includes('__proto__') && !text.includes('constructor') && !text.includes('prototype')) return { ok: true, value };
  const stack: unknown[] = [value];
  while (stack.length > 0) {
    const node = stack.pop();
    if (node === null || typeof node !== 'object') continue;
    if (Array.isArray(node)) {
      for (const item of node) if (item !== null && typeof item === 'object') stack.push(item);
      continue;
    }
    for (const key of Object.keys(node)) {
      if (FORBIDDEN_KEYS.has(key)) return { ok: false, reason: 'forbidden-key' };
      const child = (node as Record<string, unknown>)[key];
      if (child !== null && typeof child === 'object') stack.push(child);
    }
  }
  return { ok: true, value };
}
