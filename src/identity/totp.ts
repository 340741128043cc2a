import { createHash, randomBytes } from 'node:crypto';
import { Secret, TOTP } from 'otpauth';

const PERIOD = 30;

/** A new TOTP secret (160 bits, RFC 4226 section 4 recommends at least 128). */
export function createTotpSecret(): string {
  return new Secret({ size: 20 }).base32;
}

/** The otpauth:// URI an authenticator app scans. */
export function totpUri(secret: string, username: string, issuer: string): string {
  return new TOTP({ issuer, label: username, secret: Secret.fromBase32(secret), algorithm: 'SHA1', digits: 6, period: PERIOD }).toString();
}

/** The current code, for tests and for operators verifying an enrolment. */
export function currentTotp(secret: string, now: number): string {
  return new TOTP({ secret: Secret.fromBase32(secret), algorithm: 'SHA1', digits: 6, period: PERIOD }).generate({ timestamp: now });
}

/**
 * Checks a TOTP code (RFC 6238) within one step of drift. Returns the time step it matched, or
 * undefined. The caller must refuse a step at or below the last one accepted (replay).
 */
export function matchTotp(secret: string, code: string, now: number): number | undefined {
  if (!/^[0-9]{6}$/.test(code)) return undefined;
  const totp = new TOTP({ secret: Secret.fromBase32(secret), algorithm: 'SHA1', digits: 6, period: PERIOD });
  const delta = totp.validate({ token: code, timestamp: now, window: 1 });
  if (delta === null) return undefined;
  return totp.counter({ timestamp: now }) + delta;
}

/** Ten one-time recovery codes, `xxxx-xxxx-xxxx` (60 bits each), and their digests. */
export function createRecoveryCodes(): { codes: string[]; digests: string[] } {
  const codes = Array.from({ length: 10 }, () => {
    const raw = randomBytes(8).readBigUInt64BE() % 36n ** 12n;
    return raw.toString(36).padStart(12, '0').replace(/(.{4})(.{4})(.{4})/, '$1-$2-$3');
  });
  return { codes, digests: codes.map(recoveryCodeDigest) };
}

/** Digest of a recovery code as stored (codes are normalised: case and dashes ignored). */
export function recoveryCodeDigest(code: string): string {
  return createHash('sha256').update(code.toLowerCase().replace(/[^a-z0-9]/g, '')).digest('hex');
}
