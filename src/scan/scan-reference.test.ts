import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { renderScanReference } from './render-scan-reference.js';
import { builtinRules } from './rules/index.js';

const root = join(fileURLToPath(import.meta.url), '..', '..', '..', '..');

test('docs/scan.md is generated from the rule metadata (run `npm run generate`)', () => {
  assert.equal(readFileSync(join(root, 'docs', 'scan.md'), 'utf8'), renderScanReference());
});

test('docs/scan.md lists every rule with its Checkov ids and shows GitHub code scanning', () => {
  const doc = readFileSync(join(root, 'docs', 'scan.md'), 'utf8');
  for (const rule of builtinRules) {
    assert.ok(doc.includes(`### ${rule.id}: ${rule.title}`), rule.id);
    for (const c of rule.checkov) assert.ok(doc.includes(`\`${c}\``), `${rule.id} ${c}`);
  }
  assert.ok(doc.includes('github/codeql-action/upload-sarif'));
});
