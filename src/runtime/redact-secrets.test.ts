import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { MIN_REDACTED_BYTES, redactedForms, SecretRedactor } from './redact-secrets.js';

const VALUE = 'pg://app:s3cr3t>>?&@db/shop~?';

async function collect(stream: AsyncIterable<Uint8Array>): Promise<string> {
  const parts: Uint8Array[] = [];
  for await (const c of stream) parts.push(c);
  return Buffer.concat(parts).toString('utf8');
}

async function* chunks(text: string, size: number): AsyncGenerator<Uint8Array> {
  const bytes = Buffer.from(text, 'utf8');
  for (let i = 0; i < bytes.byteLength; i += size) yield bytes.subarray(i, i + size);
}

describe('secret redaction', () => {
  const r = new SecretRedactor();
  r.setValue('db-url', VALUE);
  const b64 = Buffer.from(VALUE).toString('base64');
  const b64url = Buffer.from(VALUE).toString('base64url');

  test('plain, base64 (standard and url-safe, with and without padding) and URL-encoded forms are replaced', () => {
    assert.ok(b64.endsWith('=') && b64.includes('/') && b64url !== b64.replace(/=+$/, ''), 'the fixture exercises padding and the standard alphabet');
    for (const form of [VALUE, b64, b64.replace(/=+$/, ''), b64url, encodeURIComponent(VALUE)]) {
      assert.equal(r.redactText(`before ${form} after`), 'before [REDACTED:db-url] after', form);
      assert.equal(Buffer.from(r.redactBytes(Buffer.from(`x${form}y`))).toString(), 'x[REDACTED:db-url]y', form);
    }
    assert.deepEqual(r.redactHeaders([['x-db', VALUE]]), [['x-db', '[REDACTED:db-url]']]);
  });

  test('a value spanning chunk boundaries is replaced, at every split point', async () => {
    const text = `start ${VALUE} middle ${b64url} end`;
    for (let size = 1; size <= text.length; size += 3) {
      assert.equal(await collect(r.redactStream(chunks(text, size))), 'start [REDACTED:db-url] middle [REDACTED:db-url] end', `chunk size ${size}`);
    }
  });

  test('text without secrets passes unchanged, and a redactor with no value is inactive', async () => {
    const body = Buffer.from('nothing to see');
    assert.equal(r.redactBytes(body), body);
    const empty = new SecretRedactor();
    assert.equal(empty.active, false);
    assert.equal(await collect(empty.redactStream(chunks('a b c', 2))), 'a b c');
  });

  test(`values shorter than ${MIN_REDACTED_BYTES} bytes are not redacted (documented)`, () => {
    assert.deepEqual(redactedForms('abc'), ['YWJj']);
    const short = new SecretRedactor();
    short.setValue('pin', 'abc');
    assert.equal(short.redactText('abc'), 'abc');
  });

  test('older values stay redacted after a rotation', () => {
    const rot = new SecretRedactor();
    rot.setValue('k', 'first-value');
    rot.setValue('k', 'second-value');
    assert.equal(rot.redactText('first-value second-value'), '[REDACTED:k] [REDACTED:k]');
  });
});

test('a value as JSON.stringify escapes it (quotes, backslashes, tabs) is redacted too', () => {
  const value = 'hunter2"secret\\pass\tx';
  assert.ok(redactedForms(value).includes(JSON.stringify(value).slice(1, -1)));
});
