// Writes the generated artefacts: the editor JSON Schema, the manifest reference, the error
// reference and the scan rule reference. Tests fail when the committed files differ from what this produces.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { renderErrorReference } from '../src/kernel/index.js';
import { renderJsonSchema, renderManifestReference } from '../src/manifest/index.js';
import { renderScanReference } from '../src/scan/index.js';
import { palisadeSchemaText, renderCedarSchemaReference } from '../src/policy/index.js';

const root = join(fileURLToPath(import.meta.url), '..', '..', '..');
writeFileSync(join(root, 'schema', 'palisade.schema.json'), renderJsonSchema());
writeFileSync(join(root, 'docs', 'manifest.md'), renderManifestReference());
writeFileSync(join(root, 'docs', 'reference', 'errors.md'), renderErrorReference());
writeFileSync(join(root, 'docs', 'scan.md'), renderScanReference());
writeFileSync(join(root, 'schema', 'palisade.cedarschema'), palisadeSchemaText);
writeFileSync(join(root, 'docs', 'reference', 'cedar-schema.md'), renderCedarSchemaReference());
console.log('wrote schema/palisade.schema.json, docs/manifest.md, docs/reference/errors.md, docs/scan.md, schema/palisade.cedarschema, docs/reference/cedar-schema.md');
