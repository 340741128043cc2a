import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { formatDiagnostic, type Diagnostic } from '../kernel/index.js';
import { egressGrantsOf } from './egress-grants.js';
import { validateManifestText } from './validate-manifest.js';

const BASE = `name: shop
functions:
  orders:
    source: functions/orders.ts
routes:
  - { path: /api/orders, methods: [GET, POST], function: orders }
`;

function check(text: string, checkFiles = false) {
  return validateManifestText({ text, file: 'palisade.yaml', projectDir: '/project', checkFiles });
}

function only(text: string): Diagnostic {
  const result = check(text);
  assert.equal(result.ok, false, 'expected the manifest to be invalid');
  assert.equal(result.errors.length, 1, `expected one error, got:\n${result.errors.map(formatDiagnostic).join('\n')}`);
  return result.errors[0] as Diagnostic;
}

describe('valid manifests', () => {
  test('applies defaults to a minimal manifest', () => {
    const result = check(BASE);
    assert.equal(result.ok, true, result.errors.map(formatDiagnostic).join('\n'));
    const m = result.value;
    assert.ok(m);
    assert.equal(m.gateway.host, '127.0.0.1');
    assert.equal(m.gateway.port, 8443);
    assert.deepEqual(m.gateway.tls, { mode: 'auto' });
    const fn = m.functions.get('orders');
    assert.equal(fn?.segment, 'default');
    assert.deepEqual(fn?.limits, { memoryMb: 64, cpuMs: 50, timeoutMs: 5000, maxResponseBytes: 1048576, concurrency: 4, queue: 64 });
    assert.equal(fn?.source, '/project/functions/orders.ts');
    assert.equal(m.routes[0]?.public, false, 'a route is private unless it says public: true');
    assert.equal(m.routes[0]?.maxBodyBytes, 1048576);
    assert.ok(Object.isFrozen(m) && Object.isFrozen(m.routes[0]));
  });

  test('accepts IPv6 listen addresses and tls files', () => {
    const result = check(`${BASE}gateway: { listen: "[::1]:9443", tls: { cert: c.pem, key: k.pem } }\n`);
    assert.equal(result.ok, true, result.errors.map(formatDiagnostic).join('\n'));
    assert.equal(result.value?.gateway.host, '::1');
    assert.deepEqual(result.value?.gateway.tls, { mode: 'files', cert: '/project/c.pem', key: '/project/k.pem' });
  });
});

describe('rejects, naming file, line, path and fix', () => {
  test('malformed yaml', () => {
    const d = only('name: shop\nfunctions: [\n');
    assert.equal(d.code, 'PAL_MANIFEST_YAML_SYNTAX');
    assert.equal(d.location?.file, 'palisade.yaml');
    assert.ok(d.location?.line !== undefined);
  });

  test('duplicate keys', () => {
    const d = only(`${BASE}name: other\n`);
    assert.equal(d.code, 'PAL_MANIFEST_YAML_SYNTAX');
    assert.match(d.message, /unique/);
  });

  test('aliases that expand past the bound, and an alias inside its own anchor, are refused as diagnostics (never a thrown error)', () => {
    const bomb = ['a0: &a0 [k]', ...Array.from({ length: 8 }, (_, i) => `a${i + 1}: &a${i + 1} [${Array.from({ length: 10 }, () => `*a${i}`).join(', ')}]`)].join('\n');
    const expanded = only(`${bomb}\n${BASE}`);
    assert.equal(expanded.code, 'PAL_MANIFEST_YAML_SYNTAX');
    assert.match(expanded.message, /alias count/);
    // A cyclic `json` binding value passed validation and then failed `palisade up` with PAL_INTERNAL.
    const cyclic = only(BASE.replace('    source: functions/orders.ts\n', '    source: functions/orders.ts\n    bindings: { CFG: { type: json, value: &v [*v] } }\n'));
    assert.equal(cyclic.code, 'PAL_MANIFEST_YAML_SYNTAX');
    assert.match(cyclic.message, /^an alias \(`\*name`\) is used inside the node its anchor/);
    // Shared, non-cyclic aliases stay valid.
    assert.equal(check(BASE.replace('    source: functions/orders.ts\n', '    source: functions/orders.ts\n    bindings: { A: { type: json, value: &v [1] }, B: { type: json, value: [*v, *v] } }\n')).ok, true);
  });

  test('a document that is not a mapping', () => {
    assert.equal(only('- a\n- b\n').code, 'PAL_MANIFEST_INVALID_VALUE');
    assert.equal(only('').code, 'PAL_MANIFEST_INVALID_VALUE');
  });

  test('a typo in a key, with a did-you-mean hint and the key position', () => {
    const d = only(BASE.replace('    source: functions/orders.ts', '    source: functions/orders.ts\n    segmnt: payments'));
    assert.equal(d.code, 'PAL_MANIFEST_UNKNOWN_KEY');
    assert.equal(d.path, 'functions.orders.segmnt');
    assert.deepEqual([d.location?.line, d.location?.col], [5, 5]);
    assert.match(d.hint ?? '', /did you mean `segment`/);
    assert.equal(formatDiagnostic(d).split('\n')[0], 'palisade.yaml:5:5  functions.orders.segmnt  PAL_MANIFEST_UNKNOWN_KEY: unknown key `segmnt` in `functions.orders`');
  });

  test('a section this version does not enforce is rejected, not ignored', () => {
    for (const section of ['privacy: { mask: [email] }', 'detect: {}']) {
      const d = only(`${BASE}${section}\n`);
      assert.equal(d.code, 'PAL_MANIFEST_UNKNOWN_KEY', section);
      assert.match(d.hint ?? '', /not supported by this version/, section);
    }
  });

  test('declared secrets keep their rotation schedule in milliseconds', () => {
    const result = check(`${BASE}secrets:\n  db-url:\n    description: the orders database\n    rotation: { function: orders, every: 30d }\n  api.token: {}\n`);
    assert.equal(result.ok, true, result.errors.map(formatDiagnostic).join('\n'));
    assert.deepEqual(result.value?.secrets.get('db-url'), { name: 'db-url', description: 'the orders database', rotation: { function: 'orders', everyMs: 30 * 86_400_000 } });
    assert.deepEqual(result.value?.secrets.get('api.token'), { name: 'api.token' });
  });

  test('a rotation function reachable by a route is a warning', () => {
    const result = check(`${BASE}secrets:\n  db-url:\n    rotation: { function: orders, every: 30d }\n`);
    assert.equal(result.ok, true);
    const w = result.warnings.find((d) => d.path === 'secrets.db-url.rotation.function');
    assert.equal(w?.code, 'PAL_MANIFEST_INSECURE_SETTING');
    assert.match(w?.message ?? '', /reachable by route/);
  });

  test('a rotation function must be declared, and a schedule must be a duration', () => {
    const unknown = only(`${BASE}secrets:\n  db-url:\n    rotation: { function: ordrs, every: 1h }\n`);
    assert.equal(unknown.code, 'PAL_MANIFEST_UNKNOWN_FUNCTION');
    assert.equal(unknown.path, 'secrets.db-url.rotation.function');
    assert.match(unknown.hint ?? '', /did you mean `orders`/);
    for (const every of ['0d', '30', '1w', '-1h', '1.5h']) assert.equal(check(`${BASE}secrets:\n  db-url:\n    rotation: { function: orders, every: "${every}" }\n`).ok, false, every);
    assert.equal(check(`${BASE}secrets:\n  DB_URL: {}\n`).ok, false, 'secret names are lowercase');
  });

  test('route `allow` and `mfa` are kept with their manifest lines', () => {
    const text = `${BASE.replace('function: orders }', 'function: orders,\n      allow: { roles: [customer], users: ["builtin:1234"] }, mfa: required }')}identity:\n  builtin: { enabled: true }\n`;
    const result = check(text);
    assert.equal(result.ok, true, result.errors.map(formatDiagnostic).join('\n'));
    const route = result.value?.routes[0];
    assert.deepEqual(route?.allow?.roles, ['customer']);
    assert.equal(route?.allow?.line, 7);
    assert.equal(route?.line, 6);
    assert.equal(route?.mfa, 'required');
    assert.deepEqual(result.warnings, []);
  });

  test('a private route without `allow` is valid but warned about: only admins reach it', () => {
    const result = check(BASE);
    assert.equal(result.ok, true);
    assert.equal(result.warnings.length, 1);
    assert.match(result.warnings[0]?.message ?? '', /only the `admin` role/);
    assert.equal(result.warnings[0]?.location?.line, 6);
  });

  test('`allow` names issuers the route accepts, and users as issuer:subject', () => {
    const withBuiltin = (allow: string) => `${BASE.replace('function: orders }', `function: orders, allow: ${allow} }`)}identity:\n  builtin: { enabled: true }\n`;
    assert.equal(only(withBuiltin('{ issuers: [corp] }')).path, 'routes[0].allow.issuers[0]');
    assert.equal(only(withBuiltin('{ users: ["corp:alice"] }')).path, 'routes[0].allow.users[0]');
    assert.equal(only(withBuiltin('{ users: [alice] }')).code, 'PAL_MANIFEST_INVALID_VALUE');
    assert.equal(only(withBuiltin('{}')).code, 'PAL_MANIFEST_INVALID_VALUE');
    const pub = only(`${BASE.replace('function: orders }', 'function: orders, public: true, allow: { roles: [a] } }')}`);
    assert.match(pub.message, /public route takes no `allow`/);
  });

  test('`roles` are kept with their lines; a role in `allow.roles` that is not declared is warned about with a suggestion', () => {
    const text = `${BASE.replace('function: orders }', 'function: orders, allow: { roles: [custmer, admin] } }')}identity:\n  builtin: { enabled: true }\nroles:\n  customer: { description: buyers }\n  auditor: { mfa: required }\n`;
    const result = check(text);
    assert.equal(result.ok, true, result.errors.map(formatDiagnostic).join('\n'));
    assert.deepEqual([...(result.value?.roles?.keys() ?? [])], ['customer', 'auditor']);
    assert.equal(result.value?.roles?.get('auditor')?.mfa, 'required');
    assert.equal(result.value?.roles?.get('customer')?.mfa, 'optional');
    assert.equal(result.value?.roles?.get('auditor')?.line, 11);
    assert.equal(result.warnings.length, 1, 'the built-in `admin` role needs no declaration');
    const w = result.warnings[0];
    assert.equal(w?.code, 'PAL_MANIFEST_UNKNOWN_ROLE');
    assert.equal(w?.path, 'routes[0].allow.roles[0]');
    assert.match(w?.hint ?? '', /did you mean `customer`/);
    // Without a roles section, nothing is declared and nothing is warned about.
    assert.deepEqual(check(text.replace(/roles:\n[\s\S]*$/, '')).warnings, []);
    assert.equal(only(`${BASE}roles:\n  admin: { mfa: always }\n`).code, 'PAL_MANIFEST_INVALID_VALUE');
    assert.equal(only(`${BASE}roles:\n  "bad role": {}\n`).code, 'PAL_MANIFEST_INVALID_VALUE');
  });

  test('`policies` lists .cedar files inside the project', () => {
    assert.equal(only(`${BASE}policies: [../outside.cedar]\n`).code, 'PAL_POLICY_FILE_NOT_FOUND');
    assert.equal(only(`${BASE}policies: [rules.txt]\n`).code, 'PAL_MANIFEST_INVALID_VALUE');
    const ok = check(`${BASE}policies: [policies/a.cedar]\n`);
    assert.deepEqual(ok.value?.policies, ['/project/policies/a.cedar']);
  });

  test('a missing required key', () => {
    const d = only('name: shop\nfunctions: { a: { source: a.ts } }\n');
    assert.equal(d.code, 'PAL_MANIFEST_MISSING_KEY');
    assert.match(d.message, /`routes`/);
  });

  test('limits outside their bounds', () => {
    const d = only(BASE.replace('    source: functions/orders.ts', '    source: functions/orders.ts\n    limits: { cpuMs: 0 }'));
    assert.equal(d.code, 'PAL_MANIFEST_INVALID_VALUE');
    assert.equal(d.path, 'functions.orders.limits.cpuMs');
    assert.match(d.message, /at least 1/);
    const m = only(BASE.replace('    source: functions/orders.ts', '    source: functions/orders.ts\n    limits: { memoryMb: 100000 }'));
    assert.match(m.message, /at most 2048/);
  });

  test('a wrong type', () => {
    const d = only(BASE.replace('function: orders }', 'function: orders, public: "yes" }'));
    assert.equal(d.path, 'routes[0].public');
    assert.match(d.message, /boolean/);
  });

  test('an unknown method', () => {
    const d = only(BASE.replace('[GET, POST]', '[GET, FETCH]'));
    assert.equal(d.path, 'routes[0].methods[1]');
  });

  test('a route to an undeclared function, with a suggestion', () => {
    const d = only(BASE.replace('function: orders }', 'function: order }'));
    assert.equal(d.code, 'PAL_MANIFEST_UNKNOWN_FUNCTION');
    assert.equal(d.path, 'routes[0].function');
    assert.match(d.hint ?? '', /did you mean `orders`/);
    assert.equal(d.location?.line, 6);
  });

  test('a function in an undeclared segment', () => {
    const d = only(BASE.replace('    source: functions/orders.ts', '    source: functions/orders.ts\n    segment: payment'));
    assert.equal(d.code, 'PAL_MANIFEST_UNKNOWN_SEGMENT');
    assert.equal(d.path, 'functions.orders.segment');
  });

  test('overlapping routes for a shared method', () => {
    const text = `${BASE}  - { path: "/api/:kind", methods: [POST], function: orders }\n`;
    const d = only(text);
    assert.equal(d.code, 'PAL_MANIFEST_ROUTE_CONFLICT');
    assert.match(d.message, /overlaps route 0/);
    assert.equal(check(`${BASE}  - { path: "/api/:kind", methods: [DELETE], function: orders }\n`).ok, true, 'different methods do not overlap');
  });

  test('duplicate routes', () => {
    assert.equal(only(`${BASE}  - { path: /api/orders, methods: [GET], function: orders }\n`).code, 'PAL_MANIFEST_ROUTE_CONFLICT');
  });

  for (const [path, why] of [
    ['api/orders', /must start with/],
    ['/api/../admin', /dot segment/],
    ['/api//orders', /empty segment/],
    ['/api/orders/', /must not end/],
    ['/api/%2e%2e', /may use only/],
    ['/api/*', /may use only/],
    ['/api/:id/:id', /appears twice/],
    ['/api/:1x', /parameter/],
    ['/_palisade/admin', /reserved/],
  ] as const) {
    test(`an invalid route path \`${path}\``, () => {
      const d = only(BASE.replace('path: /api/orders', `path: "${path}"`));
      assert.equal(d.code, 'PAL_MANIFEST_INVALID_PATH');
      assert.match(d.message, why);
    });
  }

  test('an unknown binding type and a bad binding name', () => {
    const t = only(BASE.replace('    source: functions/orders.ts', '    source: functions/orders.ts\n    bindings: { DB: { type: database, value: x } }'));
    assert.equal(t.path, 'functions.orders.bindings.DB.type');
    assert.match(t.message, /`text`, `json`/);
    const n = only(BASE.replace('    source: functions/orders.ts', '    source: functions/orders.ts\n    bindings: { db: { type: text, value: x } }'));
    assert.match(n.hint ?? '', /UPPER_SNAKE_CASE/);
  });

  test('a text binding with a non-string value', () => {
    const d = only(BASE.replace('    source: functions/orders.ts', '    source: functions/orders.ts\n    bindings: { N: { type: text, value: 3 } }'));
    assert.equal(d.path, 'functions.orders.bindings.N.value');
  });

  test('tls that is neither auto nor files', () => {
    const d = only(`${BASE}gateway: { tls: manual }\n`);
    assert.equal(d.path, 'gateway.tls');
    assert.match(d.hint ?? '', /tls: auto/);
  });

  test('a listen address without a valid port', () => {
    assert.equal(only(`${BASE}gateway: { listen: "127.0.0.1" }\n`).path, 'gateway.listen');
    assert.match(only(`${BASE}gateway: { listen: "127.0.0.1:70000" }\n`).message, /0-65535/);
  });

  test('collects several problems at once', () => {
    const result = check('name: Shop\nfunctions: { a: { source: a.ts, limits: { cpuMs: -1 } } }\nroutes: []\nextra: 1\n');
    assert.equal(result.ok, false);
    assert.ok(result.errors.length >= 4, result.errors.map(formatDiagnostic).join('\n'));
  });
});

describe('identity', () => {
  const ISSUER = 'identity:\n  issuers:\n    - { name: corp, issuer: "https://idp.example.com", audience: shop-api, algorithms: [RS256] }\n  apiKeys: { enabled: true }\n';

  test('a private route accepts every configured method by default, a public route none', () => {
    const result = check(`${BASE}  - { path: /health, function: orders, public: true }\n${ISSUER}`);
    assert.equal(result.ok, true, result.errors.map(formatDiagnostic).join('\n'));
    assert.deepEqual(result.value?.routes[0]?.auth, ['corp', 'api-key']);
    assert.deepEqual(result.value?.routes[1]?.auth, []);
    const issuer = result.value?.identity.issuers[0];
    assert.deepEqual([issuer?.rolesClaim, issuer?.clockSkewSec, issuer?.maxTokenBytes], ['roles', 60, 8192]);
  });

  test('built-in users add the builtin method; its settings have safe defaults', () => {
    const result = check(`${BASE}identity: { builtin: { enabled: true } }\n`);
    assert.equal(result.ok, true, result.errors.map(formatDiagnostic).join('\n'));
    assert.deepEqual(result.value?.routes[0]?.auth, ['builtin']);
    assert.deepEqual(result.value?.identity.builtin, { enabled: true, mfa: 'required', accessTokenTtlSec: 600, refreshTokenTtlSec: 2592000, lockout: { maxFailures: 5, lockSec: 900 } });
    assert.equal(only(`${BASE}identity: { builtin: { enabled: true, lockout: { maxFailures: 1000 } } }\n`).path, 'identity.builtin.lockout.maxFailures');
  });

  test('mtls is accepted only where a route names it', () => {
    const text = `${BASE}  - { path: /internal, function: orders, auth: [mtls] }\nidentity: { mtls: { ca: ca.pem }, apiKeys: { enabled: true } }\n`;
    const result = check(text);
    assert.equal(result.ok, true, result.errors.map(formatDiagnostic).join('\n'));
    assert.deepEqual(result.value?.routes[0]?.auth, ['api-key'], 'not in the default list');
    assert.deepEqual(result.value?.routes[1]?.auth, ['mtls']);
    assert.equal(result.value?.identity.mtls?.principalFrom, 'san-uri');
    assert.equal(only(`${BASE}  - { path: /internal, function: orders, auth: [mtls] }\nidentity: { apiKeys: { enabled: true } }\n`).path, 'routes[1].auth[0]');
  });

  test('a route may narrow its methods', () => {
    const result = check(BASE.replace('function: orders }', 'function: orders, auth: [api-key] }') + ISSUER);
    assert.deepEqual(result.value?.routes[0]?.auth, ['api-key']);
  });

  test('an auth method that is not configured, with a suggestion', () => {
    const d = only(BASE.replace('function: orders }', 'function: orders, auth: [crop] }') + ISSUER);
    assert.equal(d.path, 'routes[0].auth[0]');
    assert.match(d.hint ?? '', /did you mean `corp`/);
  });

  test('auth on a public route', () => {
    assert.equal(only(BASE.replace('function: orders }', 'function: orders, public: true, auth: [corp] }') + ISSUER).path, 'routes[0].auth');
  });

  test('an issuer without an algorithm allow-list, or with HMAC or none', () => {
    assert.equal(only(`${BASE}identity:\n  issuers:\n    - { name: corp, issuer: "https://idp.example.com", audience: a }\n`).code, 'PAL_MANIFEST_MISSING_KEY');
    for (const alg of ['HS256', 'none']) {
      const d = only(`${BASE}identity:\n  issuers:\n    - { name: corp, issuer: "https://idp.example.com", audience: a, algorithms: [${alg}] }\n`);
      assert.equal(d.path, 'identity.issuers[0].algorithms[0]', alg);
    }
  });

  test('an http issuer is refused, and allowed by the loud switch only on loopback', () => {
    const http = (host: string, allow: boolean) => `${BASE}identity:\n  issuers:\n    - { name: corp, issuer: "http://${host}:4000", audience: a, algorithms: [RS256]${allow ? ', allowInsecureHttpIssuer: true' : ''} }\n`;
    assert.equal(only(http('idp.example.com', false)).code, 'PAL_MANIFEST_INSECURE_SETTING');
    assert.equal(only(http('idp.example.com', true)).code, 'PAL_MANIFEST_INSECURE_SETTING');
    assert.equal(only(http('127.0.0.1', false)).code, 'PAL_MANIFEST_INSECURE_SETTING');
    assert.equal(check(http('127.0.0.1', true)).ok, true);
  });

  test('duplicate issuer names', () => {
    const two = `${BASE}identity:\n  issuers:\n    - { name: corp, issuer: "https://a.example", audience: a, algorithms: [RS256] }\n    - { name: corp, issuer: "https://b.example", audience: a, algorithms: [RS256] }\n`;
    assert.match(only(two).message, /already used/);
  });
});

describe('source files', () => {
  const dir = mkdtempSync(join(tmpdir(), 'palisade-manifest-'));
  mkdirSync(join(dir, 'functions'));
  writeFileSync(join(dir, 'functions', 'orders.ts'), 'export default {}');

  test('a source that exists passes', () => {
    const result = validateManifestText({ text: BASE, file: 'palisade.yaml', projectDir: dir });
    assert.equal(result.ok, true, result.errors.map(formatDiagnostic).join('\n'));
  });

  test('a missing source file', () => {
    const result = validateManifestText({ text: BASE.replace('orders.ts', 'missing.ts'), file: 'palisade.yaml', projectDir: dir });
    assert.equal(result.errors[0]?.code, 'PAL_MANIFEST_SOURCE_NOT_FOUND');
    assert.match(result.errors[0]?.hint ?? '', /functions\/missing\.ts/);
  });

  test('a source outside the project directory', () => {
    const result = validateManifestText({ text: BASE.replace('functions/orders.ts', '../../etc/passwd'), file: 'palisade.yaml', projectDir: dir });
    assert.equal(result.errors[0]?.code, 'PAL_MANIFEST_SOURCE_NOT_FOUND');
    assert.match(result.errors[0]?.message ?? '', /outside the project/);
  });
});

describe('request validation and rate-limit keys', () => {
  const project = () => {
    const dir = mkdtempSync(join(tmpdir(), 'palisade-schema-'));
    mkdirSync(join(dir, 'functions'));
    mkdirSync(join(dir, 'schemas'));
    writeFileSync(join(dir, 'functions', 'orders.ts'), 'export default { fetch() { return new Response("ok"); } };');
    return dir;
  };
  const manifest = (route: string, gateway = '') => `name: shop\n${gateway}functions:\n  orders:\n    source: functions/orders.ts\nroutes:\n  - { path: /api/orders, methods: [GET, POST], function: orders${route} }\n`;
  const run = (dir: string, text: string) => validateManifestText({ text, file: join(dir, 'palisade.yaml'), projectDir: dir });

  test('a route schema is loaded, rate limits are parsed, and a schema implies json', () => {
    const dir = project();
    writeFileSync(join(dir, 'schemas', 'order.json'), JSON.stringify({ type: 'object', required: ['sku'], properties: { sku: { type: 'string' }, email: { type: 'string', format: 'email' } } }));
    const result = run(dir, manifest(', schema: { POST: schemas/order.json }, rateLimit: { rate: 100/min, burst: 20 }', 'gateway: { rateLimit: 50/s, origin: "https://api.example.com" }\n'));
    assert.equal(result.ok, true, result.errors.map(formatDiagnostic).join('\n'));
    const route = result.value?.routes[0];
    assert.deepEqual(route?.rateLimit, { points: 100, durationSec: 60, burst: 20, by: 'principal' });
    assert.deepEqual(route?.contentTypes, ['application/json']);
    assert.equal((route?.schema?.POST?.schema as { required: string[] }).required[0], 'sku');
    assert.deepEqual(result.value?.gateway.rateLimit, { points: 50, durationSec: 1, burst: 0, by: 'address' });
    assert.equal(result.value?.gateway.origin, 'https://api.example.com');
    assert.equal(result.value?.gateway.limits.maxJsonDepth, 32);
  });

  test('bad schema files fail validation with the file, the path and a fix', () => {
    const dir = project();
    writeFileSync(join(dir, 'schemas', 'broken.json'), '{ "type": ');
    writeFileSync(join(dir, 'schemas', 'typo.json'), JSON.stringify({ type: 'object', propertees: {} }));
    writeFileSync(join(dir, 'schemas', 'format.json'), JSON.stringify({ type: 'string', format: 'no-such-format' }));
    for (const [file, pattern] of [['schemas/missing.json', /does not exist/], ['schemas/broken.json', /not valid json/], ['schemas/typo.json', /not a valid json schema: .*propertees/], ['schemas/format.json', /not a valid json schema: .*no-such-format/], ['../outside.json', /outside the project/]] as const) {
      const result = run(dir, manifest(`, schema: { POST: ${file} }`));
      assert.equal(result.ok, false, file);
      const d = result.errors[0] as Diagnostic;
      assert.equal(d.code, 'PAL_MANIFEST_INVALID_BODY_SCHEMA', file);
      assert.equal(d.path, 'routes[0].schema.POST', file);
      assert.match(d.message, pattern, file);
      assert.ok((d.hint ?? '').length > 0, file);
      assert.match(formatDiagnostic(d), /palisade\.yaml:6:/, file);
    }
  });

  test('a schema for a method the route does not accept, or on GET, is refused', () => {
    const dir = project();
    writeFileSync(join(dir, 'schemas', 'o.json'), '{}');
    assert.equal(run(dir, manifest(', schema: { PUT: schemas/o.json }')).errors[0]?.path, 'routes[0].schema.PUT');
    assert.equal(run(dir, manifest(', schema: { GET: schemas/o.json }')).errors[0]?.code, 'PAL_MANIFEST_INVALID_VALUE');
  });

  test('malformed rate limits and credential opt-ins are refused', () => {
    for (const bad of [', rateLimit: 100/fortnight', ', rateLimit: 0/min', ', rateLimit: { rate: 10/s, burst: -1 }', ', unsafeForwardCredentials: [x-secret]', ', contentEncodings: [compress]', ', contentTypes: [json]']) {
      assert.equal(check(manifest(bad)).ok, false, bad);
    }
    const ok = check(manifest(', unsafeForwardCredentials: [authorization], contentEncodings: [gzip], contentTypes: [text/plain]'));
    assert.equal(ok.ok, true, ok.errors.map(formatDiagnostic).join('\n'));
    assert.deepEqual(ok.value?.routes[0]?.unsafeForwardCredentials, ['authorization']);
  });
});

describe('service bindings in the manifest', () => {
  const base = (bindings: string) => `name: shop\nfunctions:\n  a:\n    source: a.js\n    bindings:\n${bindings}\n  billing:\n    source: b.js\nroutes:\n  - { path: /a, function: a }\n`;
  test('a service binding names a declared function', () => {
    const r = check(base('      BILLING: { type: service, function: billing }'));
    assert.equal(r.ok, true, JSON.stringify(r.errors));
  });
  test('a service binding to an undeclared function is refused with a suggestion', () => {
    const r = check(base('      BILLING: { type: service, function: biling }'));
    assert.equal(r.ok, false);
    assert.ok(r.errors.some((e) => e.code === 'PAL_MANIFEST_UNKNOWN_FUNCTION' && e.path === 'functions.a.bindings.BILLING.function' && (e.hint ?? '').includes('billing')), JSON.stringify(r.errors));
  });
  test('a service binding without a function, or a value binding without a value, is refused', () => {
    assert.equal(check(base('      BILLING: { type: service }')).ok, false);
    assert.equal(check(base('      API_URL: { type: text }')).ok, false);
    assert.equal(check(base('      API_URL: { type: text, value: x, function: billing }')).ok, false);
  });
});

describe('the audit section', () => {
  test('defaults to sync mode, checkpoints every 1000 events or 60 s, no witness, no sinks', () => {
    const m = check(BASE).value;
    assert.deepEqual(m?.audit, { mode: 'sync', checkpoint: { everyEvents: 1000, everySeconds: 60 }, sinks: [] });
  });

  test('resolves the witness and sink paths and splits a syslog address', () => {
    const m = check(`${BASE}audit:\n  mode: async\n  witness: ../worm/audit.witness\n  sinks:\n    - { type: file, name: f, path: logs/a.jsonl }\n    - { type: syslog, name: s, address: siem.example.com:6514, tls: true, format: cef }\n    - { type: webhook, name: w, url: https://siem.example.com/in }\n`).value;
    assert.equal(m?.audit.mode, 'async');
    assert.equal(m?.audit.witness, '/worm/audit.witness');
    assert.deepEqual(m?.audit.sinks, [
      { type: 'file', name: 'f', format: 'ocsf', path: '/project/logs/a.jsonl' },
      { type: 'syslog', name: 's', format: 'cef', host: 'siem.example.com', port: 6514, tls: true },
      { type: 'webhook', name: 'w', format: 'ocsf', url: 'https://siem.example.com/in' },
    ]);
  });

  test('a sink without its destination, a plain-http webhook, a repeated name and an unknown mode are refused with their path', () => {
    assert.equal(only(`${BASE}audit: { sinks: [{ type: webhook, name: w }] }\n`).path, 'audit.sinks[0]');
    assert.equal(only(`${BASE}audit: { sinks: [{ type: webhook, name: w, url: http://siem.example.com/in }] }\n`).path, 'audit.sinks[0].url');
    assert.equal(only(`${BASE}audit: { sinks: [{ type: file, name: a, path: x }, { type: file, name: a, path: y }] }\n`).path, 'audit.sinks[1].name');
    assert.equal(only(`${BASE}audit: { mode: off }\n`).path, 'audit.mode');
  });
});

describe('egress grants', () => {
  const withEgress = (egress: string) => BASE.replace('    source: functions/orders.ts', `    source: functions/orders.ts\n    egress: ${egress}`);

  test('grants are kept, defaults off; no egress key means no egress', () => {
    const result = check(withEgress('[{ host: api.stripe.com }, { host: "*.example.com", ports: [443, 8443] }, { host: internal.corp, allowPrivateNetwork: true, allowInsecureHttp: true }]'));
    assert.equal(result.ok, true, result.errors.map(formatDiagnostic).join('\n'));
    assert.deepEqual(result.value?.functions.get('orders')?.egress, [
      { host: 'api.stripe.com' },
      { host: '*.example.com', ports: [443, 8443] },
      { host: 'internal.corp', allowPrivateNetwork: true, allowInsecureHttp: true },
    ]);
    assert.deepEqual(check(BASE).value?.functions.get('orders')?.egress, []);
  });

  test('unusable hosts are rejected with their path', () => {
    for (const host of ['"*"', '"*.com"', '"api.*.com"', 'api.stripe.com:443', '"https://api.stripe.com"', '"user@api.stripe.com"', '"a..b"', '"*.10.0.0.1"', '"a b"']) {
      const d = only(withEgress(`[{ host: ${host} }]`));
      assert.equal(d.code, 'PAL_MANIFEST_INVALID_VALUE', host);
      assert.equal(d.path, 'functions.orders.egress[0].host', host);
    }
  });

  test('IP literals and bracketed IPv6 are accepted', () => {
    assert.equal(check(withEgress('[{ host: 10.0.0.5, allowPrivateNetwork: true }, { host: "[fd00::5]" }, { host: "fd00::6" }]')).ok, true);
  });

  test('an unknown grant key or a bad port is rejected', () => {
    assert.equal(only(withEgress('[{ host: a.example, allowPrivate: true }]')).code, 'PAL_MANIFEST_UNKNOWN_KEY');
    assert.equal(only(withEgress('[{ host: a.example, ports: [0] }]')).code, 'PAL_MANIFEST_INVALID_VALUE');
    assert.equal(only(withEgress('[{ host: a.example, ports: [] }]')).code, 'PAL_MANIFEST_INVALID_VALUE');
  });
});

describe('segment egress grants', () => {
  const withSegment = (egress: string, fnEgress = '') => BASE.replace('functions:\n', `segments:\n  outbound: { egress: ${egress} }\n  inner: {}\nfunctions:\n`).replace('    source: functions/orders.ts', `    source: functions/orders.ts\n    segment: outbound\n  lone: { source: functions/lone.ts, segment: inner${fnEgress} }`);

  test('a segment\'s grants are kept like a function\'s, and add to the grants of each function in it only', () => {
    const result = check(withSegment('[{ host: api.stripe.com, ports: [443, 8443] }, { host: internal.corp, allowPrivateNetwork: true }]', ', egress: [{ host: own.example }]'));
    assert.equal(result.ok, true, result.errors.map(formatDiagnostic).join('\n'));
    const m = result.value;
    assert.ok(m);
    assert.deepEqual(m.segments.get('outbound')?.egress, [{ host: 'api.stripe.com', ports: [443, 8443] }, { host: 'internal.corp', allowPrivateNetwork: true }]);
    assert.deepEqual(m.segments.get('inner')?.egress, []);
    assert.deepEqual(egressGrantsOf(m, 'orders').map((g) => g.host), ['api.stripe.com', 'internal.corp']);
    assert.deepEqual(egressGrantsOf(m, 'lone').map((g) => g.host), ['own.example']);
    assert.deepEqual(egressGrantsOf(m, 'nobody'), []);
  });

  test('a segment\'s grants get the same checks: unusable hosts with their path, unknown keys, bad ports', () => {
    for (const host of ['"*"', '"*.com"', 'api.stripe.com:443', '"https://api.stripe.com"']) {
      const d = only(withSegment(`[{ host: ${host} }]`));
      assert.equal(d.code, 'PAL_MANIFEST_INVALID_VALUE', host);
      assert.equal(d.path, 'segments.outbound.egress[0].host', host);
    }
    assert.equal(only(withSegment('[{ host: a.example, allowPrivate: true }]')).code, 'PAL_MANIFEST_UNKNOWN_KEY');
    assert.equal(only(withSegment('[{ host: a.example, ports: [0] }]')).code, 'PAL_MANIFEST_INVALID_VALUE');
    assert.equal(only(withSegment('a.example')).code, 'PAL_MANIFEST_INVALID_VALUE');
  });
});

describe('function secrets and kv grants', () => {
  const withGrants = (grants: string) => BASE.replace('source: functions/orders.ts', `source: functions/orders.ts\n${grants}`);

  test('secrets and kv are kept with each secret line; defaults are none and false', () => {
    const result = check(withGrants('    secrets: [db-url, stripe.key_2]\n    kv: true'));
    assert.equal(result.ok, true, result.errors.map(formatDiagnostic).join('\n'));
    const fn = result.value?.functions.get('orders');
    assert.deepEqual(fn?.secrets, ['db-url', 'stripe.key_2']);
    assert.equal(fn?.kv, true);
    assert.deepEqual(fn?.secretLines, { 'db-url': 5, 'stripe.key_2': 5 });
    const plain = check(BASE).value?.functions.get('orders');
    assert.deepEqual([plain?.secrets, plain?.kv], [[], false]);
  });

  test('an invalid secret name is refused with its position and a hint naming the format', () => {
    for (const bad of ['DB_URL', '-db', 'a'.repeat(129), 'db url', '']) {
      const d = only(withGrants(`    secrets: [ok, ${JSON.stringify(bad)}]`));
      assert.equal(d.code, 'PAL_MANIFEST_INVALID_VALUE', bad);
      assert.equal(d.path, 'functions.orders.secrets[1]', bad);
      assert.match(d.hint ?? '', /secret names are lowercase/, bad);
    }
  });

  test('a secret granted twice, a non-list and a non-boolean kv are refused precisely', () => {
    const dup = only(withGrants('    secrets: [db-url, db-url]'));
    assert.equal(dup.path, 'functions.orders.secrets[1]');
    assert.match(dup.message, /same entry twice/);
    assert.match(only(withGrants('    secrets: db-url')).message, /`functions.orders.secrets` must be of type array/);
    assert.match(only(withGrants('    kv: yes-please')).message, /`functions.orders.kv` must be of type boolean/);
  });
});
