import { validateHeaderName, validateHeaderValue, type IncomingMessage, type OutgoingHttpHeaders } from 'node:http';
import { canonicalHost, type EgressTarget } from './egress-target.js';
import { EgressError, type EgressRequest } from './egress-types.js';

/** Headers and methods of outbound requests: what the guard refuses, drops and sets. */

// RFC 9110 section 7.6.1: meaningful for one connection only; never forwarded.
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'proxy-authenticate', 'proxy-authorization', 'te', 'trailer', 'transfer-encoding', 'upgrade']);
// Set by the guard itself from the target and the body.
const GUARD_SET = new Set(['host', 'content-length', 'expect']);
// Credentials that must not follow a redirect to another origin (fetch spec, 4.4 step 13).
export const CROSS_ORIGIN_STRIPPED = new Set(['authorization', 'cookie', 'proxy-authorization']);
// Dropped with the body when a redirect turns the request into a GET (fetch spec, 4.4 step 12).
export const BODY_HEADERS = new Set(['content-encoding', 'content-language', 'content-location', 'content-type']);
export const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);
const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
const FORBIDDEN_METHODS = new Set(['CONNECT', 'TRACE', 'TRACK']);
const NORMALISED_METHODS = new Set(['DELETE', 'GET', 'HEAD', 'OPTIONS', 'POST', 'PUT', 'PATCH']);

/** Header pairs, names lowercase. */
export type HeaderList = Array<readonly [string, string]>;

/** Validates a method token; refuses `CONNECT`, `TRACE`, `TRACK`; uppercases the standard methods. */
export function checkMethod(raw: string): string {
  if (raw.length > 32 || !TOKEN.test(raw)) throw new EgressError('bad-request', 'egress method is not a valid token');
  const upper = raw.toUpperCase();
  // CONNECT would turn the guard into a tunnel; TRACE reflects credentials (cross-site tracing).
  if (FORBIDDEN_METHODS.has(upper)) throw new EgressError('bad-request', `egress method \`${upper}\` is not allowed`);
  return NORMALISED_METHODS.has(upper) ? upper : raw;
}

function hostHeaderOf(target: EgressTarget): string {
  const host = target.literal === 6 ? `[${target.host}]` : target.host;
  const defaultPort = target.scheme === 'https' ? 443 : 80;
  return target.port === defaultPort ? host : `${host}:${target.port}`;
}

/** Lowercases, validates and filters the function's headers; a `Host` naming another host is refused. */
export function prepareHeaders(headers: EgressRequest['headers'], target: EgressTarget): HeaderList {
  const out: HeaderList = [];
  const connectionNamed = new Set<string>();
  for (const [rawName, value] of headers) {
    try {
      validateHeaderName(rawName);
      validateHeaderValue(rawName, value);
    } catch (cause) {
      throw new EgressError('bad-request', 'egress request has an invalid header name or value', { cause });
    }
    const name = rawName.toLowerCase();
    if (name === 'connection') for (const token of value.split(',')) connectionNamed.add(token.trim().toLowerCase());
    if (name === 'host') {
      // Host confusion: a Host header naming another site than the one checked and connected to.
      let same = false;
      try {
        const parsed = new URL(`${target.scheme}://${value}/`);
        const port = parsed.port === '' ? (target.scheme === 'https' ? 443 : 80) : Number(parsed.port);
        same = canonicalHost(parsed.hostname) === target.host && port === target.port && parsed.pathname === '/' && parsed.username === '';
      } catch {
        same = false;
      }
      if (!same) throw new EgressError('bad-request', 'egress `host` header must name the url host');
      continue;
    }
    out.push([name, value]);
  }
  return out.filter(([name]) => !HOP_BY_HOP.has(name) && !GUARD_SET.has(name) && !connectionNamed.has(name));
}

/** Node's outgoing header object: the guard's `Host`, the kept headers, and `content-length` for a body. */
export function toOutgoing(headers: HeaderList, target: EgressTarget, body: Uint8Array | null): OutgoingHttpHeaders {
  const out: Record<string, string | string[]> = { host: hostHeaderOf(target) };
  for (const [name, value] of headers) {
    const prior = out[name];
    out[name] = prior === undefined ? value : Array.isArray(prior) ? [...prior, value] : [prior, value];
  }
  if (body !== null) out['content-length'] = String(body.byteLength);
  return out;
}

/** Response headers in order, hop-by-hop ones (and those `Connection` names) dropped. */
export function responseHeaders(res: IncomingMessage): HeaderList {
  const raw = res.rawHeaders;
  const connectionNamed = new Set<string>();
  const pairs: HeaderList = [];
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = (raw[i] ?? '').toLowerCase();
    const value = raw[i + 1] ?? '';
    if (name === 'connection') for (const token of value.split(',')) connectionNamed.add(token.trim().toLowerCase());
    pairs.push([name, value]);
  }
  return pairs.filter(([name]) => !HOP_BY_HOP.has(name) && !connectionNamed.has(name));
}

