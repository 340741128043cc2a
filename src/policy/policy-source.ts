import type { PolicyJson } from './cedar.js';

/** Where a policy came from: a manifest rule or a line of a `.cedar` file. */
export interface PolicyOrigin {
  /** Path relative to the project directory. */
  readonly file: string;
  readonly line?: number;
}

/**
 * One policy before compilation: its stable id, the policy (Cedar text for custom files, Cedar
 * JSON for generated ones) and its origin.
 */
export interface PolicySource {
  readonly id: string;
  readonly policy: string | PolicyJson;
  readonly origin: PolicyOrigin;
  /** True for policies generated from the manifest. */
  readonly generated: boolean;
}

/** `file:line` of an origin. */
export function formatOrigin(origin: PolicyOrigin): string {
  return origin.line === undefined ? origin.file : `${origin.file}:${origin.line}`;
}
