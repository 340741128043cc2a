import { randomBytes } from 'node:crypto';
import { argon2id, argon2Verify } from 'hash-wasm';

// OWASP Password Storage Cheat Sheet: argon2id, m=19 MiB, t=2, p=1.
const PARAMS = { parallelism: 1, iterations: 2, memorySize: 19456, hashLength: 32 } as const;
const MIN_LENGTH = 12;
const MAX_LENGTH = 1024;

/**
 * Hashes a password with argon2id (PHC string format, random 16-byte salt).
 *
 * @example
 * ```ts
 * const hash = await hashPassword('correct horse battery staple');
 * ```
 */
export function hashPassword(password: string): Promise<string> {
  return argon2id({ password, salt: randomBytes(16), ...PARAMS, outputType: 'encoded' });
}

/** Verifies a password against an argon2id hash; false on any malformed input. */
export async function verifyPassword(password: string, hash: string): Promise<boolean> {
  if (password.length > MAX_LENGTH) return false;
  try {
    return await argon2Verify({ password, hash });
  } catch {
    return false;
  }
}

/** Why a new password is refused, or undefined when it is acceptable (NIST SP 800-63B 5.1.1). */
export function checkNewPassword(password: string, username: string): string | undefined {
  if (password.length < MIN_LENGTH) return `a password needs at least ${MIN_LENGTH} characters`;
  if (password.length > MAX_LENGTH) return `a password has at most ${MAX_LENGTH} characters`;
  if (password.toLowerCase().includes(username.toLowerCase())) return 'a password must not contain the username';
  return undefined;
}

let dummy: Promise<string> | undefined;

/**
 * A hash of a random password, computed once. Verifying against it for unknown users makes a
 * failed login take the same time whether or not the user exists.
 */
export function dummyPasswordHash(): Promise<string> {
  dummy ??= hashPassword(randomBytes(24).toString('base64url'));
  return dummy;
}
