import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { repoRoot, runCliSync, writeProject } from '../helpers/cli.js';

const shop = join(repoRoot, 'examples', 'shop');
const golden = (format: string) => readFileSync(join(repoRoot, 'test', 'fixtures', 'graph', `shop.${format}`), 'utf8');

describe('palisade graph', () => {
  test('the shop\'s graph matches the golden output in every format (regenerate: palisade graph examples/shop --format F > test/fixtures/graph/shop.F)', () => {
    for (const format of ['mermaid', 'dot', 'json']) {
      const r = runCliSync(['graph', shop, '--format', format]);
      assert.equal(r.status, 0, r.stderr);
      assert.equal(r.stdout, golden(format), format);
    }
    assert.equal(runCliSync(['graph', shop, '--json']).stdout, golden('json'));
  });

  test('a custom forbid removes an edge from the graph', () => {
    const dir = writeProject(
      'name: g\nidentity: { builtin: { enabled: true } }\nfunctions:\n  a: { source: a.ts }\nroutes:\n  - { path: /a, function: a, allow: { roles: [staff, guest] } }\npolicies: [p.cedar]\n',
      { 'a.ts': 'export default { async fetch() { return new Response("a"); } };\n', 'p.cedar': '@id("no-guests") forbid(principal in Role::"guest", action, resource);\n' },
    );
    const g = JSON.parse(runCliSync(['graph', dir, '--json']).stdout) as { edges: Array<{ from: string; to: string }>; refused: Array<{ from: string; policyIds: string[] }> };
    assert.deepEqual(g.edges.filter((e) => e.to === 'route:GET /a').map((e) => e.from), ['role:staff']);
    assert.deepEqual(g.refused, [{ from: 'role:guest', to: 'route:GET /a', kind: 'invoke', policyIds: ['no-guests'], reason: 'forbid' }]);
  });

  test('exit codes: 3 for an unknown format or a missing project; --help', () => {
    assert.equal(runCliSync(['graph', shop, '--format', 'svg']).status, 3);
    assert.equal(runCliSync(['graph', join(repoRoot, 'no-such-dir')]).status, 3);
    const help = runCliSync(['graph', '--help']);
    assert.equal(help.status, 0);
    assert.match(help.stdout, /usage: palisade graph \[DIR\] \[--format mermaid\|dot\|json\]/);
  });
});
