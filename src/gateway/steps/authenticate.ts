import type { TLSSocket } from 'node:tls';
import { PalisadeError, type ClientCertificate } from '../../kernel/index.js';
import { Denial } from '../denial.js';
import type { RequestContext } from '../request-context.js';

/**
 * Step 3: establishes the principal. Public routes skip it; a private route without an accepted
 * proof answers 401 with a `www-authenticate` challenge. The detailed reason goes to the operator
 * log and audit, never to the client.
 */
export async function authenticate(ctx: RequestContext): Promise<void> {
  const route = ctx.route;
  if (route === undefined) throw new PalisadeError('PAL_INTERNAL', 'authenticate ran before resolveRoute');
  if (route.public) {
    ctx.granted = 'public-route';
    return;
  }
  const result = await ctx.deps.authenticator.authenticate({ headers: ctx.req.headers, route, clientIp: ctx.clientIp, clientCertificate: () => readClientCertificate(ctx.req.socket as TLSSocket) });
  if (!result.ok) {
    throw new Denial('PAL_GATEWAY_UNAUTHENTICATED', result.reason === 'no-credentials' ? 'no-credentials' : 'invalid-credentials', 'authentication required', {
      headers: [['www-authenticate', result.challenge]],
      authFailure: result.reason,
    });
  }
  ctx.principal = result.principal;
}

/** The peer certificate of a TLS connection, if the client sent one. */
export function readClientCertificate(socket: TLSSocket): ClientCertificate | undefined {
  if (typeof socket.getPeerCertificate !== 'function') return undefined;
  const cert = socket.getPeerCertificate();
  if (cert === null || typeof cert !== 'object' || Object.keys(cert).length === 0) return undefined;
  const sanUris = (cert.subjectaltname ?? '')
    .split(', ')
    .filter((s) => s.startsWith('URI:'))
    .map((s) => s.slice(4));
  const cn = cert.subject?.CN;
  // The issuer name in certificate order, `C=DE,O=Example,CN=Client CA`: the key of revocations by issuer and serial.
  const issuer = Object.entries(cert.issuer ?? {})
    .map(([k, v]) => `${k}=${Array.isArray(v) ? v.join('+') : String(v)}`)
    .join(',');
  return { authorized: socket.authorized, sanUris, fingerprint256: cert.fingerprint256, issuer, serialNumber: String(cert.serialNumber ?? '').toUpperCase(), ...(typeof cn === 'string' ? { subjectCommonName: cn } : {}) };
}
