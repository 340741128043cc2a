import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { errorCatalog, errorCodes } from './error-codes.js';
import { renderErrorReference } from './render-error-reference.js';

const root = join(fileURLToPath(import.meta.url), '..', '..', '..', '..');

test('docs/reference/errors.md matches the code catalog (run `npm run generate` after a change)', () => {
  const onDisk = readFileSync(join(root, 'docs', 'reference', 'errors.md'), 'utf8');
  assert.equal(onDisk, renderErrorReference());
});

test('every code in the docs exists in the catalog, and every catalog code is documented', () => {
  const onDisk = readFileSync(join(root, 'docs', 'reference', 'errors.md'), 'utf8');
  const documented = new Set([...onDisk.matchAll(/^## `(PAL_[A-Z_]+)`/gm)].map((m) => m[1]));
  assert.deepEqual([...documented].sort(), [...errorCodes].sort());
});

test('codes follow PAL_<CAPABILITY>_<CONDITION> and statuses are HTTP error statuses', () => {
  for (const code of errorCodes) {
    assert.match(code, /^PAL_[A-Z]+(_[A-Z]+)*$/);
    const { status, meaning, fix } = errorCatalog[code];
    assert.ok(status >= 400 && status <= 599, code);
    assert.ok(meaning.length > 10 && fix.length > 5, code);
  }
});

test('every code used in the source tree is in the catalog', () => {
  const used = new Set<string>();
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir)) {
      const full = join(dir, entry);
      if (entry.endsWith('.ts') && !entry.endsWith('.test.ts')) for (const m of readFileSync(full, 'utf8').matchAll(/'(PAL_[A-Z_]*[A-Z])'/g)) used.add(m[1] as string);
      else if (!entry.includes('.')) walk(full);
    }
  };
  walk(join(root, 'src'));
  for (const code of used) assert.ok(code in errorCatalog, `${code} is used but not in the catalog`);
});

