import type { ErrorCode } from '../kernel/index.js';

/** One problem with the segment rules or a secret's segment, located by its manifest path. */
export interface SegmentRuleProblem {
  readonly code: ErrorCode;
  readonly path: readonly (string | number)[];
  readonly message: string;
  readonly hint: string;
}
