import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Principal } from '../kernel/index.js';
import { VerifiedTokenCache } from './verified-token-cache.js';

const p = (id: string, tokenId?: string): Principal => ({ type: 'User', id, roles: [], mfa: false, authMethod: 'oidc', issuer: 'https://idp.example', ...(tokenId === undefined ? {} : { tokenId }) });
const never = () => false;

test('returns a principal until its expiry, then forgets it', () => {
  const cache = new VerifiedTokenCache(10);
  cache.set('d1', p('alice'), 1000, 'corp');
  assert.equal(cache.get('d1', 999, ['corp'], never)?.id, 'alice');
  assert.equal(cache.get('d1', 1000, ['corp'], never), undefined);
  assert.equal(cache.size, 0);
});

test('a revoked jti is not served', () => {
  const cache = new VerifiedTokenCache(10);
  cache.set('d1', p('alice', 'j1'), 1000, 'corp');
  assert.equal(cache.get('d1', 0, ['corp'], (j) => j === 'j1'), undefined);
});

test('a hit for a method the route does not accept is a miss', () => {
  const cache = new VerifiedTokenCache(10);
  cache.set('d1', p('alice'), 1000, 'corp');
  assert.equal(cache.get('d1', 0, ['other'], never), undefined);
});

test('stays bounded, evicting the oldest; a hot entry survives', () => {
  const cache = new VerifiedTokenCache(100);
  cache.set('hot', p('hot'), 1e12, 'corp');
  for (let i = 0; i < 1000; i++) {
    cache.set(`d${i}`, p(`u${i}`), 1e12, 'corp');
    assert.equal(cache.get('hot', 0, ['corp'], never)?.id, 'hot', `hot entry lost after ${i} inserts`);
  }
  assert.equal(cache.size, 100);
  assert.equal(cache.get('d0', 0, ['corp'], never), undefined);
  assert.equal(cache.get('d999', 0, ['corp'], never)?.id, 'u999');
});
