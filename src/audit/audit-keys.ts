import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, randomBytes, type KeyObject } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync, openSync, fsyncSync, closeSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { Ajv } from 'ajv';
import { PalisadeError, once } from '../kernel/index.js';

/** One verification key in the exported key file. */
export interface AuditVerificationKey {
  readonly keyId: string;
  /** Raw 32-byte Ed25519 public key. */
  readonly publicKey: Buffer;
  readonly createdAt: number;
  /** Set once retired: the largest tree size this key may sign; later checkpoints by it are invalid. */
  readonly retiredAfter?: number;
}

/** The exported verification material of one audit log: `.palisade/audit.pub`. */
export interface AuditKeyFile {
  readonly instance: string;
  /** The checkpoint interval in events: a verifier refuses a longer unsigned tail. */
  readonly checkpointEvery: number;
  readonly keys: readonly AuditVerificationKey[];
}

/** The signing side: the active private key, never exported. */
export interface AuditSigningKey {
  readonly instance: string;
  readonly keyId: string;
  readonly privateKey: KeyObject;
}

/** File name of the exported public key file under the state directory. */
export const AUDIT_PUBLIC_KEY_FILE = 'audit.pub';
const KEY_DIR = 'audit-keys';
const FORMAT = 'palisade-audit-keys/1';

const keyFileSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['format', 'instance', 'checkpointEvery', 'keys'],
  properties: {
    format: { const: FORMAT },
    instance: { type: 'string', pattern: '^[A-Za-z0-9_-]{1,64}$' },
    checkpointEvery: { type: 'integer', minimum: 1, maximum: 1_000_000 },
    keys: {
      type: 'array',
      minItems: 1,
      maxItems: 1000,
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['keyId', 'publicKey', 'createdAt'],
        properties: {
          keyId: { type: 'string', pattern: '^[0-9a-f]{16}$' },
          publicKey: { type: 'string', pattern: '^[A-Za-z0-9_-]{43}$' },
          createdAt: { type: 'integer', minimum: 0 },
          retiredAfter: { type: 'integer', minimum: 0 },
        },
      },
    },
  },
} as const;
const validateKeyFile = once(() => new Ajv({ allErrors: false, strict: true }).compile(keyFileSchema));

interface RawKeyFile {
  format: string;
  instance: string;
  checkpointEvery: number;
  keys: { keyId: string; publicKey: string; createdAt: number; retiredAfter?: number }[];
}

/** The key id: the first 16 hex digits of SHA-256 over the raw public key. */
export function computeKeyId(publicKeyRaw: Uint8Array): string {
  return createHash('sha256').update(publicKeyRaw).digest('hex').slice(0, 16);
}

function rawPublicKey(key: KeyObject): Buffer {
  const jwk = key.export({ format: 'jwk' });
  return Buffer.from(String(jwk.x), 'base64url');
}

/**
 * Reads and validates an exported key file. The verifier's only source of keys: never the
 * audited database, which an attacker who can write it could fill with keys of their own.
 *
 * @example
 * ```ts
 * const keys = loadAuditKeyFile('.palisade/audit.pub');
 * ```
 */
export function loadAuditKeyFile(path: string): AuditKeyFile {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(path, 'utf8'));
  } catch (error) {
    throw new PalisadeError('PAL_AUDIT_KEYS_INVALID', `cannot read the audit key file \`${path}\``, { cause: error, expose: true });
  }
  if (!validateKeyFile()(parsed)) throw new PalisadeError('PAL_AUDIT_KEYS_INVALID', `the audit key file \`${path}\` is not a ${FORMAT} document (${validateKeyFile().errors?.[0]?.instancePath ?? ''} ${validateKeyFile().errors?.[0]?.message ?? ''})`, { expose: true });
  const raw = parsed as RawKeyFile;
  const keys = raw.keys.map((k) => {
    const publicKey = Buffer.from(k.publicKey, 'base64url');
    if (computeKeyId(publicKey) !== k.keyId) throw new PalisadeError('PAL_AUDIT_KEYS_INVALID', `key \`${k.keyId}\` in \`${path}\` does not match its public key`, { expose: true });
    return { keyId: k.keyId, publicKey, createdAt: k.createdAt, ...(k.retiredAfter === undefined ? {} : { retiredAfter: k.retiredAfter }) };
  });
  return { instance: raw.instance, checkpointEvery: raw.checkpointEvery, keys };
}

function writeDurably(path: string, text: string, mode: number): void {
  const tmp = `${path}.tmp-${randomBytes(4).toString('hex')}`;
  writeFileSync(tmp, text, { mode });
  const fd = openSync(tmp, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, path);
  chmodSync(path, mode);
  const dirFd = openSync(dirname(path), 'r');
  try {
    fsyncSync(dirFd);
  } finally {
    closeSync(dirFd);
  }
}

function saveKeyFile(stateDir: string, file: AuditKeyFile): void {
  const raw: RawKeyFile = {
    format: FORMAT,
    instance: file.instance,
    checkpointEvery: file.checkpointEvery,
    keys: file.keys.map((k) => ({ keyId: k.keyId, publicKey: k.publicKey.toString('base64url'), createdAt: k.createdAt, ...(k.retiredAfter === undefined ? {} : { retiredAfter: k.retiredAfter }) })),
  };
  writeDurably(join(stateDir, AUDIT_PUBLIC_KEY_FILE), `${JSON.stringify(raw, null, 2)}\n`, 0o644);
}

function newKey(stateDir: string, now: number): { key: AuditVerificationKey; privateKey: KeyObject } {
  const { publicKey, privateKey } = generateKeyPairSync('ed25519');
  const raw = rawPublicKey(publicKey);
  const keyId = computeKeyId(raw);
  const dir = join(stateDir, KEY_DIR);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  chmodSync(dir, 0o700);
  writeDurably(join(dir, `${keyId}.pem`), privateKey.export({ format: 'pem', type: 'pkcs8' }).toString(), 0o600);
  return { key: { keyId, publicKey: raw, createdAt: now }, privateKey };
}

function activeKey(file: AuditKeyFile): AuditVerificationKey | undefined {
  const active = file.keys.filter((k) => k.retiredAfter === undefined);
  return active.length === 1 ? active[0] : undefined;
}

function loadPrivateKey(stateDir: string, key: AuditVerificationKey): KeyObject {
  const path = join(stateDir, KEY_DIR, `${key.keyId}.pem`);
  let privateKey: KeyObject;
  try {
    privateKey = createPrivateKey(readFileSync(path, 'utf8'));
  } catch (error) {
    throw new PalisadeError('PAL_AUDIT_KEYS_INVALID', `cannot read the audit signing key \`${path}\``, { cause: error, expose: true });
  }
  if (!rawPublicKey(createPublicKey(privateKey)).equals(key.publicKey)) throw new PalisadeError('PAL_AUDIT_KEYS_INVALID', `the audit signing key \`${path}\` does not match \`${AUDIT_PUBLIC_KEY_FILE}\``, { expose: true });
  return privateKey;
}

/**
 * Loads the active signing key of the log under `stateDir`, creating the instance id, the key
 * pair (private key 0600 under `audit-keys/`) and the exported `audit.pub` on first use.
 */
export function ensureAuditSigningKey(stateDir: string, checkpointEvery: number, now: number): AuditSigningKey {
  mkdirSync(stateDir, { recursive: true, mode: 0o700 });
  const pubPath = join(stateDir, AUDIT_PUBLIC_KEY_FILE);
  if (!existsSync(pubPath)) {
    const { key, privateKey } = newKey(stateDir, now);
    const instance = randomBytes(16).toString('base64url');
    saveKeyFile(stateDir, { instance, checkpointEvery, keys: [key] });
    return { instance, keyId: key.keyId, privateKey };
  }
  let file = loadAuditKeyFile(pubPath);
  if (file.checkpointEvery !== checkpointEvery) {
    file = { ...file, checkpointEvery };
    saveKeyFile(stateDir, file);
  }
  const key = activeKey(file);
  if (key === undefined) throw new PalisadeError('PAL_AUDIT_KEYS_INVALID', `\`${pubPath}\` must list exactly one active (not retired) key`, { expose: true });
  return { instance: file.instance, keyId: key.keyId, privateKey: loadPrivateKey(stateDir, key) };
}

/**
 * Retires the active key after tree size `retiredAfter` (its last checkpoint) and makes a new
 * one active. The retired public key stays in `audit.pub` so its checkpoints still verify; its
 * private key is deleted, and a verifier refuses any checkpoint it signs beyond `retiredAfter`.
 */
export function rotateAuditSigningKey(stateDir: string, retiredAfter: number, now: number): AuditSigningKey {
  const file = loadAuditKeyFile(join(stateDir, AUDIT_PUBLIC_KEY_FILE));
  const old = activeKey(file);
  if (old === undefined) throw new PalisadeError('PAL_AUDIT_KEYS_INVALID', 'the audit key file has no single active key to rotate', { expose: true });
  const { key, privateKey } = newKey(stateDir, now);
  saveKeyFile(stateDir, { ...file, keys: [...file.keys.map((k) => (k.keyId === old.keyId ? { ...k, retiredAfter } : k)), key] });
  rmSync(join(stateDir, KEY_DIR, `${old.keyId}.pem`), { force: true });
  return { instance: file.instance, keyId: key.keyId, privateKey };
}

/**
 * Loads the active signing key of the log under `stateDir` without creating or changing
 * anything (for tools such as `palisade audit archive` that sign beside a running writer).
 */
export function loadActiveAuditSigningKey(stateDir: string): AuditSigningKey {
  const pubPath = join(stateDir, AUDIT_PUBLIC_KEY_FILE);
  const file = loadAuditKeyFile(pubPath);
  const key = activeKey(file);
  if (key === undefined) throw new PalisadeError('PAL_AUDIT_KEYS_INVALID', `\`${pubPath}\` must list exactly one active (not retired) key`, { expose: true });
  return { instance: file.instance, keyId: key.keyId, privateKey: loadPrivateKey(stateDir, key) };
}
