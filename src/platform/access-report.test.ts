import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { AuditEvent } from '../kernel/index.js';
import { validateManifestText, type Manifest } from '../manifest/index.js';
import { buildAccessReport, type GrantUse } from '../policy/index.js';
import { egressGrantCovers } from '../segmentation/index.js';

// The builder with the egress guard's own matching, as `loadAccessReport` wires it.
const MANIFEST = `name: ar
identity:
  apiKeys: { enabled: true }
functions:
  web:
    source: web.ts
    bindings:
      ORDERS: { type: service, function: orders }
      STOCK:
        type: service
        function: stock
      GREETING: { type: text, value: hi }
    secrets: [session-key, old-key]
    egress:
      - { host: "*.x.com" }
      - host: x.com
        ports: [443, 8443]
      - { host: api.y.com, ports: [8443] }
  orders:
    source: orders.ts
    secrets:
      - db-url
    egress: [{ host: pay.z.com }]
    bindings: { STOCK: { type: service, function: stock } }
  stock: { source: stock.ts }
  batch: { source: batch.ts, secrets: [batch-token] }
routes:
  - { path: /web, function: web, allow: { issuers: [api-key] } }
`;

function manifestOf(text: string): Manifest {
  const r = validateManifestText({ text, file: '/srv/ar/palisade.yaml', projectDir: '/srv/ar', checkFiles: false });
  if (!r.ok || r.value === undefined) throw new Error(r.errors.map((e) => e.message).join('\n'));
  return r.value;
}

const NOW = 1_800_000_000_000;
const DAY = 86_400_000;
const fnPrincipal = (id: string) => ({ type: 'Function', id, issuer: 'palisade', authMethod: 'workload', mfa: false }) as const;
const call = (time: number, caller: string, target: string, outcome: 'allow' | 'deny'): AuditEvent => ({ time, requestId: `c${time}`, action: 'callFunction', outcome, reason: outcome === 'allow' ? 'allowed' : 'policy-denied', status: 0, method: 'CALL', function: caller, target, principal: fnPrincipal(caller), clientIp: '', durationMs: 0, policyIds: outcome === 'allow' ? [`function:${caller}#binding.X`] : [] });
const read = (time: number, fn: string, secret: string, outcome: 'allow' | 'deny'): AuditEvent => ({ time, requestId: `s${time}`, action: 'readSecret', outcome, reason: outcome === 'allow' ? 'allowed' : 'policy-denied', status: 0, method: 'CALL', function: fn, principal: fnPrincipal(fn), clientIp: '', durationMs: 0, policyIds: [], secret: { name: secret, count: 1, cached: outcome === 'allow' } });
const egress = (time: number, fn: string, host: string, port: number, outcome: AuditEvent['outcome'], reason: AuditEvent['reason'], policyIds: string[]): AuditEvent => ({ time, requestId: `e${time}`, action: 'egress', outcome, reason, status: outcome === 'allow' ? 200 : 0, method: 'GET', function: fn, principal: fnPrincipal(fn), clientIp: '', durationMs: 1, policyIds, egress: { host, port, hop: 0 } });

/** A recorded history with known used and unused grants of every kind. */
const EVENTS: AuditEvent[] = [
  { time: NOW - 9 * DAY, requestId: 'r1', action: 'invoke', outcome: 'allow', reason: 'allowed', status: 200, method: 'GET', route: 'GET /web', function: 'web', clientIp: '127.0.0.1', durationMs: 1, principal: { type: 'ServiceAccount', id: 'apikey:k1', issuer: 'urn:palisade:api-keys', authMethod: 'api-key', mfa: false }, policyIds: ['route:GET /web#allow.issuers'] },
  call(NOW - 8 * DAY, 'web', 'orders', 'allow'),
  // Refused: web's STOCK binding is not used, and stock is not invoked.
  call(NOW - 7 * DAY, 'web', 'stock', 'deny'),
  // Allowed, but before the window: orders' STOCK binding is unused in it.
  call(NOW - 40 * DAY, 'orders', 'stock', 'allow'),
  read(NOW - 6 * DAY, 'web', 'session-key', 'allow'),
  read(NOW - 6 * DAY + 1, 'web', 'old-key', 'deny'),
  read(NOW - 5 * DAY, 'orders', 'db-url', 'allow'),
  // The vault failed after the policy allowed (policy ids): session-key was still used; without policy ids nothing was.
  { ...read(NOW - 1.5 * DAY, 'web', 'session-key', 'allow'), outcome: 'error', reason: 'secret-unavailable', policyIds: ['function:web#secret.session-key'] },
  { ...read(NOW - 1.5 * DAY, 'web', 'old-key', 'allow'), outcome: 'error', reason: 'secret-unavailable', policyIds: [] },
  // The network failed after the policy allowed: the x.com grant (port 8443 listed) was used.
  egress(NOW - 4 * DAY, 'web', 'x.com', 8443, 'error', 'connect-failed', ['function:web#egress.x.com']),
  // A subdomain uses `*.x.com`, never the `x.com` grant (its last use stays the one above).
  egress(NOW - 3 * DAY, 'web', 'api.x.com', 443, 'allow', 'allowed', ['function:web#egress.*.x.com']),
  // Port 443 is outside `api.y.com`'s ports [8443]: that grant is not used.
  egress(NOW - 2 * DAY, 'web', 'api.y.com', 443, 'allow', 'allowed', []),
  // Denied, and timed out before any policy decision: neither uses the pay.z.com grant.
  egress(NOW - 2 * DAY, 'orders', 'pay.z.com', 443, 'deny', 'policy-denied', []),
  egress(NOW - DAY, 'orders', 'pay.z.com', 443, 'error', 'timeout', []),
  // After the window.
  read(NOW + 1, 'batch', 'batch-token', 'allow'),
];

const line = (g: GrantUse) => {
  switch (g.kind) {
    case 'route':
      return `route ${g.route} ${g.list} ${g.value} ${g.origin}`;
    case 'binding':
      return `binding ${g.function}.${g.binding}->${g.target} ${g.origin}`;
    case 'secret':
      return `secret ${g.function}:${g.secret} ${g.origin}`;
    case 'egress':
      return `egress ${g.function}[${g.index}] ${g.host}${g.ports === undefined ? '' : `:${g.ports.join(',')}`} ${g.origin}`;
  }
};

describe('buildAccessReport: function grants', () => {
  const report = buildAccessReport({ manifest: manifestOf(MANIFEST), manifestText: MANIFEST, events: EVENTS, principals: [], since: NOW - 30 * DAY, until: NOW, egressGrantCovers });

  test('every grant of every kind, with its origin and exactly the last use the history gives', () => {
    assert.equal(report.events, 13, 'events outside the window are not counted');
    assert.deepEqual(
      report.grants.map((g) => [line(g), g.lastUsed === null ? null : (g.lastUsed - NOW) / DAY]),
      [
        ['route GET /web issuers api-key palisade.yaml:28', -9],
        ['secret batch:batch-token palisade.yaml:26', null],
        ['binding orders.STOCK->stock palisade.yaml:24', null],
        ['secret orders:db-url palisade.yaml:22', -5],
        ['egress orders[0] pay.z.com palisade.yaml:23', null],
        ['binding web.ORDERS->orders palisade.yaml:8', -8],
        ['binding web.STOCK->stock palisade.yaml:9', null],
        ['secret web:session-key palisade.yaml:13', -1.5],
        ['secret web:old-key palisade.yaml:13', null],
        ['egress web[0] *.x.com palisade.yaml:15', -3],
        ['egress web[1] x.com:443,8443 palisade.yaml:16', -4],
        ['egress web[2] api.y.com:8443 palisade.yaml:18', null],
      ],
    );
    assert.deepEqual(report.unusedGrants.map(line), report.grants.filter((g) => g.lastUsed === null).map(line));
    assert.deepEqual(
      report.grants.filter((g) => g.kind !== 'route').map((g) => g.policyId),
      ['function:batch#secret.batch-token', 'function:orders#binding.STOCK', 'function:orders#secret.db-url', 'function:orders#egress.pay.z.com', 'function:web#binding.ORDERS', 'function:web#binding.STOCK', 'function:web#secret.session-key', 'function:web#secret.old-key', 'function:web#egress.*.x.com', 'function:web#egress.x.com', 'function:web#egress.api.y.com'],
    );
  });

  test('a function reached only through a service binding counts as invoked; a refused call does not', () => {
    assert.deepEqual(report.functions, [
      { name: 'batch', lastInvoked: null },
      { name: 'orders', lastInvoked: NOW - 8 * DAY },
      { name: 'stock', lastInvoked: null },
      { name: 'web', lastInvoked: NOW - 9 * DAY },
    ]);
  });

  test('the diff removes each unused function grant, block and flow style, and a key left empty', () => {
    assert.equal(
      report.suggestedDiff,
      [
        '--- palisade.yaml',
        '+++ palisade.yaml (unused grants removed)',
        '@@ -6,23 +6,17 @@',
        '     source: web.ts',
        '     bindings:',
        '       ORDERS: { type: service, function: orders }',
        '-      STOCK:',
        '-        type: service',
        '-        function: stock',
        '       GREETING: { type: text, value: hi }',
        '-    secrets: [session-key, old-key]',
        '+    secrets: [session-key]',
        '     egress:',
        '       - { host: "*.x.com" }',
        '       - host: x.com',
        '         ports: [443, 8443]',
        '-      - { host: api.y.com, ports: [8443] }',
        '   orders:',
        '     source: orders.ts',
        '     secrets:',
        '       - db-url',
        '-    egress: [{ host: pay.z.com }]',
        '-    bindings: { STOCK: { type: service, function: stock } }',
        '   stock: { source: stock.ts }',
        '-  batch: { source: batch.ts, secrets: [batch-token] }',
        '+  batch: { source: batch.ts }',
        ' routes:',
        '   - { path: /web, function: web, allow: { issuers: [api-key] } }',
        '',
      ].join('\n'),
    );
    assert.deepEqual(report.notes, [
      'function `batch`: with no secret left, `env.secrets` is undefined: code that still reads `batch-token` throws a TypeError (uncaught, the request fails: 500 `PAL_RUNTIME_FUNCTION_THREW`)',
      'function `orders`: without binding `STOCK`, `env.STOCK` is undefined: code that still calls it throws a TypeError (uncaught, the request fails: 500 `PAL_RUNTIME_FUNCTION_THREW`)',
      'function `orders`: with no egress grant left (pay.z.com was the last), every `fetch()` rejects with "TypeError: fetch failed: outbound requests are not granted to this function" unless its segment grants the host (audited: a denied `egress`, `not-granted`)',
      'function `web`: without binding `STOCK`, `env.STOCK` is undefined: code that still calls it throws a TypeError (uncaught, the request fails: 500 `PAL_RUNTIME_FUNCTION_THREW`)',
      "function `web`: `env.secrets.get('old-key')` rejects with \"secrets: secret `old-key` is not available to this function\" (audited: a denied `readSecret`, `not-granted`)",
      'function `web`: `fetch()` to api.y.com ports 8443 rejects with "TypeError: fetch failed: egress to `host:port` is not granted" unless another grant covers it (audited: a denied `egress`, `not-granted`)',
    ]);
  });
});

describe('buildAccessReport: route allow lists', () => {
  test('two neighbouring unused entries of a flow list are both removed, and the rest is kept', () => {
    const text = 'name: flow\nidentity: { apiKeys: { enabled: true } }\nfunctions:\n  f: { source: f.ts }\nroutes:\n  - { path: /f, function: f, allow: { roles: [a, b, c, d], issuers: [api-key] } }\n';
    const invoke: AuditEvent = { time: NOW - DAY, requestId: 'r', action: 'invoke', outcome: 'allow', reason: 'allowed', status: 200, method: 'GET', route: 'GET /f', function: 'f', clientIp: '127.0.0.1', durationMs: 1, principal: { type: 'ServiceAccount', id: 'apikey:k', issuer: 'urn:palisade:api-keys', authMethod: 'api-key', mfa: false }, policyIds: ['route:GET /f#allow.roles', 'route:GET /f#allow.issuers'] };
    const r = buildAccessReport({ manifest: manifestOf(text), manifestText: text, events: [invoke], principals: [{ principalId: 'apikey:k', kind: 'apiKey', name: 'k', roles: ['c'], inactive: false }], since: NOW - 30 * DAY, until: NOW, egressGrantCovers });
    assert.deepEqual(r.unusedGrants.map(line), ['route GET /f roles a palisade.yaml:6', 'route GET /f roles b palisade.yaml:6', 'route GET /f roles d palisade.yaml:6']);
    assert.match(r.suggestedDiff, /\n\+ {2}- \{ path: \/f, function: f, allow: \{ roles: \[c\], issuers: \[api-key\] \} \}\n/);
  });
});

test('segment egress grants: used by any function of the segment, never by another segment; the diff removes the unused ones', () => {
  const text = `name: seg
segments:
  edge:
    workers: 1
    egress:
      - { host: cdn.example.com }
      - { host: "*.maps.example.com", ports: [8443] }
  back:
    egress: [{ host: cdn.example.com }]
functions:
  web: { source: web.ts, segment: edge }
  img: { source: img.ts, segment: edge }
  job: { source: job.ts, segment: back }
routes:
  - { path: /web, function: web, public: true }
`;
  const events = [
    // img (in edge) uses edge's cdn grant; job (in back) reaching maps uses nothing of edge's.
    egress(NOW - DAY, 'img', 'cdn.example.com', 443, 'allow', 'allowed', ['segment:edge#egress.cdn.example.com']),
    egress(NOW - DAY, 'job', 'tiles.maps.example.com', 8443, 'deny', 'not-granted', []),
    egress(NOW - DAY, 'web', 'tiles.maps.example.com', 443, 'deny', 'not-granted', []),
  ];
  const r = buildAccessReport({ manifest: manifestOf(text), manifestText: text, events, principals: [], since: NOW - 30 * DAY, until: NOW, egressGrantCovers });
  const seg = r.grants.filter((g) => g.kind === 'segment-egress').map((g) => (g.kind === 'segment-egress' ? [g.policyId, g.origin, g.lastUsed === null ? null : (g.lastUsed - NOW) / DAY] : []));
  assert.deepEqual(seg, [
    ['segment:back#egress.cdn.example.com', 'palisade.yaml:9', null],
    ['segment:edge#egress.cdn.example.com', 'palisade.yaml:6', -1],
    ['segment:edge#egress.*.maps.example.com', 'palisade.yaml:7', null],
  ]);
  assert.equal(
    r.suggestedDiff,
    [
      '--- palisade.yaml',
      '+++ palisade.yaml (unused grants removed)',
      '@@ -4,9 +4,7 @@',
      '     workers: 1',
      '     egress:',
      '       - { host: cdn.example.com }',
      '-      - { host: "*.maps.example.com", ports: [8443] }',
      '-  back:',
      '-    egress: [{ host: cdn.example.com }]',
      '+  back: {}',
      ' functions:',
      '   web: { source: web.ts, segment: edge }',
      '   img: { source: img.ts, segment: edge }',
      '',
    ].join('\n'),
  );
  assert.equal(r.notes.filter((n) => n.startsWith('segment `')).length, 2);
});

describe('buildAccessReport: a manifest that shares YAML nodes (anchors and aliases)', () => {
  const report = (text: string, events: AuditEvent[]) => buildAccessReport({ manifest: manifestOf(text), manifestText: text, events, principals: [], since: NOW - 30 * DAY, until: NOW, egressGrantCovers });
  // `b` holds `a`'s first secret through an alias.
  const text = `name: al
functions:
  a:
    source: a.ts
    secrets: [&k k1, k2]
  b:
    source: b.ts
    secrets: [*k]
routes:
  - { path: /a, function: a, public: true }
`;
  const withheld = (r: ReturnType<typeof report>) => {
    assert.equal(r.suggestedDiff, '');
    assert.match(r.notes[0] ?? '', /^no suggested diff: the manifest shares YAML nodes/);
  };

  test('cutting an anchored item would move its anchor to the next item and grant an alias another secret: no diff', () => {
    // Cutting `a`'s unused `k1` as text leaves `[&k k2]`, and `b` would read `k2`.
    const r = report(text, [read(NOW - DAY, 'b', 'k1', 'allow'), read(NOW - DAY, 'a', 'k2', 'allow')]);
    assert.deepEqual(r.unusedGrants.map((g) => g.policyId), ['function:a#secret.k1']);
    withheld(r);
  });

  test('cutting a grant that carries an anchor would leave its aliases unresolved, or remove a grant an alias still uses: no diff', () => {
    const dangling = `name: al
functions:
  a:
    source: a.ts
    egress:
      - &g { host: api.x.com }
      - { host: b.x.com }
  b: { source: b.ts, egress: [*g] }
routes:
  - { path: /a, function: a, public: true }
`;
    withheld(report(dangling, [egress(NOW - DAY, 'b', 'api.x.com', 443, 'allow', 'allowed', []), egress(NOW - DAY, 'a', 'b.x.com', 443, 'allow', 'allowed', [])]));
    const shared = `name: al
identity:
  apiKeys: { enabled: true }
functions:
  a: { source: a.ts }
routes:
  - { path: /a, function: a, allow: &al { roles: [ops], issuers: [api-key] } }
  - { path: /b, function: a, allow: *al }
`;
    const key = { type: 'ServiceAccount', id: 'apikey:k1', issuer: 'urn:palisade:api-keys', authMethod: 'api-key', mfa: false } as const;
    const invoke = (route: string, policy: string): AuditEvent => ({ time: NOW - DAY, requestId: `i${route}`, action: 'invoke', outcome: 'allow', reason: 'allowed', status: 200, method: 'GET', route, function: 'a', clientIp: '127.0.0.1', durationMs: 1, principal: key, policyIds: [policy] });
    // `/b` (the alias) was reached through `api-key`; `/a` only through a role: cutting `/a`'s `issuers` would lock `/b`'s caller out.
    withheld(report(shared, [invoke('GET /b', 'route:GET /b#allow.issuers'), invoke('GET /a', 'route:GET /a#allow.roles')]));
  });

  test('aliases that the cuts do not touch leave the diff as it is', () => {
    const r = report(text, [read(NOW - DAY, 'b', 'k1', 'allow'), read(NOW - DAY, 'a', 'k1', 'allow')]);
    assert.match(r.suggestedDiff, /^-    secrets: \[&k k1, k2\]\n\+    secrets: \[&k k1\]$/m);
  });
});
