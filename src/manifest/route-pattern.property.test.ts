import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { parseRoutePattern, routePatternsOverlap } from './route-pattern.js';

const literal = fc.stringMatching(/^[a-z0-9-]{1,6}$/);
const param = fc.stringMatching(/^[a-z][a-z0-9_]{0,5}$/).map((n) => `:${n}`);
const pattern = fc.uniqueArray(fc.oneof(literal, param), { maxLength: 5, selector: (s) => s }).map((parts) => `/${parts.join('/')}`);
/** Patterns that parse, already parsed. */
const parsed = pattern.map(parseRoutePattern).filter((r) => r.ok).map((r) => (r as Extract<ReturnType<typeof parseRoutePattern>, { ok: true }>).pattern);

test('parseRoutePattern never throws, on any input', () => {
  fc.assert(fc.property(fc.string({ maxLength: 100 }), (path) => void parseRoutePattern(path)), { numRuns: 5000 });
});

test('overlap is symmetric and reflexive for valid patterns', () => {
  fc.assert(
    fc.property(parsed, parsed, (pa, pb) => {
      assert.equal(routePatternsOverlap(pa, pb), routePatternsOverlap(pb, pa));
      assert.equal(routePatternsOverlap(pa, pa), true);
    }),
    { numRuns: 3000 },
  );
});

test('two patterns overlap exactly when some concrete path matches both', () => {
  fc.assert(
    fc.property(parsed, parsed, (pa, pb) => {
      const sa = pa.segments;
      const sb = pb.segments;
      // Build the most specific witness: each position takes a literal when either side has one.
      const witnessExists = sa.length === sb.length && sa.every((x, i) => {
        const y = sb[i];
        return y !== undefined && (x.kind === 'param' || y.kind === 'param' || x.value === y.value);
      });
      assert.equal(routePatternsOverlap(pa, pb), witnessExists);
    }),
    { numRuns: 3000 },
  );
});
