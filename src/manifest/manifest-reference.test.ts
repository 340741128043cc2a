import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { renderJsonSchema, renderManifestReference } from './render-manifest-reference.js';

const root = join(fileURLToPath(import.meta.url), '..', '..', '..', '..');

test('schema/palisade.schema.json is generated from the schema (run `npm run generate`)', () => {
  assert.equal(readFileSync(join(root, 'schema', 'palisade.schema.json'), 'utf8'), renderJsonSchema());
});

test('docs/manifest.md is generated from the schema (run `npm run generate`)', () => {
  assert.equal(readFileSync(join(root, 'docs', 'manifest.md'), 'utf8'), renderManifestReference());
});

test('the example manifest uses only documented keys', () => {
  const doc = readFileSync(join(root, 'docs', 'manifest.md'), 'utf8');
  for (const key of ['functions.<name>.limits.cpuMs', 'routes[].public', 'gateway.limits.headersTimeoutMs', 'segments.<name>.workers']) {
    assert.ok(doc.includes(`\`${key}\``), key);
  }
});
