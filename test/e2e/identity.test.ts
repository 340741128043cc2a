import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';

import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { decodeJwt, exportJWK, generateKeyPair, SignJWT } from 'jose';
import { openSqliteStore } from '../../src/store/index.js';
import { decisionFor, fetchTls, runCliSync, startUp, type RunningCli, writeProject } from '../helpers/cli.js';
import { AUDIENCE, startTestProvider, type TestProvider } from '../helpers/oidc-provider.js';

const HELLO = 'export default { async fetch(request: Request): Promise<Response> { return new Response("hello " + new URL(request.url).pathname); } };\n';

describe('identity against a real OpenID provider (oidc-provider)', () => {
  let provider: TestProvider;
  let node: RunningCli;
  let dir: string;

  before(async () => {
    provider = await startTestProvider();
    dir = writeProject(`name: idtest
identity:
  issuers:
    - name: corp
      issuer: "${provider.issuer}"
      audience: ${AUDIENCE}
      algorithms: [ES256]
      allowInsecureHttpIssuer: true
      jwksCooldownSec: 1
  apiKeys: { enabled: true }
functions:
  hello: { source: functions/hello.ts }
routes:
  - { path: /private, function: hello, allow: { issuers: [corp, api-key] } }
  - { path: /corp-only, function: hello, auth: [corp], allow: { issuers: [corp] } }
  - { path: /keys-only, function: hello, auth: [api-key], allow: { issuers: [api-key] } }
  - { path: /public, function: hello, public: true }
`, { 'functions/hello.ts': HELLO });
    node = await startUp(dir);
  });
  after(async () => {
    await node.stop();
    await provider.close();
  });

  const call = (path: string, token?: string) => fetchTls(node.url, node.ca, path, token === undefined ? {} : { headers: { authorization: `Bearer ${token}` } });
  const logLine = (requestId: string) => decisionFor(node, requestId);
  const refused = async (path: string, token: string | undefined, authFailure: string) => {
    const r = await call(path, token);
    assert.equal(r.status, 401, `${path}: ${r.body}`);
    assert.ok(!r.body.includes(authFailure), 'the reason never reaches the client');
    assert.equal((await logLine(String(r.headers['x-request-id']))).authFailure, authFailure);
    return r;
  };

  test('discovery, a provider-issued token on a private route', async () => {
    const token = await provider.token();
    const r = await call('/private', token);
    assert.equal(r.status, 200, r.body);
    assert.equal(r.body, 'hello /private');
    const line = await logLine(String(r.headers['x-request-id']));
    assert.equal(line.reason, 'allowed');
    assert.ok(!node.stderr().includes(token), 'the token never reaches the log');
  });

  test('no token: 401 with a bare challenge; a bad one: invalid_token', async () => {
    const none = await call('/private');
    assert.equal(none.status, 401);
    assert.equal(none.headers['www-authenticate'], 'Bearer realm="palisade"');
    const bad = await refused('/private', 'not-a-jwt', 'malformed-token');
    assert.equal(bad.headers['www-authenticate'], 'Bearer realm="palisade", error="invalid_token"');
  });

  test('a forged token under the provider issuer, with an unknown kid, is refused without a fetch storm', async () => {
    const attacker = await generateKeyPair('ES256');
    const forge = () => new SignJWT({ roles: ['admin'] }).setProtectedHeader({ alg: 'ES256', typ: 'at+jwt', kid: 'key-999' }).setIssuer(provider.issuer).setAudience(AUDIENCE).setSubject('mallory').setIssuedAt().setExpirationTime('5m').sign(attacker.privateKey);
    await call('/private', await provider.token());
    const before = provider.jwksFetches();
    await refused('/private', await forge(), 'unknown-kid');
    await Promise.all(Array.from({ length: 20 }, async () => assert.equal((await call('/private', await forge())).status, 401)));
    assert.ok(provider.jwksFetches() - before <= 2, `jwks fetched ${provider.jwksFetches() - before} times for 21 forged tokens`);
  });

  test('a token with an embedded attacker jwk is refused', async () => {
    const attacker = await generateKeyPair('ES256', { extractable: true });
    const token = await new SignJWT({}).setProtectedHeader({ alg: 'ES256', typ: 'at+jwt', jwk: await exportJWK(attacker.publicKey) }).setIssuer(provider.issuer).setAudience(AUDIENCE).setSubject('mallory').setIssuedAt().setExpirationTime('5m').sign(attacker.privateKey);
    await refused('/private', token, 'untrusted-header');
  });

  test('validly signed tokens of the provider that are no access tokens are refused by default', async () => {
    const now = Math.floor(Date.now() / 1000);
    const claims = { iss: provider.issuer, aud: AUDIENCE, sub: 'alice', iat: now, exp: now + 300 };
    // An ID token: same issuer, key and audience, but `typ: JWT` (RFC 9068 section 4).
    await refused('/private', await provider.signWithProviderKey(claims, { typ: 'JWT' }), 'wrong-typ');
    await refused('/private', await provider.signWithProviderKey(claims, {}), 'wrong-typ');
    await refused('/private', await provider.signWithProviderKey(claims, { typ: 'at+jwt', cty: 'JWT' }), 'wrong-typ');
    await refused('/private', await provider.signWithProviderKey({ ...claims, exp: Math.floor(Date.UTC(3000, 0, 1) / 1000) }, { typ: 'at+jwt' }), 'token-lifetime-too-long');
    await refused('/private', await provider.signWithProviderKey({ ...claims, exp: now + 300.5 }, { typ: 'at+jwt' }), 'invalid-claim');
    const good = await provider.signWithProviderKey(claims, { typ: 'at+jwt' });
    assert.equal((await call('/private', good)).status, 200, 'the same claims as a typed access token pass (control)');
    const [h, p, sig] = good.split('.') as [string, string, string];
    await refused('/private', `${h}.${p}.${sig}==`, 'malformed-token');
  });

  test('a token of another issuer is refused', async () => {
    const other = await generateKeyPair('ES256');
    const token = await new SignJWT({}).setProtectedHeader({ alg: 'ES256', typ: 'at+jwt' }).setIssuer('https://other-idp.example').setAudience(AUDIENCE).setSubject('x').setIssuedAt().setExpirationTime('5m').sign(other.privateKey);
    await refused('/private', token, 'unknown-issuer');
  });

  test('key rotation at the provider: new tokens verify after a refetch, old ones still do', async () => {
    const old = await provider.token();
    assert.equal((await call('/private', old)).status, 200);
    await provider.rotateKeys();
    await new Promise((r) => setTimeout(r, 1100)); // past the JWKS cooldown
    const fresh = await provider.token();
    assert.equal((await call('/private', fresh)).status, 200);
    assert.equal((await call('/private', old)).status, 200, 'the old key is still published');
  });

  test('a revoked jti is refused within the poll interval, revoked from another process', async () => {
    const token = await provider.token();
    assert.equal((await call('/private', token)).status, 200);
    const store = openSqliteStore(join(dir, '.palisade', 'state.db'));
    const claims = decodeJwt(token);
    await store.revocations.revoke(String(claims.jti), (claims.exp ?? 0) * 1000);
    await store.close();
    await new Promise((r) => setTimeout(r, 400));
    await refused('/private', token, 'token-revoked');
  });

  test('api keys: created by the CLI, accepted only where the route says, revoked at once', async () => {
    const created = runCliSync(['apikeys', 'create', dir, '--name', 'ci bot', '--role', 'deployer', '--json']);
    assert.equal(created.status, 0, created.stderr);
    const { id, key } = JSON.parse(created.stdout) as { id: string; key: string };
    assert.match(key, /^pal_/);
    assert.equal((await call('/keys-only', key)).status, 200);
    assert.equal((await call('/private', key)).status, 200, 'default auth accepts every configured method');
    await refused('/corp-only', key, 'method-not-accepted');
    const token = await provider.token();
    await refused('/keys-only', token, 'method-not-accepted');

    const list = runCliSync(['apikeys', 'list', dir, '--json']);
    assert.equal(list.status, 0);
    assert.ok(!list.stdout.includes(key.slice(21)), 'list never shows the secret');
    assert.equal((JSON.parse(list.stdout) as Array<{ id: string; roles: string[] }>).find((k) => k.id === id)?.roles[0], 'deployer');

    assert.equal(runCliSync(['apikeys', 'revoke', dir, '--id', id]).status, 0);
    await refused('/keys-only', key, 'key-revoked');
    const again = runCliSync(['apikeys', 'revoke', dir, '--id', id]);
    assert.equal(again.status, 3);
    assert.match(again.stderr, /PAL_IDENTITY_KEY_NOT_FOUND/);

    // The plain key appears in no file of the project state and in no log line.
    const secret = key.slice(21);
    for (const f of readdirSync(join(dir, '.palisade'), { recursive: true, withFileTypes: true })) {
      if (!f.isFile() || f.parentPath.includes(join('.palisade', 'tls'))) continue;
      assert.ok(!readFileSync(join(f.parentPath, f.name)).includes(secret), f.name);
    }
    assert.ok(!node.stderr().includes(secret));
  });

  test('api key rotation issues a working key and revokes the old one', async () => {
    const created = JSON.parse(runCliSync(['apikeys', 'create', dir, '--name', 'rotating', '--json']).stdout) as { id: string; key: string };
    const rotated = runCliSync(['apikeys', 'rotate', dir, '--id', created.id, '--json']);
    assert.equal(rotated.status, 0, rotated.stderr);
    const next = JSON.parse(rotated.stdout) as { key: string };
    assert.equal((await call('/keys-only', next.key)).status, 200);
    await refused('/keys-only', created.key, 'key-revoked');
  });

  test('public routes need nothing', async () => {
    assert.equal((await call('/public')).status, 200);
  });
});

describe('identity configuration errors', () => {
  test('api keys cannot be created when the project does not enable them', () => {
    const dir = writeProject('name: nokeys\nfunctions:\n  hello: { source: functions/hello.ts }\nroutes:\n  - { path: /p, function: hello }\n', { 'functions/hello.ts': HELLO });
    const r = runCliSync(['apikeys', 'create', dir, '--name', 'x']);
    assert.equal(r.status, 3);
    assert.match(r.stderr, /identity\.apiKeys\.enabled/);
  });
});
