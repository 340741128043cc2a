import { Denial } from '../denial.js';
import type { RequestContext } from '../request-context.js';

// RFC 9110 section 7.2 / RFC 3986 section 3.2.2: reg-name or bracketed IPv6, optional port.
// No userinfo (`@`), no path, no spaces: `Host: 127.0.0.1:P@evil.example` is refused.
const HOST = /^(?:[A-Za-z0-9-]{1,63}\.)*[A-Za-z0-9-]{1,63}\.?(?::([0-9]{1,5}))?$|^\[[0-9A-Fa-f:.]{2,45}\](?::([0-9]{1,5}))?$/;

/**
 * Refuses requests whose framing or target authority is ambiguous, before anything reads them
 * (request smuggling, host confusion). HTTP/1.1 needs exactly one valid `Host` (RFC 9112
 * section 3.2: 400 otherwise); `Transfer-Encoding` must be exactly `chunked` (empty: 400; another
 * coding: 501, RFC 9112 section 6.1); `GET`/`HEAD` carry no body (400: a client cannot make a
 * function throw on a body it cannot take).
 */
export function checkHttpFraming(ctx: RequestContext): void {
  const raw = ctx.req.rawHeaders;
  let hosts = 0;
  let host: string | undefined;
  let transferEncodings = 0;
  let transferEncoding = '';
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = (raw[i] as string).toLowerCase();
    if (name === 'host') {
      hosts++;
      host = raw[i + 1] as string;
    } else if (name === 'transfer-encoding') {
      transferEncodings++;
      transferEncoding = transferEncodings === 1 ? (raw[i + 1] as string) : `${transferEncoding},${raw[i + 1] as string}`;
    }
  }
  if (hosts > 1) throw badHost('more than one `host` header');
  if (host === undefined) {
    if (ctx.req.httpVersion !== '1.0') throw badHost('the `host` header is missing');
  } else {
    const m = HOST.exec(host);
    const port = m?.[1] ?? m?.[2];
    if (m === null || (port !== undefined && Number(port) > 65535)) throw badHost('the `host` header is not a valid host and port');
  }
  if (transferEncodings > 0) {
    const codings = transferEncoding.split(',').map((c) => c.trim().toLowerCase());
    if (codings.some((c) => c === '')) throw new Denial('PAL_GATEWAY_BAD_REQUEST', 'bad-framing', 'the `transfer-encoding` header is empty or has an empty coding');
    if (codings.length !== 1 || codings[0] !== 'chunked') throw new Denial('PAL_GATEWAY_NOT_IMPLEMENTED', 'bad-framing', 'only the `chunked` transfer coding is supported');
  }
  const method = ctx.req.method;
  if ((method === 'GET' || method === 'HEAD') && (transferEncodings > 0 || Number(ctx.req.headers['content-length'] ?? '0') > 0)) {
    throw new Denial('PAL_GATEWAY_BAD_REQUEST', 'body-not-allowed', `a \`${method}\` request carries no body`);
  }
}

function badHost(message: string): Denial {
  return new Denial('PAL_GATEWAY_BAD_REQUEST', 'bad-host', message);
}
