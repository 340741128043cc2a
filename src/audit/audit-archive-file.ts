import { createHash } from 'node:crypto';
import { closeSync, openSync, readSync } from 'node:fs';
import { Ajv } from 'ajv';
import { PalisadeError, once } from '../kernel/index.js';
import { parseArchiveStatement, type ArchiveStatement, type SignedCheckpoint } from './checkpoint.js';
import type { AuditRow } from './verify-audit-chain.js';

/** The format tag on an archive file's first line. */
export const ARCHIVE_FORMAT = 'palisade-audit-archive/1';

/** The first line of an archive file. */
export interface ArchiveHeader {
  readonly format: typeof ARCHIVE_FORMAT;
  readonly instance: string;
  /** The first and last sequence numbers the file holds. */
  readonly first: number;
  readonly last: number;
}

/** One archived event line. */
export interface ArchiveEventLine {
  readonly seq: number;
  /** The canonical event text, exactly as hashed. */
  readonly event: string;
  readonly prevHash: string;
  readonly hash: string;
}

/** What {@link readAuditArchiveSummary} learns from an archive file in one pass (all but the events). */
export interface AuditArchiveSummary {
  readonly path: string;
  readonly header: ArchiveHeader;
  /** Checkpoints carried by the archive (those that covered its events, and the archive checkpoint it starts from). */
  readonly checkpoints: readonly SignedCheckpoint[];
  /** The signed archive checkpoint on the last line. */
  readonly trailer: SignedCheckpoint;
  /** Its parsed statement, when it parses. */
  readonly statement: ArchiveStatement | undefined;
  /** Hex SHA-256 of every byte before the last line, as read. */
  readonly bodyDigest: string;
  readonly events: number;
}

const HEX64 = '^[0-9a-f]{64}$';
const signed = { type: 'object', additionalProperties: false, required: ['statement', 'signature'], properties: { statement: { type: 'string', maxLength: 8192 }, signature: { type: 'string', maxLength: 200 } } } as const;
const ajv = once(() => new Ajv({ allErrors: false, strict: true }));
const validateHeader = once(() => ajv().compile({
  type: 'object',
  additionalProperties: false,
  required: ['format', 'instance', 'first', 'last'],
  properties: { format: { const: ARCHIVE_FORMAT }, instance: { type: 'string', pattern: '^[A-Za-z0-9_-]{1,64}$' }, first: { type: 'integer', minimum: 1 }, last: { type: 'integer', minimum: 1 } },
}));
const validateEvent = once(() => ajv().compile({
  type: 'object',
  additionalProperties: false,
  required: ['seq', 'event', 'prevHash', 'hash'],
  properties: { seq: { type: 'integer', minimum: 1 }, event: { type: 'string', maxLength: 1_000_000 }, prevHash: { type: 'string', pattern: HEX64 }, hash: { type: 'string', pattern: HEX64 } },
}));
const validateCheckpointLine = once(() => ajv().compile({ type: 'object', additionalProperties: false, required: ['checkpoint'], properties: { checkpoint: signed } }));
const validateTrailer = once(() => ajv().compile({ type: 'object', additionalProperties: false, required: ['archive'], properties: { archive: signed } }));

/** Formats the header line (without its LF). */
export function formatArchiveHeader(h: Omit<ArchiveHeader, 'format'>): string {
  return JSON.stringify({ format: ARCHIVE_FORMAT, instance: h.instance, first: h.first, last: h.last });
}

/** Formats one event line (without its LF). */
export function formatArchiveEvent(seq: number, event: string, prevHash: Uint8Array, hash: Uint8Array): string {
  return JSON.stringify({ seq, event, prevHash: Buffer.from(prevHash).toString('hex'), hash: Buffer.from(hash).toString('hex') });
}

/** Formats one checkpoint line (without its LF). */
export function formatArchiveCheckpoint(c: SignedCheckpoint): string {
  return JSON.stringify({ checkpoint: { statement: c.statement, signature: c.signature } });
}

/** Formats the trailer line (without its LF). */
export function formatArchiveTrailer(c: SignedCheckpoint): string {
  return JSON.stringify({ archive: { statement: c.statement, signature: c.signature } });
}

function malformed(path: string, line: number, what: string): PalisadeError {
  return new PalisadeError('PAL_AUDIT_CHAIN_BROKEN', `\`${path}\` line ${line} is not a ${ARCHIVE_FORMAT} ${what}`, { expose: true });
}

/** Reads a file's lines synchronously, in bounded chunks (an archive may be larger than a string can hold). */
function* readLines(path: string): Generator<string> {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (error) {
    throw new PalisadeError('PAL_AUDIT_NOT_FOUND', `cannot read the audit archive \`${path}\``, { cause: error, expose: true });
  }
  try {
    const chunk = Buffer.alloc(1 << 20);
    let carry = Buffer.alloc(0);
    for (;;) {
      const n = readSync(fd, chunk, 0, chunk.length, null);
      if (n === 0) break;
      let data = Buffer.concat([carry, chunk.subarray(0, n)]);
      let at = data.indexOf(0x0a);
      while (at !== -1) {
        yield data.subarray(0, at).toString('utf8');
        data = data.subarray(at + 1);
        at = data.indexOf(0x0a);
      }
      carry = Buffer.from(data);
    }
    // Every line ends in LF: bytes after the last LF are a truncated or appended-to file.
    if (carry.length > 0) yield `\u0000${carry.toString('utf8')}`;
  } finally {
    closeSync(fd);
  }
}

/**
 * Reads an archive file's header, checkpoints and signed trailer, and hashes its body (every
 * byte before the last line). Events are counted, not kept: {@link readAuditArchiveRows} streams
 * them. Throws `PAL_AUDIT_CHAIN_BROKEN` when a line is not of the format.
 */
export function readAuditArchiveSummary(path: string): AuditArchiveSummary {
  const digest = createHash('sha256');
  let header: ArchiveHeader | undefined;
  const checkpoints: SignedCheckpoint[] = [];
  let pending: string | undefined;
  let lineNo = 0;
  let events = 0;
  for (const line of readLines(path)) {
    if (pending !== undefined) {
      // The held-back line was not the last one: it belongs to the body.
      digest.update(pending, 'utf8').update('\n');
      lineNo++;
      const v = parseLine(pending);
      if (lineNo === 1) {
        if (!validateHeader()(v)) throw malformed(path, lineNo, 'header');
        header = v as ArchiveHeader;
      } else if (validateEvent()(v)) {
        if (checkpoints.length > 0) throw malformed(path, lineNo, 'line (events come before checkpoints)');
        events++;
      } else if (validateCheckpointLine()(v)) checkpoints.push((v as { checkpoint: SignedCheckpoint }).checkpoint);
      else throw malformed(path, lineNo, 'line');
    }
    pending = line;
  }
  if (header === undefined || pending === undefined) throw malformed(path, lineNo + 1, 'file (too short)');
  const t = parseLine(pending);
  if (!validateTrailer()(t)) throw malformed(path, lineNo + 1, 'trailer');
  const trailer = (t as { archive: SignedCheckpoint }).archive;
  return { path, header, checkpoints, trailer, statement: parseArchiveStatement(trailer.statement), bodyDigest: digest.digest('hex'), events };
}

/** Streams an archive file's event lines as rows (validated; a malformed line throws). */
export function* readAuditArchiveRows(path: string): Generator<AuditRow> {
  let lineNo = 0;
  for (const line of readLines(path)) {
    lineNo++;
    if (lineNo === 1) continue;
    const v = parseLine(line);
    if (!validateEvent()(v)) return;
    const e = v as ArchiveEventLine;
    yield { seq: e.seq, event: e.event, prevHash: Buffer.from(e.prevHash, 'hex'), hash: Buffer.from(e.hash, 'hex') };
  }
}

function parseLine(line: string): unknown {
  try {
    return JSON.parse(line) as unknown;
  } catch {
    return undefined;
  }
}
