import { PalisadeError } from '../kernel/index.js';

/** Secret names: lowercase letters, digits, `-`, `_`, `.`; 1 to 128 characters. */
export const SECRET_NAME = /^[a-z0-9][a-z0-9-_.]{0,127}$/;
/** The largest secret value, in bytes. */
export const MAX_SECRET_BYTES = 65_536;
/** The largest KV key, in bytes of UTF-8. */
export const MAX_KV_KEY_BYTES = 512;
/** The largest KV value, in bytes. */
export const MAX_KV_VALUE_BYTES = 1_048_576;
/** Function names as the manifest allows them (the KV namespace id). */
const FUNCTION_NAME = /^[A-Za-z0-9_-]{1,128}$/;
/** A UTF-16 surrogate without its pair: such a string has no UTF-8 form, so two keys could collide. */
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** Throws `PAL_SECRETS_INVALID_NAME` unless `name` is a valid secret name. */
export function assertSecretName(name: unknown): asserts name is string {
  if (typeof name !== 'string' || !SECRET_NAME.test(name)) {
    const shown = typeof name === 'string' ? name.slice(0, 64).replace(/[^\x20-\x7e]/g, '?') : typeof name;
    throw new PalisadeError('PAL_SECRETS_INVALID_NAME', `secret name \`${shown}\` must match ^[a-z0-9][a-z0-9-_.]{0,127}$ (lowercase)`);
  }
}

/** Throws `PAL_SECRETS_VALUE_INVALID` unless the value is 1 byte to 64 KiB. The message never holds the value. */
export function assertSecretValue(value: unknown): asserts value is Uint8Array {
  if (!(value instanceof Uint8Array)) throw new PalisadeError('PAL_SECRETS_VALUE_INVALID', 'a secret value must be bytes');
  if (value.byteLength === 0) throw new PalisadeError('PAL_SECRETS_VALUE_INVALID', 'a secret value must not be empty');
  if (value.byteLength > MAX_SECRET_BYTES) throw new PalisadeError('PAL_SECRETS_VALUE_INVALID', `a secret value must be at most ${MAX_SECRET_BYTES} bytes (got ${value.byteLength})`);
}

/** Throws unless `fn` looks like a function name. */
export function assertFunctionName(fn: unknown): asserts fn is string {
  if (typeof fn !== 'string' || !FUNCTION_NAME.test(fn)) throw new PalisadeError('PAL_SECRETS_INVALID_NAME', 'a KV namespace needs a valid function name');
}

/** Throws `PAL_SECRETS_INVALID_NAME` or `PAL_SECRETS_KV_TOO_LARGE` unless `key` is 1 to 512 bytes of UTF-8. */
export function assertKvKey(key: unknown): asserts key is string {
  if (typeof key !== 'string' || key.length === 0) throw new PalisadeError('PAL_SECRETS_INVALID_NAME', 'a KV key must be a non-empty string');
  if (LONE_SURROGATE.test(key)) throw new PalisadeError('PAL_SECRETS_INVALID_NAME', 'a KV key must be well-formed unicode');
  const bytes = Buffer.byteLength(key, 'utf8');
  if (bytes > MAX_KV_KEY_BYTES) throw new PalisadeError('PAL_SECRETS_KV_TOO_LARGE', `a KV key must be at most ${MAX_KV_KEY_BYTES} bytes (got ${bytes})`);
}

/** Throws `PAL_SECRETS_KV_TOO_LARGE` for a KV value above 1 MiB. */
export function assertKvValue(value: unknown): asserts value is Uint8Array {
  if (!(value instanceof Uint8Array)) throw new PalisadeError('PAL_SECRETS_VALUE_INVALID', 'a KV value must be bytes');
  if (value.byteLength > MAX_KV_VALUE_BYTES) throw new PalisadeError('PAL_SECRETS_KV_TOO_LARGE', `a KV value must be at most ${MAX_KV_VALUE_BYTES} bytes (got ${value.byteLength})`);
}
