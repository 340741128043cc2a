import { PalisadeError } from '../kernel/index.js';

/** A request target that passed {@link checkRequestTarget}. */
export interface RequestTarget {
  /** The raw path, exactly as sent (no normalisation). */
  readonly path: string;
  /** The raw query including `?`, or ''. */
  readonly search: string;
  /** Path segments, percent-decoded. */
  readonly segments: readonly string[];
}

// C0 controls, space, DEL: never valid in a request target (RFC 9112 section 3.2).
const FORBIDDEN_RAW = /[\u0000-\u0020\u007f\\#]/;
const ENCODED_SLASH_OR_BACKSLASH = /%(2f|5c)/i;
const DECODED_CONTROL = /[\u0000-\u001f\u007f]/;

/**
 * Checks a raw request target and splits it. Palisade never normalises a path: anything that a
 * normaliser would change (dot segments, duplicate slashes, encoded slashes or backslashes) is
 * rejected with `PAL_GATEWAY_BAD_PATH`, so the path a policy sees is the path a function sees.
 *
 * @example
 * ```ts
 * checkRequestTarget('/api/orders/42?x=1'); // { path: '/api/orders/42', search: '?x=1', segments: ['api','orders','42'] }
 * checkRequestTarget('/api/%2e%2e/admin');   // throws PAL_GATEWAY_BAD_PATH
 * ```
 */
export function checkRequestTarget(raw: string): RequestTarget {
  const bad = (why: string): never => {
    throw new PalisadeError('PAL_GATEWAY_BAD_PATH', `request path rejected: ${why}`);
  };
  if (!raw.startsWith('/')) bad('it must be an absolute path');
  if (raw.length > 8192) bad('it is too long');
  if (FORBIDDEN_RAW.test(raw)) bad('it contains a control character, space, backslash or fragment');
  const q = raw.indexOf('?');
  const path = q === -1 ? raw : raw.slice(0, q);
  const search = q === -1 ? '' : raw.slice(q);
  if (ENCODED_SLASH_OR_BACKSLASH.test(path)) bad('it contains an encoded slash or backslash');
  if (path.includes('//')) bad('it contains an empty segment');
  const segments: string[] = [];
  if (path !== '/') {
    const parts = path.slice(1).split('/');
    for (let i = 0; i < parts.length; i++) {
      const part = parts[i] ?? '';
      let decoded: string;
      try {
        decoded = decodeURIComponent(part);
      } catch {
        return bad('it contains invalid percent-encoding');
      }
      if (decoded === '.' || decoded === '..') bad('it contains a dot segment');
      if (DECODED_CONTROL.test(decoded)) bad('it contains an encoded control character');
      segments.push(decoded);
    }
  }
  return { path, search, segments };
}
