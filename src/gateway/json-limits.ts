/** Result of {@link checkJsonLimits}. */
export type JsonLimitsResult = { readonly ok: true } | { readonly ok: false; readonly reason: 'too-deep' | 'too-many-keys' };

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN_OBJECT = 0x7b;
const OPEN_ARRAY = 0x5b;
const CLOSE_OBJECT = 0x7d;
const CLOSE_ARRAY = 0x5d;
const COMMA = 0x2c;
const COLON = 0x3a;

/**
 * Checks a JSON text's nesting depth and entry count in one pass over the bytes, before it is
 * parsed, so a parser bomb (`[[[[…` a million deep, or a million tiny keys) is refused in time
 * linear in the body (already capped by `maxBodyBytes`) without building anything. Entries are
 * counted as structural `:` and `,` outside strings, an upper bound of keys plus array items.
 * Syntax is not checked here; the parser does that afterwards.
 *
 * @example
 * ```ts
 * checkJsonLimits(Buffer.from('[[[1]]]'), 2, 100); // { ok: false, reason: 'too-deep' }
 * ```
 */
export function checkJsonLimits(bytes: Uint8Array, maxDepth: number, maxEntries: number): JsonLimitsResult {
  let depth = 0;
  let entries = 0;
  let inString = false;
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i] as number;
    if (inString) {
      if (b === BACKSLASH) i++;
      else if (b === QUOTE) inString = false;
      continue;
    }
    switch (b) {
      case QUOTE:
        inString = true;
        break;
      case OPEN_OBJECT:
      case OPEN_ARRAY:
        if (++depth > maxDepth) return { ok: false, reason: 'too-deep' };
        break;
      case CLOSE_OBJECT:
      case CLOSE_ARRAY:
        depth--;
        break;
      case COMMA:
      case COLON:
        if (++entries > maxEntries) return { ok: false, reason: 'too-many-keys' };
        break;
      default:
        break;
    }
  }
  return { ok: true };
}
