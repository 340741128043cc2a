import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { isPalisadeError } from '../kernel/index.js';
import { canonicalHost, checkGrants, egressGrantCovers, parseEgressTarget } from './egress-target.js';

test('canonicalises hosts: case, trailing dot, IDNA, every IPv4 spelling, IPv6 brackets', () => {
  assert.equal(canonicalHost('API.Example.COM.'), 'api.example.com');
  assert.equal(canonicalHost('bücher.example'), 'xn--bcher-kva.example');
  for (const raw of ['2130706433', '0177.0.0.1', '0x7f.1', '127.1', '0x7f000001', '127.0.0.1.']) assert.equal(canonicalHost(raw), '127.0.0.1', raw);
  assert.equal(canonicalHost('[::ffff:127.0.0.1]'), '::ffff:7f00:1');
  for (const bad of ['', 'a..b', '.', 'a b', 'user@host', 'host:80', 'a/b']) assert.equal(canonicalHost(bad), undefined, bad);
});

function refused(fn: () => unknown, reason: string): void {
  try {
    fn();
  } catch (error) {
    assert.ok(isPalisadeError(error) && (error as { reason?: string }).reason === reason, `${String(error)} is not ${reason}`);
    return;
  }
  assert.fail(`expected ${reason}`);
}

test('refuses other schemes and userinfo', () => {
  for (const url of ['file:///etc/passwd', 'ftp://example.com/', 'data:text/plain,x', 'gopher://example.com/', 'javascript:alert(1)', 'not a url', '/relative']) refused(() => parseEgressTarget(url), 'bad-url');
  refused(() => parseEgressTarget('https://user:pass@api.example.com/'), 'bad-url');
  refused(() => parseEgressTarget('https://api.example.com@evil.example/'), 'bad-url');
});

const t = (url: string) => parseEgressTarget(url);

test('matches whole canonical names, never substrings', () => {
  const grants = [{ host: 'api.example.com' }];
  assert.deepEqual(checkGrants(grants, t('https://API.example.com./x')), { ok: true, allowPrivateNetwork: false });
  for (const url of ['https://api.example.com.evil.test/', 'https://evilapi.example.com/', 'https://example.com/', 'https://x.api.example.com/', 'https://api.example.co/']) {
    assert.deepEqual(checkGrants(grants, t(url)), { ok: false, reason: 'not-granted' }, url);
  }
});

test('a wildcard grant matches strict subdomains only', () => {
  const grants = [{ host: '*.example.com' }];
  assert.equal(checkGrants(grants, t('https://a.example.com/')).ok, true);
  assert.equal(checkGrants(grants, t('https://a.b.example.com/')).ok, true);
  assert.equal(checkGrants(grants, t('https://example.com/')).ok, false);
  assert.equal(checkGrants(grants, t('https://evil-example.com/')).ok, false);
  assert.equal(checkGrants(grants, t('https://example.com.evil/')).ok, false);
  assert.equal(checkGrants([{ host: '*.com' }], t('https://a.com/')).ok, false);
  assert.equal(checkGrants([{ host: '*.0.0.1' }], t('https://127.0.0.1/')).ok, false);
});

test('ports: the scheme default unless listed; http only with allowInsecureHttp', () => {
  assert.equal(checkGrants([{ host: 'a.example' }], t('https://a.example:8443/')).ok, false);
  assert.equal(checkGrants([{ host: 'a.example', ports: [8443] }], t('https://a.example:8443/')).ok, true);
  assert.equal(checkGrants([{ host: 'a.example', ports: [8443] }], t('https://a.example/')).ok, false);
  assert.deepEqual(checkGrants([{ host: 'a.example' }], t('http://a.example/')), { ok: false, reason: 'insecure-scheme' });
  assert.equal(checkGrants([{ host: 'a.example', allowInsecureHttp: true }], t('http://a.example/')).ok, true);
});

test('IP literal grants match the normalised literal', () => {
  assert.equal(checkGrants([{ host: '127.0.0.1' }], t('https://2130706433/')).ok, true);
  assert.equal(checkGrants([{ host: '::1' }], t('https://[0:0::1]/')).ok, true);
  assert.equal(checkGrants([{ host: '[::1]' }], t('https://[::1]/')).ok, true);
});

test('the parser never throws anything but a bad-url egress error', () => {
  fc.assert(
    fc.property(fc.string({ maxLength: 60 }), (tail) => {
      for (const raw of [tail, `https://${tail}`, `http://${tail}/x`]) {
        try {
          const target = parseEgressTarget(raw);
          assert.ok(target.scheme === 'https' || target.scheme === 'http');
          assert.equal(canonicalHost(target.literal === 6 ? `[${target.host}]` : target.host), target.host);
        } catch (error) {
          assert.ok(isPalisadeError(error, 'PAL_EGRESS_BAD_URL'), String(error));
        }
      }
    }),
    { numRuns: 3000 },
  );
});

test('egressGrantCovers: the guard matching on an audited host and port (no scheme)', () => {
  assert.equal(egressGrantCovers({ host: '*.x.com' }, 'api.x.com', 443), true);
  assert.equal(egressGrantCovers({ host: '*.x.com' }, 'x.com', 443), false, 'a wildcard never covers its apex');
  assert.equal(egressGrantCovers({ host: 'x.com' }, 'api.x.com', 443), false, 'an exact grant never covers a subdomain');
  assert.equal(egressGrantCovers({ host: '*.x.com' }, 'evil-x.com', 443), false);
  assert.equal(egressGrantCovers({ host: 'x.com', ports: [443, 8443] }, 'x.com', 8443), true);
  assert.equal(egressGrantCovers({ host: 'x.com', ports: [8443] }, 'x.com', 443), false, 'a port outside `ports`');
  assert.equal(egressGrantCovers({ host: 'x.com' }, 'x.com', 80), false, 'port 80 is plain http, not granted without allowInsecureHttp');
  assert.equal(egressGrantCovers({ host: 'x.com', allowInsecureHttp: true }, 'x.com', 80), true);
  assert.equal(egressGrantCovers({ host: 'X.com.' }, 'x.com', 443), true, 'the grant is canonicalised as the guard does');
  assert.equal(egressGrantCovers({ host: '::1', ports: [8443] }, '::1', 8443), true);
  assert.equal(egressGrantCovers({ host: '127.0.0.1', ports: [1] }, '127.0.0.2', 1), false);
  assert.equal(egressGrantCovers({ host: 'x.com' }, 'not a host', 443), false);
});
