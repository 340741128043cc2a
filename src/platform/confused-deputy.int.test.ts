import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { searchAuditLog } from '../audit/index.js';
import { silentLogger } from '../kernel/index.js';
import { loadManifest } from '../manifest/index.js';
import { createProjectApiKey } from './api-key-admin.js';
import { secretsAdmin } from './secrets-admin.js';
import { startInsecureLoopbackHttpPlatform, type RunningPlatform } from './start-platform.js';

// A confused deputy, end to end on a real node with its real vault: user U may not read secret S;
// function F (billing) may; U reaches F through web (another segment, allowed by a segment rule).
// The policy says S is read only on behalf of the finance role, and the call chain carries U to
// the decision, so F cannot be used to do for U what U may not.
const LEDGER_KEY = 'ledger-signing-key-7f3a9c1e5b';

const WEB = `export default {
  async fetch(request, env) {
    const answer = await env.PAY.fetch('https://billing.internal/settle');
    return new Response(await answer.text(), { status: answer.status });
  },
};\n`;

const BILLING = `export default {
  async fetch(request, env) {
    try {
      const key = await env.secrets.get('ledger-key');
      return new Response('settled with a key of ' + key.length + ' characters');
    } catch (e) {
      return new Response('refused: ' + e.message, { status: 403 });
    }
  },
};\n`;

const CEDAR = `@id("ledger-key-only-for-finance")
forbid (principal, action == Action::"readSecret", resource == Secret::"ledger-key")
when { context has originalCaller && !context.originalCaller.roles.contains("finance") };
`;

describe('confused deputy: a function granted a secret cannot read it for a caller the policy refuses', () => {
  let dir: string;
  let node: RunningPlatform;
  const keys: Record<string, string> = {};

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'palisade-deputy-'));
    mkdirSync(join(dir, 'functions'));
    mkdirSync(join(dir, 'policies'));
    writeFileSync(join(dir, 'functions', 'web.js'), WEB);
    writeFileSync(join(dir, 'functions', 'billing.js'), BILLING);
    writeFileSync(join(dir, 'policies', 'deputy.cedar'), CEDAR);
    writeFileSync(
      join(dir, 'palisade.yaml'),
      [
        'name: deputy',
        'identity:',
        '  apiKeys: { enabled: true }',
        'segments:',
        '  storefront: { workers: 1 }',
        '  payments: { workers: 1, allowCallsFrom: [storefront] }',
        'functions:',
        '  web:',
        '    source: functions/web.js',
        '    segment: storefront',
        '    limits: { cpuMs: 5000, timeoutMs: 20000 }',
        '    bindings: { PAY: { type: service, function: billing } }',
        '  billing:',
        '    source: functions/billing.js',
        '    segment: payments',
        '    secrets: [ledger-key]',
        '    limits: { cpuMs: 5000, timeoutMs: 20000 }',
        'roles:',
        '  customer: {}',
        '  finance: {}',
        'routes:',
        '  - { path: /settle, methods: [POST], function: web, auth: [api-key], allow: { roles: [customer, finance] } }',
        'policies: [policies/deputy.cedar]',
        '',
      ].join('\n'),
    );
    const manifest = loadManifest(dir);
    await secretsAdmin.set(manifest, 'ledger-key', new TextEncoder().encode(LEDGER_KEY));
    for (const role of ['customer', 'finance']) keys[role] = (await createProjectApiKey(manifest, { name: `${role}-key`, roles: [role], ttlMs: null })).key;
    node = await startInsecureLoopbackHttpPlatform({ manifest, logger: silentLogger, host: '127.0.0.1', port: 0 });
  });

  after(async () => {
    await node?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const settle = async (role: string) => {
    const res = await fetch(`${node.url}/settle`, { method: 'POST', headers: { authorization: `Bearer ${keys[role] ?? ''}` } });
    return { status: res.status, id: res.headers.get('x-request-id') ?? '', body: await res.text() };
  };

  test('a customer reaches billing, but billing cannot read the ledger key on its behalf; the denial names the policy', async () => {
    const r = await settle('customer');
    assert.equal(r.status, 403, r.body);
    assert.match(r.body, /^refused: /);
    const events = searchAuditLog(join(dir, '.palisade'), { action: 'readSecret' }).filter((e) => e.event.requestId === r.id);
    assert.equal(events.length, 1);
    const event = events[0]?.event as { outcome: string; function?: string; policyIds?: readonly string[]; chain?: readonly string[] };
    assert.equal(event.outcome, 'deny');
    assert.equal(event.function, 'billing');
    assert.deepEqual(event.policyIds, ['ledger-key-only-for-finance']);
    assert.deepEqual(event.chain, ['web']);
  });

  test('the same chain started by finance reads it (the grant works; only the deputy use is refused)', async () => {
    const r = await settle('finance');
    assert.equal(r.status, 200, r.body);
    assert.equal(r.body, `settled with a key of ${LEDGER_KEY.length} characters`);
  });
});
