import { createPrivateKey, createPublicKey, sign, verify, type KeyObject } from 'node:crypto';

/** What a checkpoint attests: the chain of `instance` had `treeSize` events, ending in `head`, with Merkle root `root`. */
export interface CheckpointStatement {
  readonly instance: string;
  readonly treeSize: number;
  /** Hex SHA-256 of the last event (`hash` of row `treeSize`); the genesis hash when empty. */
  readonly head: string;
  /** Hex RFC 6962 root over the event hashes of rows 1..treeSize. */
  readonly root: string;
  /** Milliseconds since the epoch, when signed. */
  readonly time: number;
  readonly keyId: string;
  /** `periodic`, `rotation` (last one of a retiring key), `shutdown`, `archive` (before a prune). */
  readonly kind: CheckpointKind;
}

/** Why a checkpoint was written. */
export type CheckpointKind = 'periodic' | 'rotation' | 'shutdown' | 'startup' | 'archive';
const KINDS: readonly CheckpointKind[] = ['periodic', 'rotation', 'shutdown', 'startup', 'archive'];

/** A statement with its Ed25519 signature, as stored in the log and in a witness file. */
export interface SignedCheckpoint {
  /** The exact signed text (see {@link formatCheckpoint}). */
  readonly statement: string;
  /** Base64 of the 64-byte Ed25519 signature over the statement's UTF-8 bytes. */
  readonly signature: string;
}

const HEADER = 'palisade-audit-checkpoint/1';
const HEX64 = /^[0-9a-f]{64}$/;
const ID = /^[A-Za-z0-9_-]{1,64}$/;

/**
 * The signed text of a checkpoint: seven `name: value` lines after a header, each ending in LF.
 *
 * @example
 * ```text
 * palisade-audit-checkpoint/1
 * instance: 6f1c…
 * tree-size: 1000
 * head: 3a7b…
 * root: 9c2e…
 * time: 1764662400000
 * key: 1f0a3c5e7b9d2f4a
 * kind: periodic
 * ```
 */
export function formatCheckpoint(s: CheckpointStatement): string {
  return `${HEADER}\ninstance: ${s.instance}\ntree-size: ${s.treeSize}\nhead: ${s.head}\nroot: ${s.root}\ntime: ${s.time}\nkey: ${s.keyId}\nkind: ${s.kind}\n`;
}

/** Parses a statement strictly (exact layout); undefined when it is not one. */
export function parseCheckpoint(text: string): CheckpointStatement | undefined {
  const m = /^palisade-audit-checkpoint\/1\ninstance: ([^\n]+)\ntree-size: (0|[1-9][0-9]{0,15})\nhead: ([^\n]+)\nroot: ([^\n]+)\ntime: (0|[1-9][0-9]{0,15})\nkey: ([^\n]+)\nkind: ([a-z]+)\n$/.exec(text);
  if (m === null) return undefined;
  const [, instance, size, head, root, time, keyId, kind] = m as unknown as [string, string, string, string, string, string, string, string];
  if (!ID.test(instance) || !HEX64.test(head) || !HEX64.test(root) || !ID.test(keyId) || !(KINDS as readonly string[]).includes(kind)) return undefined;
  const treeSize = Number(size);
  const t = Number(time);
  if (!Number.isSafeInteger(treeSize) || !Number.isSafeInteger(t)) return undefined;
  return { instance, treeSize, head, root, time: t, keyId, kind: kind as CheckpointKind };
}

/**
 * What an archive checkpoint attests, on top of a checkpoint at `treeSize`: events
 * `first..treeSize` were moved to an archive file whose body hashes to `archiveDigest`, and the
 * live log continues at `treeSize + 1` from `head`. `range` is the compact range of the Merkle
 * tree of size `treeSize` (RFC 6962 perfect-subtree roots, left to right), so later roots can be
 * computed without the archived leaves.
 */
export interface ArchiveStatement extends CheckpointStatement {
  readonly kind: 'archive';
  /** Hex nodes of the compact range `[0, treeSize)`, one per set bit of `treeSize`, largest subtree first. */
  readonly range: readonly string[];
  /** The first sequence number held by the archive file (1, or one after the previous archive). */
  readonly first: number;
  /** Hex SHA-256 of the archive file's body (every byte before its last line). */
  readonly archiveDigest: string;
}

const ARCHIVE_HEADER = 'palisade-audit-archive/1';

/**
 * The signed text of an archive checkpoint: ten `name: value` lines after a header, each ending
 * in LF (`range` is comma-separated hex).
 *
 * @example
 * ```text
 * palisade-audit-archive/1
 * instance: 6f1c…
 * tree-size: 6
 * head: 3a7b…
 * root: 9c2e…
 * range: 5d1f…,e4a0…
 * first: 1
 * archive: 0b7c…
 * time: 1764662400000
 * key: 1f0a3c5e7b9d2f4a
 * kind: archive
 * ```
 */
export function formatArchiveStatement(s: Omit<ArchiveStatement, 'kind'>): string {
  return `${ARCHIVE_HEADER}\ninstance: ${s.instance}\ntree-size: ${s.treeSize}\nhead: ${s.head}\nroot: ${s.root}\nrange: ${s.range.join(',')}\nfirst: ${s.first}\narchive: ${s.archiveDigest}\ntime: ${s.time}\nkey: ${s.keyId}\nkind: archive\n`;
}

/** Parses an archive statement strictly; undefined when it is not one. */
export function parseArchiveStatement(text: string): ArchiveStatement | undefined {
  const m = /^palisade-audit-archive\/1\ninstance: ([^\n]+)\ntree-size: ([1-9][0-9]{0,15})\nhead: ([^\n]+)\nroot: ([^\n]+)\nrange: ([0-9a-f,]{64,4000})\nfirst: ([1-9][0-9]{0,15})\narchive: ([^\n]+)\ntime: (0|[1-9][0-9]{0,15})\nkey: ([^\n]+)\nkind: archive\n$/.exec(text);
  if (m === null) return undefined;
  const [, instance, size, head, root, rangeText, firstText, digest, time, keyId] = m as unknown as string[] as [string, string, string, string, string, string, string, string, string, string];
  const range = rangeText.split(',');
  const treeSize = Number(size);
  const first = Number(firstText);
  const t = Number(time);
  if (!ID.test(instance) || !HEX64.test(head) || !HEX64.test(root) || !HEX64.test(digest) || !ID.test(keyId) || range.some((r) => !HEX64.test(r))) return undefined;
  if (!Number.isSafeInteger(treeSize) || !Number.isSafeInteger(first) || !Number.isSafeInteger(t) || first > treeSize) return undefined;
  return { instance, treeSize, head, root, range, first, archiveDigest: digest, time: t, keyId, kind: 'archive' };
}

/** Parses either statement form: a checkpoint or an archive checkpoint. */
export function parseSignedStatement(text: string): CheckpointStatement | ArchiveStatement | undefined {
  return text.startsWith(`${ARCHIVE_HEADER}\n`) ? parseArchiveStatement(text) : parseCheckpoint(text);
}

/** Signs an archive statement with an Ed25519 private key. */
export function signArchiveStatement(statement: Omit<ArchiveStatement, 'kind'>, privateKey: KeyObject | string): SignedCheckpoint {
  const key = typeof privateKey === 'string' ? createPrivateKey(privateKey) : privateKey;
  const text = formatArchiveStatement(statement);
  return { statement: text, signature: sign(null, Buffer.from(text, 'utf8'), key).toString('base64') };
}

/** True when a parsed statement is an archive checkpoint. */
export function isArchiveStatement(s: CheckpointStatement): s is ArchiveStatement {
  return s.kind === 'archive' && 'range' in s;
}

/** Signs a statement with an Ed25519 private key (PKCS#8 PEM or KeyObject). */
export function signCheckpoint(statement: CheckpointStatement, privateKey: KeyObject | string): SignedCheckpoint {
  const key = typeof privateKey === 'string' ? createPrivateKey(privateKey) : privateKey;
  const text = formatCheckpoint(statement);
  return { statement: text, signature: sign(null, Buffer.from(text, 'utf8'), key).toString('base64') };
}

/** Checks an Ed25519 signature over a statement's text with a raw 32-byte public key. */
export function verifyCheckpointSignature(signed: SignedCheckpoint, publicKeyRaw: Uint8Array): boolean {
  if (publicKeyRaw.length !== 32 || !/^[A-Za-z0-9+/]{86}==$/.test(signed.signature)) return false;
  try {
    const key = createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: Buffer.from(publicKeyRaw).toString('base64url') }, format: 'jwk' });
    return verify(null, Buffer.from(signed.statement, 'utf8'), key, Buffer.from(signed.signature, 'base64'));
  } catch {
    return false;
  }
}
