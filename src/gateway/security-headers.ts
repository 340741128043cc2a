/** Headers Palisade sets on every response, overriding a function's own values. */
export const securityHeaders: ReadonlyArray<readonly [string, string]> = Object.freeze([
  ['x-content-type-options', 'nosniff'],
  ['x-frame-options', 'DENY'],
  ['referrer-policy', 'no-referrer'],
  ['cross-origin-opener-policy', 'same-origin'],
]);

/** HSTS, only meaningful over TLS (RFC 6797 section 7.2: ignored over plain HTTP). */
export const hstsHeader: readonly [string, string] = ['strict-transport-security', 'max-age=63072000; includeSubDomains'];

// Never relayed from a function: hop-by-hop (RFC 9110 section 7.6.1), framing we compute
// ourselves, and banners.
const DROPPED_RESPONSE_HEADERS = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'transfer-encoding',
  'upgrade',
  'te',
  'trailer',
  'content-length',
  'server',
  'x-powered-by',
  ...securityHeaders.map(([k]) => k),
  hstsHeader[0],
]);

/** True when a function may set this response header. */
export function isRelayableResponseHeader(name: string): boolean {
  return !DROPPED_RESPONSE_HEADERS.has(name.toLowerCase());
}

const DROPPED_REQUEST_HEADERS = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade', 'te', 'trailer', 'proxy-authorization', 'x-request-id']);

/** True when a request header is passed on to the function. */
export function isRelayableRequestHeader(name: string): boolean {
  return !DROPPED_REQUEST_HEADERS.has(name);
}
