import { Headers, Request, Response } from 'whatwg-fetch';

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** The bytes of a whatwg-fetch body, whatever form it was constructed from. */
export function bodyBytes(body) {
  if (body._bodyArrayBuffer) return new Uint8Array(body._bodyArrayBuffer);
  if (typeof body._bodyText === 'string') return encoder.encode(body._bodyText);
  if (body._bodyInit == null) return new Uint8Array(0);
  return encoder.encode(String(body._bodyInit));
}

function consume(body) {
  if (body.bodyUsed) return Promise.reject(new TypeError('Body has already been consumed.'));
  body.bodyUsed = true;
  return undefined;
}

// whatwg-fetch decodes array buffers as latin1 and needs Blob for arrayBuffer() of text bodies;
// these replacements are UTF-8 correct and need no Blob.
for (const proto of [Request.prototype, Response.prototype]) {
  proto.arrayBuffer = function arrayBuffer() {
    const used = consume(this);
    if (used) return used;
    return Promise.resolve(bodyBytes(this).slice().buffer);
  };
  proto.text = function text() {
    const used = consume(this);
    if (used) return used;
    return Promise.resolve(decoder.decode(bodyBytes(this)));
  };
  proto.json = function json() {
    return this.text().then(JSON.parse);
  };
  proto.bytes = function bytes() {
    return this.arrayBuffer().then((b) => new Uint8Array(b));
  };
}

if (typeof Response.json !== 'function') {
  Response.json = function json(data, init = {}) {
    const headers = new Headers(init.headers);
    if (!headers.has('content-type')) headers.set('content-type', 'application/json');
    return new Response(JSON.stringify(data), { ...init, headers });
  };
}

globalThis.Headers = Headers;
globalThis.Request = Request;
globalThis.Response = Response;

export { Headers, Request, Response };
