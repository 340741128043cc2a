/**
 * A value made on first use and kept: for work a module would otherwise do at import time (a
 * compiled JSON Schema validator), so that a process pays only for what it uses. Not for values
 * that depend on arguments.
 *
 * @example
 * ```ts
 * const validateConfig = once(() => new Ajv().compile(configSchema));
 * validateConfig()(input);
 * ```
 */
export function once<T>(make: () => T): () => T {
  let made = false;
  let value: T;
  return () => {
    if (!made) {
      value = make();
      made = true;
    }
    return value;
  };
}
