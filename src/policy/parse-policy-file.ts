import type { Diagnostic } from '../kernel/index.js';
import { policyToJson, type DetailedError, type PolicyJson } from './cedar.js';
import type { PolicySource } from './policy-source.js';

/** The result of {@link parsePolicyFile}: the policies, and a diagnostic per unparsable one. */
export interface ParsedPolicyFile {
  readonly policies: readonly (PolicySource & { readonly json: PolicyJson })[];
  readonly errors: readonly Diagnostic[];
}

/**
 * Splits a `.cedar` file into its policies, each with its 1-based line, and parses each with
 * Cedar. A policy's id is its `@id("…")` annotation, or `<file>:<line>` without one.
 * Only the splitting is ours (at `;` outside strings and comments); the parsing is Cedar's.
 *
 * @example
 * ```ts
 * const { policies, errors } = parsePolicyFile('policies/admin.cedar', text);
 * ```
 */
export function parsePolicyFile(file: string, text: string): ParsedPolicyFile {
  const policies: Array<PolicySource & { json: PolicyJson }> = [];
  const errors: Diagnostic[] = [];
  for (const chunk of splitStatements(text)) {
    const parsed = policyToJson(chunk.text);
    if (parsed.type === 'failure') {
      const first = parsed.errors[0];
      const line = chunk.line + linesBefore(chunk.text, first?.sourceLocations?.[0]?.start ?? 0);
      errors.push({ code: 'PAL_POLICY_SYNTAX', severity: 'error', path: '', message: describe(first), hint: 'see https://docs.cedarpolicy.com/policies/syntax-policy.html', location: { file, line } });
      continue;
    }
    const id = parsed.json.annotations?.id ?? `${file}:${chunk.line}`;
    policies.push({ id, policy: chunk.text, json: parsed.json, origin: { file, line: chunk.line }, generated: false });
  }
  return { policies, errors };
}

/** Cedar's message for a diagnostic (one line, lowercase start as Cedar writes it). */
export function describe(error: DetailedError | undefined): string {
  if (error === undefined) return 'unknown cedar error';
  return error.help === null || error.help === undefined ? error.message : `${error.message} (${error.help})`;
}

function linesBefore(text: string, offset: number): number {
  let n = 0;
  for (let i = 0; i < offset && i < text.length; i++) if (text.charCodeAt(i) === 10) n++;
  return n;
}

interface Statement {
  readonly text: string;
  /** 1-based line of the statement's first token. */
  readonly line: number;
}

/** Splits at `;` outside string literals and `//` comments; a trailing fragment is kept (Cedar reports it). */
function splitStatements(text: string): Statement[] {
  const out: Statement[] = [];
  let start = -1;
  let startLine = 1;
  let line = 1;
  let i = 0;
  while (i < text.length) {
    const ch = text[i];
    if (ch === '\n') {
      line++;
      i++;
      continue;
    }
    if (ch === '/' && text[i + 1] === '/') {
      while (i < text.length && text[i] !== '\n') i++;
      continue;
    }
    if (ch === ' ' || ch === '\t' || ch === '\r') {
      i++;
      continue;
    }
    if (start < 0) {
      start = i;
      startLine = line;
    }
    if (ch === '"') {
      i++;
      while (i < text.length && text[i] !== '"') {
        if (text[i] === '\\') i++;
        else if (text[i] === '\n') line++;
        i++;
      }
      i++;
      continue;
    }
    if (ch === ';') {
      out.push({ text: text.slice(start, i + 1), line: startLine });
      start = -1;
    }
    i++;
  }
  if (start >= 0) out.push({ text: text.slice(start), line: startLine });
  return out;
}
