import assert from 'node:assert/strict';
import { symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { spawnSync } from 'node:child_process';
import { cliPath, copyProject, repoRoot, runCliSync, writeProject } from '../helpers/cli.js';

const shop = join(repoRoot, 'examples', 'shop');

/** A copy of the shop whose npm dependency (nanoid) resolves from the repository's node_modules. */
function copyShop(): string {
  const dir = copyProject(shop);
  symlinkSync(join(repoRoot, 'node_modules'), join(dir, 'node_modules'));
  return dir;
}

describe('palisade policy', () => {
  test('validate: the shop is valid (exit 0); an ill-typed policy is exit 3 with file:line, id and Cedar\'s message', () => {
    const ok = runCliSync(['policy', 'validate', shop]);
    assert.equal(ok.status, 0, ok.stderr);
    assert.match(ok.stdout, /15 policies are valid/);
    const dir = copyShop();
    writeFileSync(join(dir, 'policies', 'shop.cedar'), '@id("fine")\npermit(principal, action, resource);\n\n@id("typo")\npermit(principal, action == Action::"invoke", resource)\nwhen { context.riks > 3 };\n');
    const bad = runCliSync(['policy', 'validate', dir]);
    assert.equal(bad.status, 3);
    assert.match(bad.stderr, /policies\/shop\.cedar:6:1 {2}typo {2}PAL_POLICY_INVALID: policy `typo`: .*riks/);
    const json = JSON.parse(runCliSync(['policy', 'validate', dir, '--json']).stdout) as { ok: boolean; errors: Array<{ code: string; path: string; location: { file: string; line: number } }> };
    assert.equal(json.ok, false);
    assert.deepEqual(json.errors[0]?.location, { file: 'policies/shop.cedar', line: 6 });
    // `palisade validate` checks policies too, and a node refuses to start on them.
    const v = runCliSync(['validate', dir]);
    assert.equal(v.status, 3);
    assert.match(v.stderr, /PAL_POLICY_INVALID: policy `typo`/);
    assert.doesNotMatch(v.stderr, /PAL_RUNTIME_BUILD_FAILED/);
    const up = runCliSync(['up', dir, '--port', '0']);
    assert.equal(up.status, 3);
    assert.match(up.stderr, /PAL_POLICY_INVALID/);
  });

  test('validate warns about a private route without `allow`', () => {
    const dir = writeProject('name: w\nfunctions:\n  hello: { source: functions/hello.ts }\nroutes:\n  - { path: /private, function: hello }\n', { 'functions/hello.ts': 'export default { async fetch(): Promise<Response> { return new Response("x"); } };\n' });
    const r = runCliSync(['validate', dir]);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stderr, /^warning \S*palisade\.yaml:5:5 {2}routes\[0\] {2}PAL_MANIFEST_INVALID_VALUE: private route `\/private` has no `allow`: only the `admin` role can call it/m);
  });

  test('show: every policy with its id and origin', () => {
    const r = runCliSync(['policy', 'show', shop, '--json']);
    assert.equal(r.status, 0, r.stderr);
    const list = JSON.parse(r.stdout) as Array<{ id: string; origin: string; generated: boolean; text: string }>;
    assert.deepEqual(list.map((p) => [p.id, p.origin]), [
      ['route:GET,POST /api/orders#allow.roles', 'palisade.yaml:43'],
      ['route:GET /api/orders/:id#allow.roles', 'palisade.yaml:44'],
      ['route:POST /api/orders/:id/refund#allow.roles', 'palisade.yaml:46'],
      ['route:POST /api/orders/:id/refund#mfa', 'palisade.yaml:46'],
      ['segment:default#allowCallsFrom', 'palisade.yaml'],
      ['segment:default#allowSecretReadsFrom', 'palisade.yaml'],
      ['segment:payments#allowCallsFrom', 'palisade.yaml:17'],
      ['segment:payments#allowSecretReadsFrom', 'palisade.yaml:17'],
      ['segment:storefront#allowCallsFrom', 'palisade.yaml:16'],
      ['segment:storefront#allowSecretReadsFrom', 'palisade.yaml:16'],
      ['role:admin#mfa', 'palisade.yaml:52'],
      ['admin:actions#role.admin', 'palisade.yaml:52'],
      ['admin:actions#mfa', 'palisade.yaml:52'],
      ['shop:no-refunds-when-risky', 'policies/shop.cedar:6'],
      ['shop:payments-for-customers', 'policies/shop.cedar:16'],
    ]);
    assert.match(runCliSync(['policy', 'show', shop]).stdout, /\/\/ route:POST \/api\/orders\/:id\/refund#mfa {2}\(generated from palisade\.yaml:46\)\n@id/);
  });

  test('test: the shop\'s policy tests pass (exit 0); a failing one is exit 2 and shows the determining policies', () => {
    const ok = runCliSync(['policy', 'test', shop]);
    assert.equal(ok.status, 0, ok.stdout + ok.stderr);
    assert.match(ok.stdout, /11 passed, 0 failed/);
    const dir = copyShop();
    writeFileSync(join(dir, 'policies', 'tests', 'wrong.yaml'), 'tests:\n  - name: customers refund\n    principal: { issuer: builtin, id: u-1, roles: [customer], mfa: true }\n    action: invoke\n    resource: POST /api/orders/:id/refund\n    context: { risk: 90 }\n    expect: allow\n');
    const bad = runCliSync(['policy', 'test', dir]);
    assert.equal(bad.status, 2);
    assert.match(bad.stdout, /FAIL {2}policies\/tests\/wrong\.yaml {2}customers refund\n {6}expected allow, got deny \(forbid\): shop:no-refunds-when-risky \(policies\/shop\.cedar:6\)/);
    writeFileSync(join(dir, 'policies', 'tests', 'wrong.yaml'), 'tests:\n  - { principal: x, action: delete, resource: y }\n');
    assert.equal(runCliSync(['policy', 'test', dir]).status, 3);
  });

  test('explain: exit 0 on allow and 2 on deny, with the determining policies and their origin', () => {
    const allow = runCliSync(['policy', 'explain', shop, '--principal', 'builtin:u-1', '--role', 'customer', '--action', 'invoke', '--resource', 'GET,POST /api/orders']);
    assert.equal(allow.status, 0, allow.stderr);
    assert.match(allow.stdout, /^ALLOW \(permit\)\n {2}route:GET,POST \/api\/orders#allow\.roles {2}\(palisade\.yaml:43\)/);
    const stepUp = runCliSync(['policy', 'explain', shop, '--principal', 'builtin:u-9', '--role', 'admin', '--action', 'invoke', '--resource', 'POST /api/orders/:id/refund', '--json']);
    assert.equal(stepUp.status, 2);
    const d = JSON.parse(stepUp.stdout) as { effect: string; reason: string; policies: Array<{ id: string; origin: string }> };
    assert.deepEqual([d.effect, d.reason, d.policies], ['deny', 'mfa-required', [{ id: 'role:admin#mfa', origin: 'palisade.yaml:52' }, { id: 'route:POST /api/orders/:id/refund#mfa', origin: 'palisade.yaml:46' }]]);
    // Operator actions are explained too: the admin API's default needs a second factor.
    const admin = JSON.parse(runCliSync(['policy', 'explain', shop, '--principal', 'builtin:u-9', '--role', 'admin', '--action', 'readAudit', '--resource', 'audit', '--json']).stdout) as { reason: string; policies: Array<{ id: string }> };
    assert.deepEqual([admin.reason, admin.policies.map((p) => p.id)], ['mfa-required', ['admin:actions#mfa', 'role:admin#mfa']]);
    const risky = runCliSync(['policy', 'explain', shop, '--principal', 'builtin:u-9', '--role', 'admin', '--mfa', '--action', 'invoke', '--resource', 'POST /api/orders/:id/refund', '--context', '{"risk":95}']);
    assert.equal(risky.status, 2);
    assert.match(risky.stdout, /DENY \(forbid\)\n {2}shop:no-refunds-when-risky {2}\(policies\/shop\.cedar:6\)/);
    assert.equal(runCliSync(['policy', 'explain', shop, '--principal', 'builtin:u-1', '--action', 'invoke', '--resource', 'GET /nope']).status, 3);
    assert.equal(runCliSync(['policy', 'explain', shop, '--principal', 'builtin:u-1', '--action', 'invoke', '--resource', 'GET,POST /api/orders', '--context', '{"__proto__":{}}']).status, 3);
  });

  test('--help explains every verb', () => {
    // A reader that closes the pipe early (`| head -1`) ends the command quietly, not with a stack trace.
    const head = spawnSync('sh', ['-c', `"${process.execPath}" "${cliPath}" policy show "${shop}" | head -1`], { encoding: 'utf8' });
    assert.equal(head.status, 0);
    assert.match(head.stdout, /^\/\/ route:/);
    assert.doesNotMatch(head.stderr, /EPIPE|Error/);
    const r = runCliSync(['policy', '--help']);
    assert.equal(r.status, 0);
    for (const verb of ['show', 'validate', 'test', 'explain']) assert.match(r.stdout, new RegExp(`\\b${verb}\\b`));
  });
});
