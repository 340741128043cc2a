import { Ajv } from 'ajv';
import { PalisadeError, safeJsonParse, once } from '../kernel/index.js';

/** An inline `# palisade:ignore PAL-… reason` (or `// palisade:ignore …`) comment. */
export interface InlineSuppression {
  readonly ruleId: string;
  readonly line: number;
  readonly reason: string;
}

const IGNORE = /(?:#|\/\/)\s*palisade:ignore\s+(PAL-[A-Z0-9]+-\d{3})\b[ \t]*(.*)$/;

/**
 * Finds inline suppressions. A comment covers findings on its own line and on the next line
 * that is not itself a comment (so it sits above the resource or the key it accepts).
 *
 * @example
 * ```ts
 * parseInlineSuppressions('# palisade:ignore PAL-LAMBDA-009 no VPC needed\nFn:')[0]?.line; // 1
 * ```
 */
export function parseInlineSuppressions(text: string): InlineSuppression[] {
  const out: InlineSuppression[] = [];
  if (!text.includes('palisade:ignore')) return out;
  const lines = text.split('\n');
  lines.forEach((lineText, index) => {
    const m = IGNORE.exec(lineText);
    if (m?.[1] === undefined) return;
    out.push({ ruleId: m[1], line: index + 1, reason: (m[2] ?? '').trim() });
  });
  return out;
}

/** The line numbers an inline suppression on `line` covers. */
export function coveredLines(text: string, line: number): number[] {
  const lines = text.split('\n');
  const covered = [line];
  for (let i = line; i < lines.length; i++) {
    const t = (lines[i] ?? '').trim();
    if (t.startsWith('#') || t.startsWith('//')) continue;
    covered.push(i + 1);
    break;
  }
  return covered;
}

/** One accepted finding in a baseline file. */
export interface BaselineEntry {
  readonly ruleId: string;
  readonly fingerprint: string;
  readonly reason: string;
  readonly file?: string;
  readonly resource?: string;
}

/** A baseline: findings accepted when it was written, each with a reason. */
export interface Baseline {
  readonly version: 1;
  readonly findings: readonly BaselineEntry[];
}

const baselineSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['version', 'findings'],
  properties: {
    version: { const: 1 },
    findings: {
      type: 'array',
      maxItems: 100000,
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['ruleId', 'fingerprint', 'reason'],
        properties: {
          ruleId: { type: 'string', pattern: '^PAL-[A-Z0-9]+-\\d{3}$' },
          fingerprint: { type: 'string', pattern: '^[0-9a-f]{16,64}$' },
          reason: { type: 'string', maxLength: 2000 },
          file: { type: 'string', maxLength: 4096 },
          resource: { type: 'string', maxLength: 1024 },
        },
      },
    },
  },
} as const;

const validateBaseline = once(() => new Ajv({ allErrors: false, strict: true }).compile<Baseline>(baselineSchema));

/**
 * Parses and validates a baseline file's text. Throws `PAL_SCAN_BASELINE_INVALID`.
 *
 * @example
 * ```ts
 * parseBaseline('{"version":1,"findings":[]}').findings.length; // 0
 * ```
 */
export function parseBaseline(text: string, file: string): Baseline {
  const parsed = safeJsonParse(text);
  if (!parsed.ok) throw new PalisadeError('PAL_SCAN_BASELINE_INVALID', `baseline \`${file}\` is not valid json (${parsed.reason})`);
  if (!validateBaseline()(parsed.value)) {
    const e = validateBaseline().errors?.[0];
    throw new PalisadeError('PAL_SCAN_BASELINE_INVALID', `baseline \`${file}\` ${e === undefined ? 'is invalid' : `at \`${e.instancePath || '/'}\` ${e.message ?? 'is invalid'}`}`);
  }
  return parsed.value;
}
