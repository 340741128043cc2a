import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { checkParseSchema } from './cedar.js';
import { palisadeSchemaText } from './palisade-schema.js';
import { renderCedarSchemaReference } from './render-cedar-schema-reference.js';

const root = join(fileURLToPath(import.meta.url), '..', '..', '..', '..');

test('the Palisade schema parses as a Cedar schema', () => {
  assert.deepEqual(checkParseSchema(palisadeSchemaText), { type: 'success' });
});

test('schema/palisade.cedarschema and docs/reference/cedar-schema.md are generated from it (run `npm run generate`)', () => {
  assert.equal(readFileSync(join(root, 'schema', 'palisade.cedarschema'), 'utf8'), palisadeSchemaText);
  assert.equal(readFileSync(join(root, 'docs', 'reference', 'cedar-schema.md'), 'utf8'), renderCedarSchemaReference());
});

test('the schema names every entity type, action and context attribute the platform uses', () => {
  for (const name of ['entity User', 'entity Role', 'entity ServiceAccount', 'entity ApiKey', 'entity Function', 'entity Segment', 'entity Route', 'entity Secret', 'entity Host', 'entity AdminResource']) assert.ok(palisadeSchemaText.includes(name), name);
  for (const action of ['invoke', 'callFunction', 'readSecret', 'egress', 'deploy', 'manageSecrets', 'manageUsers', 'readAudit']) assert.match(palisadeSchemaText, new RegExp(`action [^;]*\\b${action}\\b`), action);
  for (const attr of ['mfa: Bool', 'authMethod: String', 'authTime: Long', 'ip: __cedar::ipaddr', 'time: Long', 'risk: Long', 'callerChain: Set<Function>', 'originalCaller?: OriginalCaller']) assert.ok(palisadeSchemaText.includes(attr), attr);
});
