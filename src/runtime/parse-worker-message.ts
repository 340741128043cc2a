/**
 * Decoding of worker → gateway messages (gateway side only: workers never load ajv).
 */
import { Ajv, type ValidateFunction } from 'ajv';
import { once } from '../kernel/index.js';
import {
  BODY_CHUNK_BYTES,
  EGRESS_METHODS,
  invokeFailures,
  MAX_BATCH_MESSAGES,
  MAX_BINDING_BODY_BYTES,
  MAX_EGRESS_URL_CHARS,
  MAX_KV_CURSOR_CHARS,
  MAX_KV_KEY_BYTES,
  MAX_KV_LIST_LIMIT,
  MAX_KV_VALUE_BYTES,
  MAX_LOG_MESSAGE_CHARS,
  MAX_RESPONSE_HEADER_BYTES,
  MAX_RESPONSE_HEADERS,
  MAX_SECRET_READS_PER_REQUEST,
  type WorkerToGateway,
} from './protocol.js';

const NAME = { type: 'string', pattern: '^[A-Za-z][A-Za-z0-9_-]{0,62}$' } as const;
const ID = { type: 'integer', minimum: 1, maximum: Number.MAX_SAFE_INTEGER } as const;
const CPU = { type: 'number', minimum: 0, maximum: 3_600_000 } as const;
const HEADER_LIST = {
  type: 'array',
  maxItems: MAX_RESPONSE_HEADERS,
  items: { type: 'array', minItems: 2, maxItems: 2, items: { type: 'string', maxLength: MAX_RESPONSE_HEADER_BYTES } },
} as const;

// The vault's secret name format; `maxLength` first so the pattern never runs on a long string.
const SECRET_NAME = { type: 'string', maxLength: 128, pattern: '^[a-z0-9][a-z0-9_.-]{0,127}$' } as const;
// A KV key: 1 to 512 UTF-8 bytes (a UTF-16 unit is at most 3 bytes; the exact byte count is the `utf8Bytes` keyword).
const KV_KEY = { type: 'string', minLength: 1, maxLength: MAX_KV_KEY_BYTES, utf8Bytes: MAX_KV_KEY_BYTES } as const;
const KV_PREFIX = { type: 'string', maxLength: MAX_KV_KEY_BYTES, utf8Bytes: MAX_KV_KEY_BYTES } as const;

const ajv = new Ajv({ strict: true, allowUnionTypes: true, allErrors: false });
// Binary fields: a real Uint8Array (what structured clone produces for Buffers and typed arrays)
// no longer than the schema's bound. `typeof` alone would accept any object.
ajv.addKeyword({
  keyword: 'bytes',
  schemaType: 'number',
  validate: (max: number, data: unknown) => data instanceof Uint8Array && data.byteLength <= max,
  errors: false,
});

ajv.addKeyword({
  keyword: 'utf8Bytes',
  schemaType: 'number',
  validate: (max: number, data: unknown) => typeof data === 'string' && Buffer.byteLength(data, 'utf8') <= max,
  errors: false,
});

const workerMessageSchema = {
  oneOf: [
    {
      type: 'object',
      additionalProperties: false,
      required: ['t', 'coldStartMs'],
      properties: {
        t: { const: 'ready' },
        coldStartMs: { type: 'object', maxProperties: 10_000, propertyNames: NAME, additionalProperties: CPU },
      },
    },
    {
      type: 'object',
      additionalProperties: false,
      required: ['t', 'fn', 'message'],
      properties: { t: { const: 'load-failed' }, fn: NAME, message: { type: 'string', maxLength: 4000 } },
    },
    {
      type: 'object',
      additionalProperties: false,
      required: ['t', 'id', 'ok', 'status', 'headers', 'size', 'body', 'cpuMs'],
      properties: {
        t: { const: 'result' },
        id: ID,
        ok: { const: true },
        status: { type: 'integer', minimum: 200, maximum: 599 },
        headers: HEADER_LIST,
        size: { type: 'integer', minimum: 0, maximum: 2 ** 31 },
        body: { bytes: BODY_CHUNK_BYTES },
        cpuMs: CPU,
        coldStartMs: CPU,
      },
    },
    {
      type: 'object',
      additionalProperties: false,
      required: ['t', 'id', 'ok', 'failure', 'detail', 'cpuMs'],
      properties: {
        t: { const: 'result' },
        id: ID,
        ok: { const: false },
        failure: { enum: invokeFailures },
        detail: { type: 'string', maxLength: 4000 },
        cpuMs: CPU,
      },
    },
    {
      type: 'object',
      additionalProperties: false,
      required: ['t', 'id', 'data'],
      properties: { t: { const: 'chunk' }, id: ID, data: { bytes: BODY_CHUNK_BYTES } },
    },
    {
      type: 'object',
      additionalProperties: false,
      required: ['t', 'id', 'level', 'message'],
      properties: { t: { const: 'log' }, id: ID, level: { enum: ['debug', 'info', 'warn', 'error'] }, message: { type: 'string', maxLength: MAX_LOG_MESSAGE_CHARS + 1 } },
    },
    {
      type: 'object',
      additionalProperties: false,
      required: ['t', 'id', 'callId', 'binding', 'op', 'payload'],
      properties: {
        t: { const: 'call' },
        id: ID,
        callId: ID,
        binding: { type: 'string', pattern: '^[A-Z][A-Z0-9_]{0,62}$' },
        op: { const: 'fetch' },
        payload: {
          type: 'object',
          additionalProperties: false,
          required: ['method', 'url', 'headers', 'body'],
          properties: {
            method: { enum: ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'] },
            url: { type: 'string', maxLength: 8192 },
            headers: HEADER_LIST,
            body: { oneOf: [{ type: 'null' }, { bytes: MAX_BINDING_BODY_BYTES }] },
          },
        },
      },
    },
    {
      type: 'object',
      additionalProperties: false,
      required: ['t', 'id', 'callId', 'payload'],
      properties: {
        t: { const: 'egress' },
        id: ID,
        callId: ID,
        payload: {
          type: 'object',
          additionalProperties: false,
          required: ['method', 'url', 'headers', 'body'],
          properties: {
            method: { enum: EGRESS_METHODS },
            url: { type: 'string', minLength: 1, maxLength: MAX_EGRESS_URL_CHARS },
            headers: HEADER_LIST,
            body: { oneOf: [{ type: 'null' }, { bytes: MAX_BINDING_BODY_BYTES }] },
          },
        },
      },
    },
    {
      type: 'object',
      additionalProperties: false,
      required: ['t', 'id', 'callId', 'name'],
      properties: { t: { const: 'secret' }, id: ID, callId: ID, name: SECRET_NAME },
    },
    {
      type: 'object',
      additionalProperties: false,
      required: ['t', 'id', 'reads'],
      properties: {
        t: { const: 'secret-reads' },
        id: ID,
        reads: {
          type: 'array',
          minItems: 1,
          maxItems: 64,
          items: {
            type: 'array',
            minItems: 3,
            maxItems: 3,
            items: [SECRET_NAME, { type: 'integer', minimum: 0, maximum: Number.MAX_SAFE_INTEGER }, { type: 'integer', minimum: 1, maximum: MAX_SECRET_READS_PER_REQUEST }],
          },
        },
      },
    },
    {
      type: 'object',
      additionalProperties: false,
      required: ['t', 'id', 'callId', 'op', 'key'],
      properties: { t: { const: 'kv' }, id: ID, callId: ID, op: { const: 'get' }, key: KV_KEY },
    },
    {
      type: 'object',
      additionalProperties: false,
      required: ['t', 'id', 'callId', 'op', 'key', 'value'],
      properties: { t: { const: 'kv' }, id: ID, callId: ID, op: { const: 'put' }, key: KV_KEY, value: { bytes: MAX_KV_VALUE_BYTES } },
    },
    {
      type: 'object',
      additionalProperties: false,
      required: ['t', 'id', 'callId', 'op', 'key'],
      properties: { t: { const: 'kv' }, id: ID, callId: ID, op: { const: 'delete' }, key: KV_KEY },
    },
    {
      type: 'object',
      additionalProperties: false,
      required: ['t', 'id', 'callId', 'op', 'prefix', 'limit', 'cursor'],
      properties: {
        t: { const: 'kv' },
        id: ID,
        callId: ID,
        op: { const: 'list' },
        prefix: KV_PREFIX,
        limit: { type: 'integer', minimum: 1, maximum: MAX_KV_LIST_LIMIT },
        cursor: { oneOf: [{ type: 'null' }, { type: 'string', minLength: 1, maxLength: MAX_KV_CURSOR_CHARS }] },
      },
    },
  ],
} as const;

// One validator per message type (`t`, and `ok` for results): `oneOf` would run every branch on
// every message, and this is on the path of every request.
// Compiled on the first message, not at import: a CLI command that never talks to a worker does not pay for it.
const validators = once(() => {
  const byKey = new Map<string, ValidateFunction>();
  for (const branch of workerMessageSchema.oneOf) {
    const props = branch.properties as { t: { const: string }; ok?: { const: boolean }; op?: { const: string } };
    const key = props.t.const + (props.ok !== undefined ? `:${String(props.ok.const)}` : props.op !== undefined && props.t.const === 'kv' ? `:${props.op.const}` : '');
    byKey.set(key, ajv.compile(branch));
  }
  return byKey;
});

/**
 * Decodes a message from a worker. Returns `undefined` for anything that is not exactly one of
 * the {@link WorkerToGateway} shapes; the caller treats that as a fault of the worker.
 *
 * @example
 * ```ts
 * const message = parseWorkerMessage(raw);
 * if (message === undefined) killWorker('malformed message');
 * ```
 */
export function parseWorkerMessage(raw: unknown): WorkerToGateway | undefined {
  // INVARIANT: only plain objects are read; a prototype other than Object's could carry getters.
  if (raw === null || typeof raw !== 'object' || Object.getPrototypeOf(raw) !== Object.prototype) return undefined;
  const { t, ok, op } = raw as { t?: unknown; ok?: unknown; op?: unknown };
  if (typeof t !== 'string') return undefined;
  const validate = validators().get(t === 'result' ? `${t}:${String(ok)}` : t === 'kv' ? `${t}:${String(op)}` : t);
  if (validate === undefined) return undefined;
  try {
    return validate(raw) ? (raw as WorkerToGateway) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Decodes a frame from a worker: one message, or a batch of them (`{ t: 'batch', m: [...] }`).
 * Returns the messages in order, or `undefined` when the frame or any message in it is malformed
 * (then none of them is acted on). A batch is a plain array of 1 to {@link MAX_BATCH_MESSAGES}
 * messages, none of them a batch.
 *
 * @example
 * ```ts
 * const messages = parseWorkerFrame(raw);
 * if (messages === undefined) killWorker('malformed message');
 * else for (const m of messages) handle(m);
 * ```
 */
export function parseWorkerFrame(raw: unknown): WorkerToGateway[] | undefined {
  if (raw === null || typeof raw !== 'object' || Object.getPrototypeOf(raw) !== Object.prototype) return undefined;
  if ((raw as { t?: unknown }).t !== 'batch') {
    const one = parseWorkerMessage(raw);
    return one === undefined ? undefined : [one];
  }
  const keys = Object.keys(raw);
  const m = (raw as { m?: unknown }).m;
  if (keys.length !== 2 || !Array.isArray(m) || Object.getPrototypeOf(m) !== Array.prototype || m.length === 0 || m.length > MAX_BATCH_MESSAGES) return undefined;
  const out: WorkerToGateway[] = [];
  for (let i = 0; i < m.length; i++) {
    // parseWorkerMessage has no validator for `batch`: a nested batch is malformed.
    const message = parseWorkerMessage(m[i]);
    if (message === undefined) return undefined;
    out.push(message);
  }
  return out;
}
