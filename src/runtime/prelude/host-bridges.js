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

function installBridges(host) {
  const log = (level) => (...args) => {
    let message = args.map(formatArg).join(' ');
    if (message.length > MAX_LOG_CHARS) message = `${message.slice(0, MAX_LOG_CHARS)}…`;
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
globalThis.__palisade_install = function install(log, randomBytes, digest, setTimer, clearTimer) {
  bridges = installBridges({ log, randomBytes, digest, setTimer, clearTimer });
};

globalThis.__palisade_boot = function boot(mod, bindingsJson, maxResponseBytes) {
  const { fireTimer, dropTimers } = bridges;
  const handler = mod && (mod.default ?? mod);
  if (!handler || typeof handler.fetch !== 'function') {
    return { error: 'the module has no default export with a `fetch(request, env, ctx)` method' };
  }
  const env = deepFreeze(JSON.parse(bindingsJson));

  async function dispatch(input) {
    const request = new Request(input.url, {
      method: input.method,
      headers: input.headers,
      body: input.body === null ? undefined : input.body,
    });
    const ctx = Object.freeze({ requestId: input.requestId });
    const response = await handler.fetch(request, env, ctx);
    if (!(response instanceof Response)) throw new TypeError('fetch() must return a Response');
    const bytes = bodyBytes(response);
    if (bytes.byteLength > maxResponseBytes) throw new ResponseTooLarge('response too large');
    const headers = [];
    response.headers.forEach((value, key) => headers.push([key, value]));
    return { status: response.status, headers, body: bytes.slice().buffer };
  }

  const run = (input) =>
    dispatch(input).then(
      (response) => ({ ok: true, response }),
      (error) => ({
        ok: false,
        kind: error instanceof ResponseTooLarge ? 'too-large' : 'threw',
        message: error instanceof Error ? `${error.name}: ${error.message}` : `non-error thrown: ${formatArg(error)}`,
      }),
    );
  return { run, fireTimer, dropTimers };
};
