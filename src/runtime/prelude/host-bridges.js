import { bodyBytes, Request, Response } from './fetch-classes.js';

// INVARIANT: the worker takes `__palisade_install` and `__palisade_boot` off the global before any
// function code runs, so user code can neither call nor replace them. Module-scope state below is
// unreachable from user code.
const MAX_LOG_CHARS = 8192;

function formatArg(value) {
  if (typeof value === 'string') return value;
  if (value instanceof Error) return `${value.name}: ${value.message}`;
  try {
    const text = JSON.stringify(value);
    return text === undefined ? String(value) : text;
  } catch {
    return String(value);
  }
}

// Per-invocation console budget; reset by the dispatcher. Counted here so that a flood stops
// inside the isolate instead of queueing host calls (the host counts too).
const logBudget = { lines: 0, bytes: 0, maxLines: 200, maxBytes: 65536 };

function installBridges(host) {
  const log = (level) => (...args) => {
    if (logBudget.lines >= logBudget.maxLines || logBudget.bytes >= logBudget.maxBytes) return;
    let message = args.map(formatArg).join(' ');
    if (message.length > MAX_LOG_CHARS) message = `${message.slice(0, MAX_LOG_CHARS)}…`;
    logBudget.lines++;
    logBudget.bytes += message.length;
    host.log(level, message);
  };
  globalThis.console = Object.freeze({
    log: log('info'),
    info: log('info'),
    debug: log('debug'),
    warn: log('warn'),
    error: log('error'),
  });

  const getRandomValues = (array) => {
    if (!ArrayBuffer.isView(array) || array instanceof Float32Array || array instanceof Float64Array || array instanceof DataView) {
      throw new TypeError('getRandomValues: expected an integer typed array');
    }
    if (array.byteLength > 65536) {
      const error = new Error('getRandomValues: at most 65536 bytes');
      error.name = 'QuotaExceededError';
      throw error;
    }
    const bytes = host.randomBytes(array.byteLength);
    new Uint8Array(array.buffer, array.byteOffset, array.byteLength).set(new Uint8Array(bytes));
    return array;
  };
  const randomUUID = () => {
    const b = getRandomValues(new Uint8Array(16));
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    const h = Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
    return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
  };
  const toBytes = (data) => {
    if (data instanceof ArrayBuffer) return new Uint8Array(data).slice();
    if (ArrayBuffer.isView(data)) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength).slice();
    throw new TypeError('digest: data must be an ArrayBuffer or a view');
  };
  const subtle = Object.freeze({
    digest(algorithm, data) {
      try {
        const name = typeof algorithm === 'string' ? algorithm : algorithm && algorithm.name;
        const result = host.digest(String(name).toUpperCase(), toBytes(data).buffer);
        if (typeof result === 'string') return Promise.reject(new Error(result));
        return Promise.resolve(result);
      } catch (error) {
        return Promise.reject(error);
      }
    },
  });
  globalThis.crypto = Object.freeze({ getRandomValues, randomUUID, subtle });

  // Timers live only as long as the request that created them; the host cancels the rest.
  const timers = new Map();
  let nextTimer = 1;
  globalThis.setTimeout = (callback, delay = 0, ...args) => {
    if (typeof callback !== 'function') throw new TypeError('setTimeout: callback must be a function');
    const id = nextTimer++;
    timers.set(id, () => callback(...args));
    host.setTimer(id, Math.max(0, Number(delay) || 0));
    return id;
  };
  globalThis.clearTimeout = (id) => {
    if (timers.delete(id)) host.clearTimer(id);
  };
  const fireTimer = (id) => {
    const fn = timers.get(id);
    if (fn === undefined) return;
    timers.delete(id);
    fn();
  };
  const dropTimers = () => timers.clear();
  return { fireTimer, dropTimers };
}

function deepFreeze(value) {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}

class ResponseTooLarge extends Error {}

/**
 * Called by the worker once per isolate, after the function bundle has been evaluated.
 * Returns the dispatcher the worker calls per request.
 */
let bridges;

/** Called by the worker with its host callbacks, before the function module is evaluated. */
class BadResponse extends Error {}

// Intrinsics captured before any function code runs: the dispatcher's copy of the response must
// not depend on prototypes the function can replace (a patched `slice` could hand back a view
// over a resizable or detached buffer).
const ArrayBufferCtor = ArrayBuffer;
const Uint8ArrayCtor = Uint8Array;
const typedArraySet = Object.getPrototypeOf(Uint8Array.prototype).set;
const reflectApply = Reflect.apply;
const StringCtor = String;
const NumberCtor = Number;
const isArray = Array.isArray;
const freeze = Object.freeze;

/** A fresh, fixed-length ArrayBuffer holding exactly the bytes of `bytes`. */
function plainCopy(bytes) {
  const out = new ArrayBufferCtor(bytes.byteLength);
  reflectApply(typedArraySet, new Uint8ArrayCtor(out), [bytes]);
  return out;
}

/** Called by the worker with its host callbacks, before the function module is evaluated. */
globalThis.__palisade_install = function install(log, randomBytes, digest, setTimer, clearTimer, call, secret, kv, egress) {
  bridges = installBridges({ log, randomBytes, digest, setTimer, clearTimer });
  bridges.call = call;
  bridges.secret = secret;
  bridges.kv = kv;
  egressBridge = egress;
  // Installed before the function module runs, so a module that keeps a reference to `fetch`
  // keeps this one; whether it may reach anything is decided for each attempt by the gateway
  // (grants, policy, addresses), which records every attempt.
  globalThis.fetch = outboundFetch;
};

// Outbound requests: `fetch()` goes isolate → worker → gateway, where the egress guard makes it.
// Every call goes out, granted or not: the gateway decides and records each attempt.
let egressBridge;

function fetchFailed(message) {
  return new TypeError(`fetch failed: ${message}`);
}

async function outboundFetch(input, init) {
  if (egressBridge === undefined) throw fetchFailed('outbound requests are not available here');
  const request = input instanceof Request && init === undefined ? input : new Request(input, init);
  const method = request.method;
  const body = method === 'GET' || method === 'HEAD' ? null : plainCopy(bodyBytes(request));
  const headers = [];
  request.headers.forEach((value, key) => headers.push([key, value]));
  const id = nextCallId++;
  const pending = new Promise((resolve) => pendingCalls.set(id, resolve));
  egressBridge(id, method, request.url, headers, body);
  const answer = await pending;
  if (answer === null || typeof answer !== 'object' || typeof answer.error === 'string') {
    throw fetchFailed(answer && typeof answer.error === 'string' ? answer.error : 'refused');
  }
  const status = answer.status;
  const nullBody = method === 'HEAD' || status === 204 || status === 205 || status === 304;
  return new Response(nullBody ? null : answer.body, { status, headers: answer.headers });
}

// Secrets this isolate may keep between reads: `name → { value, version }`, filled only when the
// gateway said the value may be cached, and emptied whenever the worker's secret epoch (sent with
// every request) moved: a rotation or a policy reload reaches the next request of a warm isolate.
const secretMemo = new Map();
let secretEpoch = -1;
const secretBudget = { reads: 0, max: 1000 };
// Reads this request answered from `secretMemo`: `name → { version, count }`, returned with the
// result so that the worker reports them for the audit trail.
const memoReads = new Map();
const SECRET_NAME = /^[a-z0-9][a-z0-9_.-]{0,127}$/;
const StringCtor0 = String;

/** `env.secrets`: `await env.secrets.get(name)` → the value of a secret granted to this function. */
function secretsBinding(secret) {
  return freeze({
    async get(name) {
      const n = StringCtor0(name);
      if (++secretBudget.reads > secretBudget.max) throw new Error(`secrets: at most ${secretBudget.max} reads per request`);
      const hit = secretMemo.get(n);
      if (hit !== undefined) {
        const seen = memoReads.get(n);
        if (seen !== undefined && seen.version === hit.version) seen.count++;
        else memoReads.set(n, { version: hit.version, count: (seen === undefined ? 0 : seen.count) + 1 });
        return hit.value;
      }
      if (!SECRET_NAME.test(n)) throw new Error('secrets: invalid secret name');
      const id = nextCallId++;
      const pending = new Promise((resolve) => pendingCalls.set(id, resolve));
      secret(id, n);
      const answer = await pending;
      if (answer === null || typeof answer !== 'object' || typeof answer.value !== 'string') {
        throw new Error(`secrets: ${answer && typeof answer.error === 'string' ? answer.error : 'failed'}`);
      }
      if (answer.cache === true && answer.epoch === secretEpoch) secretMemo.set(n, { value: answer.value, version: answer.version });
      return answer.value;
    },
  });
}

const KV_MAX_KEY_BYTES = 512;
const KV_MAX_VALUE_BYTES = 1024 * 1024;
const KV_MAX_LIST = 1000;
const kvEncoder = new TextEncoder();
const kvDecoder = new TextDecoder();

function kvKey(key) {
  if (typeof key !== 'string') throw new TypeError('kv: a key must be a string');
  const bytes = kvEncoder.encode(key).byteLength;
  if (bytes === 0 || bytes > KV_MAX_KEY_BYTES) throw new RangeError(`kv: a key must be 1 to ${KV_MAX_KEY_BYTES} bytes`);
  return key;
}

/** `env.kv`: the function's own key-value namespace, through the gateway. */
function kvBinding(kv) {
  const send = async (op, key, value, prefix, limit, cursor) => {
    const id = nextCallId++;
    const pending = new Promise((resolve) => pendingCalls.set(id, resolve));
    kv(id, op, key, value, prefix, limit, cursor);
    const answer = await pending;
    if (answer === null || typeof answer !== 'object' || typeof answer.error === 'string') {
      throw new Error(`kv: ${answer && typeof answer.error === 'string' ? answer.error : 'failed'}`);
    }
    return answer;
  };
  return freeze({
    async get(key, options) {
      const type = typeof options === 'string' ? options : options && options.type;
      const answer = await send('get', kvKey(key), null, null, 0, null);
      if (answer.value === null || answer.value === undefined) return null;
      if (type === 'arrayBuffer') return answer.value;
      if (type === 'json') return JSON.parse(kvDecoder.decode(answer.value));
      return kvDecoder.decode(answer.value);
    },
    async put(key, value) {
      const k = kvKey(key);
      let bytes;
      if (typeof value === 'string') {
        // UTF-8 never has fewer bytes than UTF-16 units: refuse oversized text before encoding it.
        if (value.length > KV_MAX_VALUE_BYTES) throw new RangeError(`kv: a value must be at most ${KV_MAX_VALUE_BYTES} bytes`);
        bytes = kvEncoder.encode(value);
      } else if (value instanceof ArrayBufferCtor) bytes = new Uint8ArrayCtor(value);
      else if (ArrayBuffer.isView(value)) bytes = new Uint8ArrayCtor(value.buffer, value.byteOffset, value.byteLength);
      else throw new TypeError('kv: a value must be a string, an ArrayBuffer or a typed array');
      if (bytes.byteLength > KV_MAX_VALUE_BYTES) throw new RangeError(`kv: a value must be at most ${KV_MAX_VALUE_BYTES} bytes`);
      await send('put', k, plainCopy(bytes), null, 0, null);
    },
    async delete(key) {
      await send('delete', kvKey(key), null, null, 0, null);
    },
    async list(options = {}) {
      const prefix = options.prefix === undefined ? '' : StringCtor0(options.prefix);
      if (kvEncoder.encode(prefix).byteLength > KV_MAX_KEY_BYTES) throw new RangeError(`kv: a prefix must be at most ${KV_MAX_KEY_BYTES} bytes`);
      const limit = options.limit === undefined ? KV_MAX_LIST : Number(options.limit);
      if (!Number.isInteger(limit) || limit < 1 || limit > KV_MAX_LIST) throw new RangeError(`kv: limit must be 1 to ${KV_MAX_LIST}`);
      const cursor = options.cursor === undefined || options.cursor === null ? null : StringCtor0(options.cursor);
      const answer = await send('list', null, null, prefix, limit, cursor);
      const keys = freeze([...answer.keys]);
      return freeze(answer.cursor === null || answer.cursor === undefined ? { keys, list_complete: true } : { keys, cursor: answer.cursor, list_complete: false });
    },
  });
}

// Binding calls in flight: the host answers through `deliverCall(id, answer)`.
const pendingCalls = new Map();
let nextCallId = 1;
function deliverCall(id, answer) {
  const resolve = pendingCalls.get(id);
  if (resolve === undefined) return;
  pendingCalls.delete(id);
  resolve(answer);
}

/** A service binding: `env.NAME.fetch(request)` calls another function through the gateway. */
function serviceBinding(name, call) {
  return freeze({
    async fetch(input, init) {
      const request = input instanceof Request && init === undefined ? input : new Request(input, init);
      const method = request.method;
      const body = method === 'GET' || method === 'HEAD' ? null : plainCopy(bodyBytes(request));
      const headers = [];
      request.headers.forEach((value, key) => headers.push([key, value]));
      const id = nextCallId++;
      const pending = new Promise((resolve) => pendingCalls.set(id, resolve));
      call(id, name, method, request.url, headers, body);
      const answer = await pending;
      if (answer === null || typeof answer !== 'object' || typeof answer.error === 'string') {
        throw new Error(`binding ${name}: ${answer && typeof answer.error === 'string' ? answer.error : 'failed'}`);
      }
      const status = answer.status;
      const nullBody = status === 204 || status === 205 || status === 304;
      return new Response(nullBody ? null : answer.body, { status, headers: answer.headers });
    },
  });
}

globalThis.__palisade_boot = function boot(mod, bindingsJson, services, limits, grants) {
  const { fireTimer, dropTimers, call, secret, kv } = bridges;
  const handler = mod && (mod.default ?? mod);
  if (!handler || typeof handler.fetch !== 'function') {
    return { error: 'the module has no default export with a `fetch(request, env, ctx)` method' };
  }
  logBudget.maxLines = limits.maxLogLines;
  logBudget.maxBytes = limits.maxLogBytes;
  const values = JSON.parse(bindingsJson);
  for (const name of services) values[name] = serviceBinding(name, call);
  // `env.secrets` exists when any secret is granted; the grant of each name is checked outside.
  if (grants.secrets) values.secrets = secretsBinding(secret);
  if (grants.kv) values.kv = kvBinding(kv);
  secretBudget.max = limits.maxSecretReads;
  const env = deepFreeze(values);

  async function dispatch(input) {
    logBudget.lines = 0;
    logBudget.bytes = 0;
    secretBudget.reads = 0;
    memoReads.clear();
    if (input.secretEpoch !== secretEpoch) {
      secretMemo.clear();
      secretEpoch = input.secretEpoch;
    }
    // Calls of an earlier request that never got an answer are forgotten with it.
    pendingCalls.clear();
    const method = input.method;
    const request = new Request(input.url, {
      method,
      headers: input.headers,
      // A GET or HEAD never carries a body into the function (the Request constructor refuses it).
      body: input.body === null || method === 'GET' || method === 'HEAD' ? undefined : input.body,
    });
    const p = input.principal;
    const principal = p === null ? null : freeze({ type: p.type, id: p.id, issuer: p.issuer, roles: freeze(p.roles), mfa: p.mfa, authMethod: p.authMethod });
    const ctx = freeze({ requestId: input.requestId, principal });
    const response = await handler.fetch(request, env, ctx);
    if (!(response instanceof Response)) throw new TypeError('fetch() must return a Response');
    // Refuse oversized text before encoding it: UTF-8 never has fewer bytes than UTF-16 units.
    if (typeof response._bodyText === 'string' && response._bodyText.length > limits.maxResponseBytes) throw new ResponseTooLarge('response too large');
    const bytes = bodyBytes(response);
    if (!(bytes instanceof Uint8ArrayCtor)) throw new BadResponse('invalid body');
    if (bytes.byteLength > limits.maxResponseBytes) throw new ResponseTooLarge('response too large');
    const status = NumberCtor(response.status);
    const headers = [];
    let headerBytes = 0;
    response.headers.forEach((value, key) => {
      if (headers.length >= limits.maxHeaders) throw new BadResponse(`more than ${limits.maxHeaders} response headers`);
      const k = StringCtor(key);
      const v = StringCtor(value);
      headerBytes += k.length + v.length;
      if (headerBytes > limits.maxHeaderBytes) throw new BadResponse(`response headers larger than ${limits.maxHeaderBytes} bytes`);
      headers.push([k, v]);
    });
    if (!isArray(headers)) throw new BadResponse('invalid headers');
    return { status, headers, body: plainCopy(bytes) };
  }

  const takeReads = () => {
    const out = [];
    for (const [name, r] of memoReads) out.push([name, r.version, r.count]);
    memoReads.clear();
    return out;
  };
  const run = (input) =>
    dispatch(input).then(
      (response) => ({ ok: true, response, secretReads: takeReads() }),
      (error) => ({
        ok: false,
        kind: error instanceof ResponseTooLarge ? 'too-large' : error instanceof BadResponse ? 'bad-response' : 'threw',
        message: describeError(error),
        secretReads: takeReads(),
      }),
    );
  return { run, fireTimer, dropTimers, deliverCall };
};

function describeError(error) {
  try {
    return error instanceof Error ? `${StringCtor(error.name)}: ${StringCtor(error.message)}`.slice(0, 2000) : `non-error thrown: ${formatArg(error)}`.slice(0, 2000);
  } catch {
    return 'the function threw an unprintable value';
  }
}
