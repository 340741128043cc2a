import { randomBytes } from 'node:crypto';
import { argon2id } from 'hash-wasm';
import { constantTimeEqual } from '../kernel/index.js';

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

const PHC = /^\$argon2id\$v=19\$m=(\d+),t=(\d+),p=(\d+)\$([A-Za-z0-9+/]+)\$([A-Za-z0-9+/]+)$/;

/**
 * Verifies a password against an argon2id PHC string by recomputing the hash with its salt and
 * parameters and comparing in constant time. False on any malformed input.
 */
export async function verifyPassword(password: string, hash: string): Promise<boolean> {
  if (password.length > MAX_LENGTH) return false;
  const m = PHC.exec(hash);
  if (m === null) return false;
  const [, memorySize, iterations, parallelism, salt, expected] = m as unknown as [string, string, string, string, string, string];
  try {
    const actual = await argon2id({ password, salt: Buffer.from(salt, 'base64'), memorySize: Number(memorySize), iterations: Number(iterations), parallelism: Number(parallelism), hashLength: Buffer.from(expected, 'base64').length, outputType: 'binary' });
    return constantTimeEqual(actual, Buffer.from(expected, 'base64'));
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
