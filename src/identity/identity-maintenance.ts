import { readFileSync } from 'node:fs';
import { webcrypto } from 'node:crypto';
import * as x509 from '@peculiar/x509';
import { PalisadeError, type Clock } from '../kernel/index.js';
import type { StateStore } from '../store/index.js';
import { certificateSerialKey } from './revocation-list.js';

/** How long an idle login counter is kept. */
const IDLE_MS = 86_400_000;

/**
 * Deletes expired revocations and idle login counters. Runs on a timer, never on the request path
 * (a `DELETE` there held the event loop for up to the store's busy timeout).
 *
 * @example
 * ```ts
 * setInterval(() => void pruneIdentityState(store, clock.now()), 60_000).unref();
 * ```
 */
export async function pruneIdentityState(store: Pick<StateStore, 'revocations' | 'users' | 'loginThrottle'>, now: number): Promise<void> {
  await store.revocations.prune(now);
  await store.users.pruneLoginFailures(now - IDLE_MS);
  await store.loginThrottle.prune(now - IDLE_MS);
}

/**
 * Reads CRL files (PEM or DER), verifies each against a CA of the client CA bundle, and returns
 * the revoked certificates as `issuer|serial` keys. Throws `PAL_IDENTITY_CRL_INVALID` when a file
 * is unreadable, not a CRL, or signed by no configured CA: a CRL nobody vouches for is refused.
 *
 * @example
 * ```ts
 * const revoked = await loadCrlSerials('/srv/clients-ca.pem', ['/srv/clients.crl'], clock);
 * ```
 */
export async function loadCrlSerials(caFile: string, crlFiles: readonly string[], clock: Clock): Promise<ReadonlySet<string>> {
  const keys = new Set<string>();
  if (crlFiles.length === 0) return keys;
  x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);
  const cas = readPems(readFileSync(caFile, 'utf8'), 'CERTIFICATE').map((der) => new x509.X509Certificate(der));
  for (const file of crlFiles) {
    let crl: x509.X509Crl;
    try {
      const raw = readFileSync(file);
      const text = raw.toString('latin1');
      crl = new x509.X509Crl(text.includes('-----BEGIN X509 CRL-----') ? (readPems(text, 'X509 CRL')[0] as Uint8Array) : new Uint8Array(raw));
    } catch (error) {
      throw new PalisadeError('PAL_IDENTITY_CRL_INVALID', `cannot read the crl \`${file}\``, { cause: error, expose: true });
    }
    let signer: x509.X509Certificate | undefined;
    for (const ca of cas) {
      if (ca.subject !== crl.issuer) continue;
      if (await crl.verify({ publicKey: ca }).catch(() => false)) signer = ca;
    }
    if (signer === undefined) throw new PalisadeError('PAL_IDENTITY_CRL_INVALID', `the crl \`${file}\` is not signed by a ca of \`identity.mtls.ca\``, { expose: true });
    const issuer = nameKey(crl.issuerName);
    for (const entry of crl.entries) {
      if (entry.revocationDate.getTime() <= clock.now()) keys.add(certificateSerialKey(issuer, entry.serialNumber));
    }
  }
  return keys;
}

/** A distinguished name as the gateway reads it from a peer certificate: `C=DE,O=Example,CN=Client CA`. */
function nameKey(name: x509.Name): string {
  return name
    .toJSON()
    .flatMap((rdn) => Object.entries(rdn).map(([type, values]) => `${type}=${values.join('+')}`))
    .join(',');
}

function readPems(text: string, label: string): Uint8Array[] {
  const re = new RegExp(`-----BEGIN ${label}-----([A-Za-z0-9+/=\\s]+)-----END ${label}-----`, 'g');
  return [...text.matchAll(re)].map((m) => new Uint8Array(Buffer.from((m[1] as string).replace(/\s+/g, ''), 'base64')));
}
