import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { parseRoutePattern, routePatternsOverlap } from './route-pattern.js';

const literal = fc.stringMatching(/^[a-z0-9-]{1,6}$/);
const param = fc.stringMatching(/^[a-z][a-z0-9_]{0,5}$/).map((n) => `:${n}`);
const pattern = fc.uniqueArray(fc.oneof(literal, param), { maxLength: 5, selector: (s) => s }).map((parts) => `/${parts.join('/')}`);

test('parseRoutePattern never throws, on any input', () => {
  fc.assert(fc.property(fc.string({ maxLength: 100 }), (path) => void parseRoutePattern(path)), { numRuns: 5000 });
});

test('overlap is symmetric and reflexive for valid patterns', () => {
  fc.assert(
    fc.property(pattern, pattern, (a, b) => {
      const pa = parseRoutePattern(a);
      const pb = parseRoutePattern(b);
      fc.pre(pa.ok && pb.ok);
      if (!pa.ok || !pb.ok) return;
      assert.equal(routePatternsOverlap(pa.pattern, pb.pattern), routePatternsOverlap(pb.pattern, pa.pattern));
      assert.equal(routePatternsOverlap(pa.pattern, pa.pattern), true);
    }),
    { numRuns: 3000 },
  );
});

test('two patterns overlap exactly when some concrete path matches both', () => {
  fc.assert(
    fc.property(pattern, pattern, (a, b) => {
      const pa = parseRoutePattern(a);
      const pb = parseRoutePattern(b);
      fc.pre(pa.ok && pb.ok);
      if (!pa.ok || !pb.ok) return;
      const sa = pa.pattern.segments;
      const sb = pb.pattern.segments;
      // Build the most specific witness: each position takes a literal when either side has one.
      const witnessExists = sa.length === sb.length && sa.every((x, i) => {
        const y = sb[i];
        return y !== undefined && (x.kind === 'param' || y.kind === 'param' || x.value === y.value);
      });
      assert.equal(routePatternsOverlap(pa.pattern, pb.pattern), witnessExists);
    }),
    { numRuns: 3000 },
  );
});
