import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { DiagnosticsError, formatDiagnostic } from '../kernel/index.js';
import { compilePolicySet } from './compile-policy-set.js';
import { createPolicyAuthorizer } from './create-policy-authorizer.js';
import { loadPolicySet } from './load-policies.js';
import { parsePolicyFile } from './parse-policy-file.js';
import { manifestFrom, SHOP } from './policy-test-fixtures.test-support.js';

const withPolicies = (cedar: string) => manifestFrom(`${SHOP}policies: [policies/custom.cedar]\n`, { 'policies/custom.cedar': cedar });

describe('policies generated from the manifest', () => {
  test('each rule has a stable id naming the route and rule, and an origin at the manifest line', () => {
    const result = loadPolicySet(manifestFrom(SHOP));
    assert.equal(result.ok, true, result.errors.map(formatDiagnostic).join('\n'));
    const byId = new Map(result.value?.policies.map((p) => [p.id, p]));
    assert.deepEqual([...byId.keys()], [
      'route:GET,POST /orders#allow.roles',
      'route:GET /admin#admin-only',
      'route:POST /refund#allow.roles',
      'route:POST /refund#mfa',
      'route:GET /mine#allow.users',
      'route:GET /mine#allow.apiKeys',
      'route:GET /keys#allow.issuers',
      'function:orders#binding.BILLING',
      'segment:default#allowCallsFrom',
      'segment:default#allowSecretReadsFrom',
      'segment:payments#allowCallsFrom',
      'segment:payments#allowSecretReadsFrom',
      'admin:actions#role.admin',
      'admin:actions#mfa',
    ]);
    // Operator actions have no manifest line unless the `admin` role is declared.
    assert.deepEqual(byId.get('admin:actions#mfa')?.origin, { file: 'palisade.yaml' });
    assert.deepEqual(byId.get('route:GET,POST /orders#allow.roles')?.origin, { file: 'palisade.yaml', line: 14 });
    assert.deepEqual(byId.get('function:orders#binding.BILLING')?.origin, { file: 'palisade.yaml', line: 8 });
    assert.equal(byId.get('route:POST /refund#mfa')?.effect, 'forbid');
    const text = byId.get('route:GET,POST /orders#allow.roles')?.text ?? '';
    assert.match(text, /@id\("route:GET,POST \/orders#allow\.roles"\)/);
    assert.match(text, /@origin\("palisade\.yaml:14"\)/);
    assert.match(text, /\(principal in Role::"customer"\) \|\| \(principal in Role::"admin"\)/);
  });
});

describe('validation at load', () => {
  test('a valid custom file is added, with ids from @id or file:line', () => {
    const result = loadPolicySet(withPolicies('@id("ops:read")\npermit(principal in Role::"ops", action == Action::"invoke", resource);\n\n// no id\nforbid(principal, action, resource) when { context.risk > 90 };\n'));
    assert.equal(result.ok, true, result.errors.map(formatDiagnostic).join('\n'));
    const custom = result.value?.policies.filter((p) => !p.generated).map((p) => [p.id, p.origin.line]);
    assert.deepEqual(custom, [['ops:read', 1], ['policies/custom.cedar:5', 5]]);
  });

  test('an ill-typed policy stops the load with file:line, the policy id and Cedar\'s message', () => {
    const result = loadPolicySet(withPolicies('@id("ok")\npermit(principal, action, resource);\n\n@id("bad-type")\npermit(principal, action == Action::"invoke", resource)\nwhen { context.mfa == "yes" };\n'));
    assert.equal(result.ok, false);
    const d = result.errors[0];
    assert.equal(d?.code, 'PAL_POLICY_INVALID');
    assert.equal(d?.path, 'bad-type');
    assert.deepEqual(d?.location, { file: 'policies/custom.cedar', line: 6 });
    assert.match(d?.message ?? '', /policy `bad-type`: .*type/i);
  });

  test('an unknown entity type, attribute or action is refused in strict mode', () => {
    for (const [cedar, pattern] of [
      ['permit(principal == Admin::"root", action, resource);', /Admin/],
      ['permit(principal, action == Action::"invoke", resource) when { principal.isAdmin };', /isAdmin/],
      ['permit(principal, action == Action::"delete", resource);', /delete/],
    ] as const) {
      const result = loadPolicySet(withPolicies(cedar));
      assert.equal(result.ok, false, cedar);
      assert.equal(result.errors[0]?.code, 'PAL_POLICY_INVALID', cedar);
      assert.match(result.errors[0]?.message ?? '', pattern, cedar);
      assert.equal(result.errors[0]?.location?.file, 'policies/custom.cedar');
    }
  });

  test('a syntax error names the file and the line of the error', () => {
    const result = loadPolicySet(withPolicies('permit(principal, action, resource);\n\npermit(principal, action, resource)\nwhen { context.mfa &&  };\n'));
    assert.equal(result.ok, false);
    assert.equal(result.errors[0]?.code, 'PAL_POLICY_SYNTAX');
    assert.deepEqual(result.errors[0]?.location, { file: 'policies/custom.cedar', line: 4 });
  });

  test('a duplicate id is refused, naming where the first one is', () => {
    const result = loadPolicySet(withPolicies('@id("route:GET /admin#admin-only")\npermit(principal, action, resource);\n'));
    assert.equal(result.ok, false);
    assert.equal(result.errors[0]?.code, 'PAL_POLICY_DUPLICATE_ID');
    assert.match(result.errors[0]?.message ?? '', /palisade\.yaml:15/);
  });

  test('a semicolon or // inside a string does not split a policy', () => {
    const parsed = parsePolicyFile('p.cedar', '@id("a;b // c")\npermit(principal, action, resource) when { principal.subject == "x;y // z" };\npermit(principal, action, resource);');
    assert.deepEqual(parsed.errors, []);
    assert.deepEqual(parsed.policies.map((p) => [p.id, p.origin.line]), [['a;b // c', 1], ['p.cedar:3', 3]]);
  });

  test('a node refuses to start on an invalid set (DiagnosticsError), and reload never swaps in a bad set', () => {
    assert.throws(() => createPolicyAuthorizer(withPolicies('permit(principal, action, resource) when { context.nope };')), (e: unknown) => e instanceof DiagnosticsError && e.code === 'PAL_POLICY_INVALID');
    const good = withPolicies('@id("ops") permit(principal in Role::"ops", action == Action::"invoke", resource);');
    const authorizer = createPolicyAuthorizer(good);
    const before = authorizer.set;
    assert.throws(() => authorizer.reload(withPolicies('permit(principal, action, resource) when { context.nope };')), DiagnosticsError);
    assert.equal(authorizer.set, before, 'the old set keeps serving');
    assert.ok(authorizer.set.byId.has('ops'));
  });

  test('compiling an empty set is valid (everything is denied)', () => {
    assert.equal(compilePolicySet([]).ok, true);
  });
});
