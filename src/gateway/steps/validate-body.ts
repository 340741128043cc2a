import { safeJsonParse } from '../../kernel/index.js';
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
  const body = ctx.body;
  if (body === null || body.byteLength === 0) throw malformed('a json body is required');
  const { maxJsonDepth, maxJsonKeys } = ctx.state.jsonLimits;
  const shape = checkJsonLimits(body, maxJsonDepth, maxJsonKeys);
  if (!shape.ok) throw malformed(shape.reason === 'too-deep' ? `the json body nests deeper than ${maxJsonDepth} levels` : `the json body has more than ${maxJsonKeys} keys and items`);
  let text: string;
  try {
    text = utf8.decode(body);
  } catch {
    throw malformed('the json body is not valid utf-8');
  }
  const parsed = safeJsonParse(text, maxJsonDepth);
  if (!parsed.ok) throw malformed(parsed.reason === 'forbidden-key' ? 'the json body uses a forbidden key (`__proto__`, `constructor` or `prototype`)' : 'the body is not valid json');
  const errors = validator(parsed.value);
  if (errors.length > 0) {
    throw new Denial('PAL_GATEWAY_INVALID_BODY', 'invalid-body', `the body does not match the route schema (${errors.length} error${errors.length === 1 ? '' : 's'})`, { errors });
  }
  ctx.json = parsed.value;
}

function malformed(message: string): Denial {
  return new Denial('PAL_GATEWAY_MALFORMED_BODY', 'malformed-body', message);
}
