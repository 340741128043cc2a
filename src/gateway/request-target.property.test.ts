import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { isPalisadeError } from '../kernel/index.js';
import { checkRequestTarget } from './request-target.js';

// Any string at all: the checker either accepts it or throws PAL_GATEWAY_BAD_PATH, nothing else.
test('never throws anything but PAL_GATEWAY_BAD_PATH, on any input', () => {
  fc.assert(
    fc.property(fc.string({ unit: 'binary', maxLength: 200 }), (raw) => {
      try {
        checkRequestTarget(raw);
      } catch (error) {
        assert.ok(isPalisadeError(error, 'PAL_GATEWAY_BAD_PATH'), String(error));
      }
    }),
    { numRuns: 5000 },
  );
});

const segmentChars = fc.constantFrom('a', 'b', '.', '%', '2', 'e', 'E', 'f', 'F', '5', 'c', 'C', '/', '\\', '0', '?', '#');

// An accepted path never holds what a normaliser would change: the path a policy sees is the
// path a function sees.
test('an accepted path has no dot segments, empty segments, encoded slashes or controls', () => {
  fc.assert(
    fc.property(fc.array(fc.string({ unit: segmentChars, maxLength: 8 }), { maxLength: 6 }), (parts) => {
      const raw = `/${parts.join('/')}`;
      let target;
      try {
        target = checkRequestTarget(raw);
      } catch {
        return;
      }
      for (const segment of target.segments) {
        assert.notEqual(segment, '.');
        assert.notEqual(segment, '..');
        assert.ok(!/[\u0000-\u001f\u007f]/.test(segment));
      }
      assert.ok(!/%(2f|5c)/i.test(target.path));
      assert.ok(!target.path.includes('//'));
      if (target.path !== '/') assert.ok(target.segments.every((s) => s !== '' ) || target.path.endsWith('/'));
    }),
    { numRuns: 5000 },
  );
});

test('splitting is lossless: path + search is the original target', () => {
  fc.assert(
    fc.property(fc.webPath(), fc.option(fc.webQueryParameters(), { nil: undefined }), (path, query) => {
      const raw = `${path === '' ? '/' : path}${query === undefined ? '' : `?${query}`}`;
      try {
        const t = checkRequestTarget(raw);
        assert.equal(`${t.path}${t.search}`, raw);
      } catch (error) {
        assert.ok(isPalisadeError(error, 'PAL_GATEWAY_BAD_PATH'));
      }
    }),
    { numRuns: 3000 },
  );
});
