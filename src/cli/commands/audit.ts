import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  archiveAuditLog,
  AUDIT_PUBLIC_KEY_FILE,
  createAuditProof,
  formatCef,
  formatOcsf,
  loadAuditKeyFile,
  searchAuditLog,
  verifyAuditArchives,
  verifyAuditLog,
  verifyAuditProof,
  type AuditInclusionProof,
  type AuditRecord,
  type AuditSearch,
} from '../../audit/index.js';
import { PalisadeError } from '../../kernel/index.js';
import { exitCodes, type Command, type CommandContext } from '../cli-io.js';

const VERSION = '0.1.0';

/** `palisade audit verify|proof|check-proof|tail|search|export|archive`: the audit log, offline. */
export const auditCommand: Command = {
  name: 'audit',
  summary: 'verify, read, export and archive the tamper-evident audit log',
  usage: 'palisade audit <verify|proof|check-proof|tail|search|export|archive> [ARGS] [DIR] [options]',
  help: [
    'Works on DIR/.palisade/audit.db (DIR defaults to the current directory), without a running node.',
    '',
    '  verify [DIR] [--witness PATH] [--key PATH] [--archive FILE]... [--archive-only]',
    '        checks every row hash and link, every checkpoint signature and Merkle root, and the',
    '        witness copy; keys come only from --key or DIR/.palisade/audit.pub, never from the database.',
    '        A pruned log verifies from its signed archive checkpoint; with --archive the archive files',
    '        and the log are verified as one chain; with --archive-only the archive files alone.',
    '        exit 0: intact; exit 2: not intact, with the first bad sequence number and the reason.',
    '  proof SEQ [DIR]            prints the RFC 6962 inclusion proof of event SEQ (JSON)',
    '  check-proof FILE [--key PATH]   verifies a saved proof with the key file; exit 0 or 2',
    '  tail [DIR] [-n N] [-f]     the last N events (default 20); -f follows new ones',
    '  search [DIR] [--actor ID] [--action A] [--decision allow|deny|error|aborted] [--since T] [--until T] [--limit N]',
    '  export [DIR] --format ocsf|cef [--since T] [--until T]   one line per event, oldest first',
    '  archive [DIR] --before-seq N | --older-than T [--out FILE] [--witness PATH]',
    '        moves the events before N (or older than T: 90d) to a self-contained archive file',
    '        (JSON lines, fsync\'d; default DIR/.palisade/audit-archive/), then, in one transaction,',
    '        stores a signed archive checkpoint and deletes those rows. Safe while the node runs.',
    '        The newest event always stays. Keep the archive file: it is the only copy of those events.',
    '',
    'T is an ISO 8601 time or a duration back from now: 30m, 12h, 7d. See docs/audit.md.',
  ].join('\n'),
  options: {
    json: { type: 'boolean', description: 'print JSON' },
    witness: { type: 'string', description: 'verify: a witness file of checkpoints (JSON lines)' },
    key: { type: 'string', description: 'verify, check-proof: the exported key file (default DIR/.palisade/audit.pub)' },
    lines: { type: 'string', short: 'n', description: 'tail: how many events (default 20)' },
    follow: { type: 'boolean', short: 'f', description: 'tail: keep printing new events' },
    actor: { type: 'string', description: 'search: principal id' },
    action: { type: 'string', description: 'search: action (invoke, login, …)' },
    decision: { type: 'string', description: 'search: allow, deny, error or aborted' },
    since: { type: 'string', description: 'search, export: from this time (inclusive)' },
    until: { type: 'string', description: 'search, export: until this time (exclusive)' },
    limit: { type: 'string', description: 'search: at most N events (default 1000)' },
    format: { type: 'string', description: 'export: ocsf or cef' },
    archive: { type: 'string', multiple: true, description: 'verify: an archive file to verify with the log (repeatable)' },
    'archive-only': { type: 'boolean', description: 'verify: verify the --archive files alone, without the live log' },
    'before-seq': { type: 'string', description: 'archive: archive the events before this sequence number' },
    'older-than': { type: 'string', description: 'archive: archive the events older than this (90d, or an ISO 8601 time)' },
    out: { type: 'string', description: 'archive: the archive file to write' },
  },
  async run(ctx) {
    const [verb, ...rest] = ctx.args;
    switch (verb) {
      case 'verify':
        return runVerify(ctx, rest);
      case 'proof':
        return runProof(ctx, rest);
      case 'check-proof':
        return runCheckProof(ctx, rest);
      case 'tail':
        return runTail(ctx, rest);
      case 'search':
        return runSearch(ctx, rest);
      case 'export':
        return runExport(ctx, rest);
      case 'archive':
        return runArchive(ctx, rest);
      default:
        throw new PalisadeError('PAL_CLI_USAGE', '`palisade audit` needs one of verify, proof, check-proof, tail, search, export, archive');
    }
  },
};

const stateDirOf = (dir: string | undefined): string => join(dir ?? '.', '.palisade');

function stringFlag(ctx: CommandContext, name: string): string | undefined {
  const v = ctx.flags[name];
  if (v === undefined) return undefined;
  if (typeof v !== 'string' || v === '') throw new PalisadeError('PAL_CLI_USAGE', `--${name} needs a value`);
  return v;
}

function positiveInt(ctx: CommandContext, name: string, fallback: number): number {
  const v = stringFlag(ctx, name);
  if (v === undefined) return fallback;
  if (!/^[1-9][0-9]{0,8}$/.test(v)) throw new PalisadeError('PAL_CLI_USAGE', `--${name} must be a positive integer, not \`${v.slice(0, 40)}\``);
  return Number(v);
}

/** Parses `2026-12-02T10:00:00Z` or `30m`/`12h`/`7d` (back from now) into epoch milliseconds. */
export function parseAuditTime(text: string, now: number): number {
  const rel = /^([1-9][0-9]{0,6})([smhd])$/.exec(text);
  if (rel !== null) return now - Number(rel[1]) * { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[rel[2] as 's' | 'm' | 'h' | 'd'];
  const t = /^\d{4}-\d{2}-\d{2}([T ][\d:.]+(Z|[+-]\d{2}:?\d{2})?)?$/.test(text) ? Date.parse(text) : Number.NaN;
  if (!Number.isFinite(t)) throw new PalisadeError('PAL_CLI_USAGE', `\`${text.slice(0, 40)}\` is not a time: give an ISO 8601 time or a duration such as 30m, 12h, 7d`);
  return t;
}

function timeRange(ctx: CommandContext): Pick<AuditSearch, 'since' | 'until'> {
  const since = stringFlag(ctx, 'since');
  const until = stringFlag(ctx, 'until');
  const now = Date.now();
  return { ...(since === undefined ? {} : { since: parseAuditTime(since, now) }), ...(until === undefined ? {} : { until: parseAuditTime(until, now) }) };
}

function runVerify(ctx: CommandContext, args: readonly string[]): number {
  const witness = stringFlag(ctx, 'witness');
  const key = stringFlag(ctx, 'key');
  const archives = ctx.multi.archive ?? [];
  const archiveOnly = ctx.flags['archive-only'] === true;
  if (archiveOnly && (archives.length === 0 || witness !== undefined)) throw new PalisadeError('PAL_CLI_USAGE', '--archive-only needs --archive FILE and takes no --witness');
  const report = archiveOnly
    ? verifyAuditArchives({ archives, keyFile: key ?? join(stateDirOf(args[0]), AUDIT_PUBLIC_KEY_FILE) })
    : verifyAuditLog({ stateDir: stateDirOf(args[0]), archives, ...(witness === undefined ? {} : { witnessPath: witness }), ...(key === undefined ? {} : { keyFile: key }) });
  const what = archiveOnly ? `audit archive${archives.length === 1 ? '' : 's'}` : archives.length > 0 ? 'audit archives and log' : 'audit log';
  if (ctx.json) ctx.io.out(JSON.stringify(report));
  else if (report.ok && report.empty) ctx.io.out(`${what} intact but EMPTY: no events, and nothing signed says it ever held any (a new log); keys from ${report.keyFile}`);
  else if (report.ok) ctx.io.out(`${what} intact: events ${report.start}..${report.size}${report.start > 1 ? ` (1..${report.start - 1} archived, continued from a signed archive checkpoint)` : ''}, signed through ${report.signedSize} (${report.checkpoints} checkpoints${witness === undefined ? '' : `, ${report.witnessed} witnessed`}), keys from ${report.keyFile}`);
  else ctx.io.out(`${what} NOT intact: first bad sequence number ${report.seq}: ${report.reason}\n  ${report.detail}`);
  return report.ok ? exitCodes.ok : exitCodes.denied;
}

function runArchive(ctx: CommandContext, args: readonly string[]): number {
  const before = stringFlag(ctx, 'before-seq');
  const older = stringFlag(ctx, 'older-than');
  if ((before === undefined) === (older === undefined)) throw new PalisadeError('PAL_CLI_USAGE', '`palisade audit archive` needs exactly one of --before-seq N or --older-than T');
  if (before !== undefined && !/^[1-9][0-9]{0,15}$/.test(before)) throw new PalisadeError('PAL_CLI_USAGE', `--before-seq must be a sequence number, not \`${before.slice(0, 40)}\``);
  const now = Date.now();
  const out = stringFlag(ctx, 'out');
  const witness = stringFlag(ctx, 'witness');
  const r = archiveAuditLog({
    stateDir: stateDirOf(args[0]),
    cut: before !== undefined ? { beforeSeq: Number(before) } : { olderThan: parseAuditTime(older as string, now) },
    ...(out === undefined ? {} : { out }),
    ...(witness === undefined ? {} : { witnessPath: witness }),
    now: () => now,
  });
  if (ctx.json) ctx.io.out(JSON.stringify(r.archived ? { archived: true, file: r.file, first: r.first, last: r.last, digest: r.digest, checkpoint: r.checkpoint } : r));
  else if (!r.archived) ctx.io.out(`nothing archived: ${r.reason}`);
  else ctx.io.out(`archived events ${r.first}..${r.last} to ${r.file} (sha-256 of the body ${r.digest}); the log now starts at ${r.last + 1}. Copy the archive somewhere safe: it is the only copy of those events.`);
  return exitCodes.ok;
}

function runProof(ctx: CommandContext, args: readonly string[]): number {
  const [seqText, dir] = args;
  if (seqText === undefined || !/^[1-9][0-9]{0,15}$/.test(seqText)) throw new PalisadeError('PAL_CLI_USAGE', '`palisade audit proof` needs a sequence number (1 or more)');
  ctx.io.out(JSON.stringify(createAuditProof(stateDirOf(dir), Number(seqText)), null, 2));
  return exitCodes.ok;
}

function runCheckProof(ctx: CommandContext, args: readonly string[]): number {
  const [file, dir] = args;
  if (file === undefined) throw new PalisadeError('PAL_CLI_USAGE', '`palisade audit check-proof` needs the proof file');
  let proof: AuditInclusionProof;
  try {
    proof = JSON.parse(readFileSync(file, 'utf8')) as AuditInclusionProof;
  } catch (error) {
    throw new PalisadeError('PAL_CLI_USAGE', `cannot read the proof \`${file}\` as JSON`, { cause: error });
  }
  const keys = loadAuditKeyFile(stringFlag(ctx, 'key') ?? join(stateDirOf(dir), AUDIT_PUBLIC_KEY_FILE));
  const r = typeof proof === 'object' && proof !== null ? verifyAuditProof(proof, keys) : { ok: false as const, reason: 'malformed proof' };
  if (ctx.json) ctx.io.out(JSON.stringify(r));
  else ctx.io.out(r.ok ? `proof valid: event ${proof.seq} is in the signed tree of size ${proof.treeSize}` : `proof NOT valid: ${r.reason}`);
  return r.ok ? exitCodes.ok : exitCodes.denied;
}

function printRecords(ctx: CommandContext, records: readonly AuditRecord[]): void {
  for (const r of records) {
    if (ctx.json) {
      ctx.io.out(JSON.stringify(r));
      continue;
    }
    const e = r.event;
    const who = e.principal === undefined ? '-' : `${e.principal.type}:${e.principal.id}`;
    ctx.io.out(`${r.seq}\t${new Date(e.time).toISOString()}\t${e.outcome}\t${e.status}\t${e.action}\t${e.method} ${e.route ?? '-'}\t${who}\t${e.clientIp}\t${e.reason}`);
  }
}

async function runTail(ctx: CommandContext, args: readonly string[]): Promise<number> {
  const stateDir = stateDirOf(args[0]);
  const records = searchAuditLog(stateDir, { limit: positiveInt(ctx, 'lines', 20), newest: true });
  printRecords(ctx, records);
  if (ctx.flags.follow !== true) return exitCodes.ok;
  let last = records[records.length - 1]?.seq ?? 0;
  for (;;) {
    await new Promise((r) => setTimeout(r, 500));
    const more = searchAuditLog(stateDir, { afterSeq: last, limit: 10_000 });
    printRecords(ctx, more);
    last = more[more.length - 1]?.seq ?? last;
  }
}

function runSearch(ctx: CommandContext, args: readonly string[]): number {
  const decision = stringFlag(ctx, 'decision');
  if (decision !== undefined && !['allow', 'deny', 'error', 'aborted'].includes(decision)) throw new PalisadeError('PAL_CLI_USAGE', '--decision is one of allow, deny, error, aborted');
  const actor = stringFlag(ctx, 'actor');
  const action = stringFlag(ctx, 'action');
  const records = searchAuditLog(stateDirOf(args[0]), {
    ...(actor === undefined ? {} : { actor }),
    ...(action === undefined ? {} : { action }),
    ...(decision === undefined ? {} : { decision }),
    ...timeRange(ctx),
    limit: positiveInt(ctx, 'limit', 1000),
  });
  printRecords(ctx, records);
  return exitCodes.ok;
}

function runExport(ctx: CommandContext, args: readonly string[]): number {
  const format = stringFlag(ctx, 'format');
  if (format !== 'ocsf' && format !== 'cef') throw new PalisadeError('PAL_CLI_USAGE', '`palisade audit export` needs --format ocsf or --format cef');
  const stateDir = stateDirOf(args[0]);
  const range = timeRange(ctx);
  let after = 0;
  for (;;) {
    const page = searchAuditLog(stateDir, { ...range, afterSeq: after, limit: 5000 });
    for (const r of page) ctx.io.out(format === 'ocsf' ? JSON.stringify(formatOcsf(r.seq, r.event)) : formatCef(r.seq, r.event, VERSION));
    if (page.length < 5000) return exitCodes.ok;
    after = (page[page.length - 1] as AuditRecord).seq;
  }
}
