/**
 * RFC 8785 (JSON Canonicalization Scheme): the one byte sequence a JSON value hashes as.
 *
 * Object members are sorted by their names' UTF-16 code units (RFC 8785 §3.2.3), numbers are
 * written as ECMAScript `Number.prototype.toString` does (§3.2.2.3, which `JSON.stringify`
 * implements), strings with the minimal JSON escapes (§3.2.2.2, again `JSON.stringify`), no
 * whitespace. Values JSON cannot carry (`undefined`, functions, non-finite numbers, lone
 * surrogates, bigint) are refused rather than silently changed: a record that would hash
 * differently from what it says must not be written.
 *
 * @example
 * ```ts
 * canonicalizeJson({ b: 1, a: [true, null] }); // '{"a":[true,null],"b":1}'
 * ```
 */
export function canonicalizeJson(value: unknown): string {
  const out: string[] = [];
  write(value, out, 0);
  return out.join('');
}

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/u;
const MAX_DEPTH = 64;

function writeString(s: string, out: string[]): void {
  // I-JSON (RFC 7493 §2.1) forbids lone surrogates; RFC 8785 §3.2.2.2 requires I-JSON input.
  if (LONE_SURROGATE.test(s)) throw new TypeError('canonical json: a string holds a lone surrogate');
  out.push(JSON.stringify(s));
}

function write(value: unknown, out: string[], depth: number): void {
  if (depth > MAX_DEPTH) throw new TypeError('canonical json: nesting too deep');
  if (value === null) {
    out.push('null');
    return;
  }
  switch (typeof value) {
    case 'boolean':
      out.push(value ? 'true' : 'false');
      return;
    case 'number':
      if (!Number.isFinite(value)) throw new TypeError('canonical json: a number is not finite');
      // -0 serialises as 0 (RFC 8785 §3.2.2.3); JSON.stringify does exactly that.
      out.push(JSON.stringify(value));
      return;
    case 'string':
      writeString(value, out);
      return;
    case 'object': {
      if (Array.isArray(value)) {
        out.push('[');
        for (let i = 0; i < value.length; i++) {
          if (i > 0) out.push(',');
          write(value[i], out, depth + 1);
        }
        out.push(']');
        return;
      }
      const proto: unknown = Object.getPrototypeOf(value);
      if (proto !== Object.prototype && proto !== null) throw new TypeError('canonical json: only plain objects and arrays');
      // Default sort compares UTF-16 code units, the order RFC 8785 §3.2.3 prescribes.
      const keys = Object.keys(value).filter((k) => (value as Record<string, unknown>)[k] !== undefined).sort();
      out.push('{');
      keys.forEach((k, i) => {
        if (i > 0) out.push(',');
        writeString(k, out);
        out.push(':');
        write((value as Record<string, unknown>)[k], out, depth + 1);
      });
      out.push('}');
      return;
    }
    default:
      throw new TypeError(`canonical json: a ${typeof value} has no JSON form`);
  }
}
