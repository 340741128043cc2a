import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormatsImport from 'ajv-formats';
import { RE2JS } from 're2js';

// ajv-formats is CommonJS with `exports.default`; under NodeNext the default import is the module.
const addFormats = ((addFormatsImport as unknown as { default?: typeof addFormatsImport }).default ?? addFormatsImport) as unknown as (ajv: Ajv | Ajv2020) => void;

/** One body validation error: a JSON pointer into the body and a safe message. */
export interface BodyError {
  readonly pointer: string;
  readonly detail: string;
}

/** A compiled body validator. Returns the errors (at most `maxErrors`), empty when valid. */
export type BodyValidator = (value: unknown) => readonly BodyError[];

/** Result of {@link compileBodySchema}. */
export type CompileBodySchemaResult = { readonly ok: true; readonly validate: BodyValidator } | { readonly ok: false; readonly message: string };

const DRAFT_2020 = 'https://json-schema.org/draft/2020-12/schema';

/**
 * ajv's engine for `pattern` and `patternProperties`: RE2 (linear time in the input), not the
 * backtracking RegExp. A route schema is written by the operator, but its patterns run on bodies
 * an anonymous client sends, before authentication of the function: with RegExp, `^(a+)+$` and
 * 40 `a`s would stall the gateway's event loop for hours (ReDoS, CWE-1333). JavaScript syntax is
 * translated; what RE2 cannot run in linear time (lookaround, backreferences) fails the compile.
 */
const linearRegExp = Object.assign(
  (pattern: string): { test(input: string): boolean; toString(): string } => {
    const re = RE2JS.compile(RE2JS.translateRegExp(pattern));
    // ajv keys its compiled patterns by `toString()`: each pattern needs its own key.
    return { test: (input: string) => re.test(input), toString: () => `/${pattern}/` };
  },
  { code: 'linearRegExp' },
);

/**
 * Compiles a route's JSON Schema once, at load, with `ajv` and `ajv-formats` (`email`, `uuid`,
 * `date-time`, ...). Draft 2020-12 when the schema says so in `$schema`, draft-07 otherwise.
 * Strict mode: unknown keywords and formats are schema errors, so a typo cannot silently
 * accept everything. Each schema gets its own ajv instance, so `$id`s of different routes
 * cannot collide.
 *
 * @example
 * ```ts
 * const compiled = compileBodySchema({ type: 'object', required: ['sku'] });
 * if (compiled.ok) compiled.validate({}); // [{ pointer: '', detail: "must have required property 'sku'" }]
 * ```
 */
export function compileBodySchema(schema: unknown, maxErrors = 20): CompileBodySchemaResult {
  if (typeof schema !== 'boolean' && (schema === null || typeof schema !== 'object' || Array.isArray(schema))) {
    return { ok: false, message: 'a json schema must be an object (or a boolean)' };
  }
  // Strict about the schema itself (unknown keywords, unknown formats), not about style.
  const options = { allErrors: true, strict: true, strictRequired: false, strictTypes: false, strictTuples: false, allowUnionTypes: true, validateFormats: true, code: { regExp: linearRegExp } } as const;
  const uses2020 = typeof schema === 'object' && (schema as { $schema?: unknown }).$schema === DRAFT_2020;
  const ajv = uses2020 ? new Ajv2020(options) : new Ajv(options);
  addFormats(ajv);
  let compiled: ValidateFunction;
  try {
    compiled = ajv.compile(schema as object);
  } catch (error) {
    return { ok: false, message: error instanceof Error ? firstLine(error.message) : 'the schema does not compile' };
  }
  return {
    ok: true,
    validate(value: unknown): readonly BodyError[] {
      if (compiled(value)) return [];
      return (compiled.errors ?? []).slice(0, maxErrors).map(toBodyError);
    },
  };
}

function toBodyError(error: ErrorObject): BodyError {
  // `required` and `additionalProperties` name a child of the reported object: point at it.
  const params = error.params as { missingProperty?: unknown; additionalProperty?: unknown };
  const child = typeof params.missingProperty === 'string' ? params.missingProperty : typeof params.additionalProperty === 'string' ? params.additionalProperty : undefined;
  const pointer = child === undefined ? error.instancePath : `${error.instancePath}/${child.replace(/~/g, '~0').replace(/\//g, '~1')}`;
  return { pointer, detail: error.message ?? 'is invalid' };
}

function firstLine(text: string): string {
  return (text.split('\n')[0] ?? text).trim().slice(0, 300);
}
