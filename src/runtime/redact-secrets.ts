/**
 * Redaction of secret values in what a function sends out: console lines, failure details,
 * response headers and bodies. Runs in the gateway process, after the worker and before anything
 * is written, so a function (or its dependencies) that prints or returns a secret it was granted
 * leaks `[REDACTED:name]` instead.
 */

/** Values (and encoded forms) shorter than this are not redacted: they would mangle ordinary output. */
export const MIN_REDACTED_BYTES = 4;
/** Values of one secret kept for redaction (the current one and the versions before it). */
const VERSIONS_KEPT = 4;

/** The forms of a value that are redacted: plain, base64 (standard and url-safe, with and without padding), URL-encoded, and as a JSON string escapes it. */
export function redactedForms(value: string): string[] {
  const bytes = Buffer.from(value, 'utf8');
  const b64 = bytes.toString('base64');
  const b64url = bytes.toString('base64url');
  const forms = new Set([value, b64, b64.replace(/=+$/, ''), b64url, `${b64url}${'='.repeat((4 - (b64url.length % 4)) % 4)}`, encodeURIComponent(value), JSON.stringify(value).slice(1, -1)]);
  return [...forms].filter((f) => Buffer.byteLength(f, 'utf8') >= MIN_REDACTED_BYTES);
}

const escapeRegExp = (s: string): string => s.replace(/[\\^$.*+?()[\]{}|/-]/g, '\\$&');

interface Compiled {
  /** Over JS strings (log lines, details, headers). */
  readonly text: RegExp;
  /** Over the latin1 view of UTF-8 bytes (bodies): one char per byte. */
  readonly bytes: RegExp;
  readonly labels: ReadonlyMap<string, string>;
  readonly byteLabels: ReadonlyMap<string, string>;
  /** Longest form in bytes: the overlap a stream keeps between chunks. */
  readonly maxBytes: number;
}

/**
 * The redaction rules of one function: every value (last few versions) of every secret granted
 * to it, in all its forms. `active` is false while it knows no value, and then costs nothing.
 *
 * @example
 * ```ts
 * const r = new SecretRedactor();
 * r.setValue('db-url', 'postgres://u:pw@db/x');
 * r.redactText('connecting to postgres://u:pw@db/x'); // 'connecting to [REDACTED:db-url]'
 * ```
 */
export class SecretRedactor {
  readonly #values = new Map<string, string[]>();
  #compiled: Compiled | undefined;

  /** Whether there is anything to redact. */
  get active(): boolean {
    return this.#compiled !== undefined;
  }

  /** Adds a value of secret `name` (kept with up to three earlier ones: warm isolates may still hold them). */
  setValue(name: string, value: string): void {
    const list = this.#values.get(name) ?? [];
    if (list.at(-1) === value) return;
    const next = [...list.filter((v) => v !== value), value].slice(-VERSIONS_KEPT);
    this.#values.set(name, next);
    this.#compile();
  }

  #compile(): void {
    // Longest first: where two forms start at the same place, the longer one is replaced whole.
    const entries: Array<[form: string, name: string]> = [];
    for (const [name, values] of this.#values) for (const v of values) for (const f of redactedForms(v)) entries.push([f, name]);
    if (entries.length === 0) {
      this.#compiled = undefined;
      return;
    }
    entries.sort((a, b) => Buffer.byteLength(b[0]) - Buffer.byteLength(a[0]));
    const labels = new Map<string, string>();
    const byteLabels = new Map<string, string>();
    for (const [form, name] of entries) {
      if (!labels.has(form)) labels.set(form, `[REDACTED:${name}]`);
      const latin = Buffer.from(form, 'utf8').toString('latin1');
      if (!byteLabels.has(latin)) byteLabels.set(latin, `[REDACTED:${name}]`);
    }
    this.#compiled = {
      text: new RegExp([...labels.keys()].map(escapeRegExp).join('|'), 'g'),
      bytes: new RegExp([...byteLabels.keys()].map(escapeRegExp).join('|'), 'g'),
      labels,
      byteLabels,
      maxBytes: Buffer.byteLength(entries[0]?.[0] ?? ''),
    };
  }

  /** A string with every known form replaced by `[REDACTED:name]`. */
  redactText(text: string): string {
    const c = this.#compiled;
    if (c === undefined) return text;
    return text.replace(c.text, (m) => c.labels.get(m) ?? '[REDACTED]');
  }

  /** Header names and values redacted. */
  redactHeaders(headers: ReadonlyArray<readonly [string, string]>): ReadonlyArray<readonly [string, string]> {
    if (this.#compiled === undefined) return headers;
    return headers.map(([k, v]) => [this.redactText(k), this.redactText(v)] as const);
  }

  /** A whole body redacted (the same array when nothing matched). */
  redactBytes(body: Uint8Array): Uint8Array {
    const c = this.#compiled;
    if (c === undefined || body.byteLength === 0) return body;
    const latin = Buffer.from(body.buffer, body.byteOffset, body.byteLength).toString('latin1');
    c.bytes.lastIndex = 0;
    if (!c.bytes.test(latin)) return body;
    c.bytes.lastIndex = 0;
    return Buffer.from(latin.replace(c.bytes, (m) => c.byteLabels.get(m) ?? '[REDACTED]'), 'latin1');
  }

  /**
   * A redacting pass over a stream of chunks. A value may span chunks: the last `longest form - 1`
   * bytes of what arrived are held back until the next chunk (or the end) shows whether they
   * start a match. The output length differs from the input's, so no length can be promised.
   */
  redactStream(source: AsyncIterable<Uint8Array>): AsyncGenerator<Uint8Array> {
    const c = this.#compiled;
    return (async function* redact(): AsyncGenerator<Uint8Array> {
      if (c === undefined) {
        yield* source;
        return;
      }
      let carry = '';
      for await (const chunk of source) {
        const text = carry + Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength).toString('latin1');
        // A match starting before `safe` fits wholly in `text`; one starting later may go on in the next chunk.
        const safe = Math.max(0, text.length - (c.maxBytes - 1));
        let out = '';
        let pos = 0;
        c.bytes.lastIndex = 0;
        for (let m = c.bytes.exec(text); m !== null && m.index < safe; m = c.bytes.exec(text)) {
          out += text.slice(pos, m.index) + (c.byteLabels.get(m[0]) ?? '[REDACTED]');
          pos = m.index + m[0].length;
        }
        const end = Math.max(pos, safe);
        out += text.slice(pos, end);
        carry = text.slice(end);
        if (out.length > 0) yield Buffer.from(out, 'latin1');
      }
      if (carry.length > 0) yield Buffer.from(carry.replace(c.bytes, (m) => c.byteLabels.get(m) ?? '[REDACTED]'), 'latin1');
    })();
  }
}
