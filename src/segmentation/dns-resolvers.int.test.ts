import assert from 'node:assert/strict';
import { createSocket, type Socket } from 'node:dgram';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import { createDnsServerResolver, createEgressGuard, EgressError, type EgressEvent } from './index.js';

// A real DNS server on 127.0.0.1 (UDP, RFC 1035 section 4), answering A and AAAA from a zone
// table, NXDOMAIN for anything else. The guard's resolver talks to it through c-ares exactly
// as it would talk to the operator's resolver.
const ZONE: Record<string, { A?: string[]; AAAA?: string[] }> = {
  'public.egress.test': { A: ['93.184.215.14'] },
  'private.egress.test': { A: ['10.0.0.7'] },
  'mixed.egress.test': { A: ['93.184.215.14', '127.0.0.1'] },
  'metadata.egress.test': { A: ['169.254.169.254'] },
  'v6-loopback.egress.test': { AAAA: ['::1'] },
  'v6-mapped.egress.test': { AAAA: ['::ffff:127.0.0.1'] },
  'api.egress.test': { A: ['127.0.0.1'] },
};

function ipv6Bytes(address: string): number[] {
  const [head = '', tail = ''] = address.split('::');
  const words = (s: string) => (s === '' ? [] : s.split(':').flatMap((w) => (w.includes('.') ? (([a = 0, b = 0, c = 0, d = 0]) => [(a << 8) | b, (c << 8) | d])(w.split('.').map(Number)) : [Number.parseInt(w, 16)])));
  const h = words(head);
  const t = words(tail);
  const all = address.includes('::') ? [...h, ...new Array<number>(8 - h.length - t.length).fill(0), ...t] : h;
  return all.flatMap((w) => [w >> 8, w & 0xff]);
}

function answer(query: Buffer, queries: string[]): Buffer {
  let offset = 12;
  const labels: string[] = [];
  while (offset < query.length && query[offset] !== 0) {
    const length = query[offset] ?? 0;
    labels.push(query.subarray(offset + 1, offset + 1 + length).toString('latin1'));
    offset += length + 1;
  }
  const questionEnd = offset + 5;
  const qtype = query.readUInt16BE(offset + 1);
  const name = labels.join('.').toLowerCase();
  queries.push(`${qtype === 28 ? 'AAAA' : qtype === 1 ? 'A' : qtype} ${name}`);
  const entry = ZONE[name];
  const records = entry === undefined ? [] : qtype === 1 ? (entry.A ?? []).map((a) => a.split('.').map(Number)) : qtype === 28 ? (entry.AAAA ?? []).map(ipv6Bytes) : [];
  const header = Buffer.alloc(12);
  query.copy(header, 0, 0, 2); // id
  header.writeUInt16BE(0x8580 | (query.readUInt16BE(2) & 0x0100) | (entry === undefined ? 3 : 0), 2); // QR AA RD? RA, rcode
  header.writeUInt16BE(1, 4);
  header.writeUInt16BE(records.length, 6);
  const rrs = records.map((rdata) => {
    const rr = Buffer.alloc(12 + rdata.length);
    rr.writeUInt16BE(0xc00c, 0); // pointer to the question name
    rr.writeUInt16BE(qtype, 2);
    rr.writeUInt16BE(1, 4); // IN
    rr.writeUInt32BE(60, 6);
    rr.writeUInt16BE(rdata.length, 10);
    Buffer.from(rdata).copy(rr, 12);
    return rr;
  });
  return Buffer.concat([header, query.subarray(12, questionEnd), ...rrs]);
}

let dns: Socket;
let dnsPort = 0;
const queries: string[] = [];
let http: Server;
let httpPort = 0;

before(async () => {
  dns = createSocket('udp4');
  dns.on('error', () => {});
  dns.on('message', (msg, rinfo) => {
    try {
      dns.send(answer(msg, queries), rinfo.port, rinfo.address);
    } catch {
      // a malformed query gets no answer
    }
  });
  await new Promise<void>((resolve) => dns.bind(0, '127.0.0.1', resolve));
  dnsPort = dns.address().port;
  http = createServer((req, res) => res.end(`hello ${req.headers.host ?? ''}`));
  http.on('error', () => {});
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  httpPort = (http.address() as AddressInfo).port;
});

after(() => {
  dns.close();
  http.close();
});

const limits = { maxResponseBytes: 1024, maxRequestBytes: 1024, timeoutMs: 3000, maxRedirects: 0 };

test('resolves A and AAAA records from a real DNS server', async () => {
  const resolve = createDnsServerResolver([`127.0.0.1:${dnsPort}`]);
  assert.deepEqual(await resolve('public.egress.test'), [{ address: '93.184.215.14', family: 4 }]);
  assert.deepEqual(await resolve('v6-loopback.egress.test'), [{ address: '::1', family: 6 }]);
  assert.deepEqual(await resolve('mixed.egress.test'), [{ address: '93.184.215.14', family: 4 }, { address: '127.0.0.1', family: 4 }]);
  assert.deepEqual(await resolve('nowhere.egress.test'), []);
});

test('names that resolve to private addresses through real DNS are refused; one query per family', async () => {
  const events: EgressEvent[] = [];
  const guard = createEgressGuard({ limits, authorize: () => ({ effect: 'allow', policyIds: [] }), resolve: createDnsServerResolver([`127.0.0.1:${dnsPort}`]), events: { onEgress: (e) => events.push(e) } });
  for (const name of ['private.egress.test', 'mixed.egress.test', 'metadata.egress.test', 'v6-loopback.egress.test', 'v6-mapped.egress.test']) {
    queries.length = 0;
    await assert.rejects(guard.fetch('f', [{ host: name }], { method: 'GET', url: `https://${name}/`, headers: [], body: null }), (e: unknown) => e instanceof EgressError && e.reason === 'private-address');
    assert.deepEqual(queries.sort(), [`A ${name}`, `AAAA ${name}`]);
  }
  await assert.rejects(guard.fetch('f', [{ host: 'nowhere.egress.test' }], { method: 'GET', url: 'https://nowhere.egress.test/', headers: [], body: null }), (e: unknown) => e instanceof EgressError && e.reason === 'dns-failed');
  assert.deepEqual(events.map((e) => e.reason), ['private-address', 'private-address', 'private-address', 'private-address', 'private-address', 'dns-failed']);
});

test('an internal service granted with allowPrivateNetwork is reached through real DNS', async () => {
  const guard = createEgressGuard({ limits, authorize: () => ({ effect: 'allow', policyIds: [] }), resolve: createDnsServerResolver([`127.0.0.1:${dnsPort}`]) });
  const res = await guard.fetch('f', [{ host: 'api.egress.test', ports: [httpPort], allowPrivateNetwork: true, allowInsecureHttp: true }], { method: 'GET', url: `http://api.egress.test:${httpPort}/`, headers: [], body: null });
  assert.equal(Buffer.from(res.body).toString(), `hello api.egress.test:${httpPort}`);
});
