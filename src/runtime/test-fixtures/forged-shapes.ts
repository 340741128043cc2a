/** Malformed worker → gateway messages, for the boundary tests. */
const CHUNK = 64 * 1024;
const valid = (id: number) => ({ t: 'result', id, ok: true, status: 200, headers: [['content-type', 'text/plain']], size: 2, body: new Uint8Array([111, 107]), cpuMs: 0.1 });

/** The well-formed answers among {@link SHAPES}. */
export const WELL_FORMED: ReadonlySet<string> = new Set(['ok', 'batch-ok', 'pid', 'slow-pid', 'egress-no-grant']);

/** Every malformed shape a compromised worker might send in answer to invocation `id` (and the {@link WELL_FORMED} ones). */
export const SHAPES: Record<string, (id: number) => unknown> = {
  ok: valid,
  /** Well-formed: a log line and the result in one frame. */
  'batch-ok': (id) => ({ t: 'batch', m: [{ t: 'log', id, level: 'info', message: 'line in a batch' }, valid(id)] }),
  /** Well-formed, naming the worker that answered (`slow-pid`: after 150 ms). */
  pid: (id) => ({ ...valid(id), headers: [['x-worker-pid', String(process.pid)]] }),
  'slow-pid': (id) => ({ ...valid(id), headers: [['x-worker-pid', String(process.pid)]] }),
  string: () => 'hello',
  number: () => 42,
  null: () => null,
  array: (id) => ['result', id],
  'type-constructor': () => ({ t: 'constructor' }),
  'type-proto': (id) => JSON.parse(`{"__proto__": {"t": "result"}, "id": ${id}}`),
  'failure-constructor': (id) => ({ t: 'result', id, ok: false, failure: 'constructor', detail: 'x', cpuMs: 0 }),
  'failure-tostring': (id) => ({ t: 'result', id, ok: false, failure: 'toString', detail: 'x', cpuMs: 0 }),
  'unknown-id': (id) => ({ ...valid(id), id: id + 1000 }),
  'id-string': (id) => ({ ...valid(id), id: String(id) }),
  'status-99': (id) => ({ ...valid(id), status: 99 }),
  'status-float': (id) => ({ ...valid(id), status: 200.5 }),
  'headers-not-pairs': (id) => ({ ...valid(id), headers: [['a']] }),
  'headers-not-strings': (id) => ({ ...valid(id), headers: [['a', 1]] }),
  'headers-too-many': (id) => ({ ...valid(id), headers: Array.from({ length: 101 }, (_, i) => [`x-${i}`, 'v']) }),
  'headers-object': (id) => ({ ...valid(id), headers: { a: 'b' } }),
  'body-string': (id) => ({ ...valid(id), body: 'ok' }),
  'body-array': (id) => ({ ...valid(id), body: [111, 107] }),
  'body-over-chunk': (id) => ({ ...valid(id), size: CHUNK + 1, body: new Uint8Array(CHUNK + 1) }),
  'size-smaller-than-body': (id) => ({ ...valid(id), size: 1 }),
  'size-over-limit': (id) => ({ ...valid(id), size: 1e9, body: new Uint8Array(10) }),
  'cpu-negative': (id) => ({ ...valid(id), cpuMs: -1 }),
  'cpu-nan': (id) => ({ ...valid(id), cpuMs: Number.NaN }),
  'extra-property': (id) => ({ ...valid(id), evil: true }),
  'detail-huge': (id) => ({ t: 'result', id, ok: false, failure: 'threw', detail: 'x'.repeat(1_000_000), cpuMs: 0 }),
  'log-forged-id': (id) => ({ t: 'log', id: id + 5000, level: 'info', message: 'forged line for another function' }),
  'log-bad-level': (id) => ({ t: 'log', id, level: 'constructor', message: 'x' }),
  'chunk-unasked': (id) => ({ t: 'chunk', id, data: new Uint8Array(1) }),
  'call-unknown-invocation': (id) => ({ t: 'call', id: id + 99, callId: 1, binding: 'BILLING', op: 'fetch', payload: { method: 'GET', url: 'https://x/', headers: [], body: null } }),
  'call-bad-op': (id) => ({ t: 'call', id, callId: 1, binding: 'BILLING', op: 'constructor', payload: { method: 'GET', url: 'https://x/', headers: [], body: null } }),
  // Secrets and KV: ids are the gateway's, names and sizes are bounded, claims of cached reads must match a grant.
  'secret-unknown-invocation': (id) => ({ t: 'secret', id: id + 1, callId: 1, name: 'db-url' }),
  'secret-bad-name': (id) => ({ t: 'secret', id, callId: 1, name: 'DB_URL' }),
  'secret-long-name': (id) => ({ t: 'secret', id, callId: 1, name: 'a'.repeat(129) }),
  'secret-extra-property': (id) => ({ t: 'secret', id, callId: 1, name: 'db-url', fn: 'billing' }),
  'secret-reads-never-granted': (id) => ({ t: 'secret-reads', id, reads: [['db-url', 1, 1]] }),
  'secret-reads-zero-count': (id) => ({ t: 'secret-reads', id, reads: [['db-url', 1, 0]] }),
  'secret-reads-other-invocation': (id) => ({ t: 'secret-reads', id: id + 77, reads: [['db-url', 1, 1]] }),
  'secret-reads-empty': (id) => ({ t: 'secret-reads', id, reads: [] }),
  'kv-not-granted': (id) => ({ t: 'kv', id, callId: 1, op: 'get', key: 'a' }),
  'kv-key-too-long': (id) => ({ t: 'kv', id, callId: 1, op: 'get', key: 'x'.repeat(513) }),
  'kv-key-too-many-bytes': (id) => ({ t: 'kv', id, callId: 1, op: 'get', key: 'é'.repeat(257) }),
  'kv-key-empty': (id) => ({ t: 'kv', id, callId: 1, op: 'delete', key: '' }),
  'kv-value-too-large': (id) => ({ t: 'kv', id, callId: 1, op: 'put', key: 'a', value: new Uint8Array(1024 * 1024 + 1) }),
  'kv-value-string': (id) => ({ t: 'kv', id, callId: 1, op: 'put', key: 'a', value: 'text' }),
  'kv-list-limit': (id) => ({ t: 'kv', id, callId: 1, op: 'list', prefix: '', limit: 1001, cursor: null }),
  'kv-bad-op': (id) => ({ t: 'kv', id, callId: 1, op: 'constructor', key: 'a' }),
  'kv-get-with-value': (id) => ({ t: 'kv', id, callId: 1, op: 'get', key: 'a', value: new Uint8Array(1) }),
  // Egress: only for the invocation's own id, only for a function with a grant, closed and bounded.
  /** Well-formed: an outbound request of a function without any grant (the gateway decides and records it), then the result. */
  'egress-no-grant': (id) => ({ t: 'batch', m: [{ t: 'egress', id, callId: 1, payload: { method: 'GET', url: 'http://127.0.0.1/', headers: [], body: null } }, valid(id)] }),
  /** One more binding call or outbound request than an invocation may make (MAX_CALLS_PER_INVOCATION = 32). */
  'egress-flood': (id) => ({ t: 'batch', m: Array.from({ length: 33 }, (_, i) => ({ t: 'egress', id, callId: i + 1, payload: { method: 'GET', url: 'https://x.example/', headers: [], body: null } })) }),
  'call-flood': (id) => ({ t: 'batch', m: Array.from({ length: 33 }, (_, i) => ({ t: 'call', id, callId: i + 1, binding: 'BILLING', op: 'fetch', payload: { method: 'GET', url: 'https://x/', headers: [], body: null } })) }),
  'egress-unknown-invocation': (id) => ({ t: 'egress', id: id + 3, callId: 1, payload: { method: 'GET', url: 'https://x.example/', headers: [], body: null } }),
  'egress-connect-method': (id) => ({ t: 'egress', id, callId: 1, payload: { method: 'CONNECT', url: 'https://x.example/', headers: [], body: null } }),
  'egress-url-too-long': (id) => ({ t: 'egress', id, callId: 1, payload: { method: 'GET', url: `https://x.example/${'a'.repeat(8192)}`, headers: [], body: null } }),
  'egress-body-too-large': (id) => ({ t: 'egress', id, callId: 1, payload: { method: 'POST', url: 'https://x.example/', headers: [], body: new Uint8Array(8 * 1024 * 1024 + 1) } }),
  'egress-grants-smuggled': (id) => ({ t: 'egress', id, callId: 1, payload: { method: 'GET', url: 'http://127.0.0.1/', headers: [], body: null }, grants: [{ host: '127.0.0.1', allowPrivateNetwork: true }] }),
  'egress-payload-extra': (id) => ({ t: 'egress', id, callId: 1, payload: { method: 'GET', url: 'https://x.example/', headers: [], body: null, fn: 'other' } }),
  'ready-again': () => ({ t: 'ready', coldStartMs: {} }),
  'load-failed-late': () => ({ t: 'load-failed', fn: 'f', message: 'late' }),
  'batch-empty': () => ({ t: 'batch', m: [] }),
  'batch-not-array': (id) => ({ t: 'batch', m: { 0: valid(id) } }),
  'batch-nested': (id) => ({ t: 'batch', m: [{ t: 'batch', m: [valid(id)] }] }),
  'batch-extra-property': (id) => ({ t: 'batch', m: [valid(id)], evil: true }),
  'batch-too-long': (id) => ({ t: 'batch', m: Array.from({ length: 257 }, () => ({ t: 'log', id, level: 'info', message: 'x' })) }),
  // A forged line first, then the malformed result: nothing of a bad batch is acted on.
  'batch-one-malformed': (id) => ({ t: 'batch', m: [{ t: 'log', id, level: 'info', message: 'forged before a bad message' }, { ...valid(id), status: 99 }] }),
  'batch-sparse': (id) => ({ t: 'batch', m: [valid(id), , valid(id)] }), // eslint-disable-line no-sparse-arrays
  map: () => new Map([['t', 'result']]),
  date: () => new Date(),
  deep: () => {
    let o: Record<string, unknown> = { t: 'result' };
    for (let i = 0; i < 1000; i++) o = { t: 'result', id: o };
    return o;
  },
};

