import { closeSync, openSync, readSync, statSync } from 'node:fs';
import { loadManifest } from '../../manifest/index.js';
import { secretsAdmin, type SecretView } from '../../platform/index.js';
import { PalisadeError } from '../../kernel/index.js';
import { exitCodes, type Command, type CommandContext } from '../cli-io.js';
import { readSecret } from '../read-secret.js';

/** The largest value read from a file or standard input (the vault refuses more). */
const MAX_VALUE_BYTES = 65_536;

const VALUE_VERBS = new Set(['set', 'rotate', 'stage']);

/** `palisade secrets …`: the project's encrypted secrets and key-encryption keys. */
export const secretsCommand: Command = {
  name: 'secrets',
  summary: 'manage encrypted secrets, their versions and the key-encryption keys',
  usage: 'palisade secrets <set|rotate|stage|promote|discard|list|versions|delete|restore|purge> [NAME] [DIR] | palisade secrets <rotate-kek|keys> [DIR] | palisade secrets retire-kek ID [DIR]',
  help: [
    'Secrets are encrypted at rest (docs/secrets.md). A value is read from standard input or from',
    '--file F, never from the command line (argv is visible to every user in the process list);',
    'on a terminal it is prompted for without echo. Values are never printed, logged or audited.',
    'Bytes are stored exactly as given: pipe with `printf %s "$VALUE"`, not `echo`.',
    '',
    '  set NAME [DIR] [--file F]            create a secret, or add a new current version',
    '  rotate NAME [DIR] [--file F]         new current version; the old current becomes previous',
    '  stage NAME [DIR] [--file F]          stage a pending version (not served until promoted)',
    '  promote NAME [DIR] [--version N]     make the pending version (or version N: rollback) current',
    '  discard NAME [DIR]                   drop the pending version',
    '  list [DIR]                           names, versions, times and the functions granted to read them',
    '  versions NAME [DIR]                  the versions of one secret and their stages',
    '  delete NAME [DIR] [--recovery-days N]  soft delete (default 7 days to restore)',
    '  restore NAME [DIR]                   undo a delete inside its recovery window',
    '  purge NAME [DIR] [--force]           remove a deleted secret for good (--force: before the window ends)',
    '  keys [DIR]                           the key-encryption keys and how many data keys each wraps',
    '  rotate-kek [DIR]                     new KEK in the key ring; re-wraps every data key under it',
    '  retire-kek ID [DIR]                  remove an old KEK once nothing is wrapped under it',
    '',
    'With PALISADE_MASTER_KEY set, rotate-kek re-wraps under its first key (see docs/secrets.md).',
    'A running node serves list, versions, set, rotate, delete and restore over HTTPS under',
    '/_palisade/admin/secrets (operator action manageSecrets; admins with a second factor by default).',
    'Scheduled rotation (manifest `secrets: NAME: rotation: { function, every }`) runs on the node;',
    '`POST /_palisade/admin/secrets/NAME/rotate` with body {} runs it now.',
  ].join('\n'),
  options: {
    file: { type: 'string', description: 'read the value from this file (set, rotate, stage)' },
    version: { type: 'string', description: 'the version to make current (promote)' },
    'recovery-days': { type: 'string', description: 'days a deleted secret can be restored (delete; default 7)' },
    force: { type: 'boolean', description: 'purge before the recovery window ends' },
    json: { type: 'boolean', description: 'print JSON' },
  },
  async run(ctx) {
    const [verb, ...rest] = ctx.args;
    switch (verb) {
      case 'list': {
        const [dir = '.', ...extra] = rest;
        rejectExtra(extra);
        const secrets = await secretsAdmin.list(loadManifest(projectDir(dir)));
        if (ctx.json) ctx.io.out(JSON.stringify(secrets, null, 2));
        else if (secrets.length === 0) ctx.io.out('no secrets');
        else for (const s of secrets) ctx.io.out(summary(s));
        return exitCodes.ok;
      }
      case 'versions': {
        const { name, dir } = nameAndDir(verb, rest);
        const s = await secretsAdmin.versions(loadManifest(dir), name);
        if (ctx.json) ctx.io.out(JSON.stringify(s, null, 2));
        else {
          ctx.io.out(summary(s));
          for (const v of s.versions) ctx.io.out(`  v${v.version}  ${(v.stage ?? '-').padEnd(8)}  created ${v.createdAt}  kek ${v.kekId}`);
        }
        return exitCodes.ok;
      }
      case 'set':
      case 'rotate':
      case 'stage': {
        const { name, dir } = nameAndDir(verb, rest);
        const manifest = loadManifest(dir);
        const value = await readValue(ctx, name);
        try {
          const s = verb === 'set' ? await secretsAdmin.set(manifest, name, value) : verb === 'rotate' ? await secretsAdmin.rotate(manifest, name, value) : await secretsAdmin.stage(manifest, name, value);
          const v = verb === 'stage' ? s.pendingVersion : s.currentVersion;
          ctx.io.out(ctx.json ? JSON.stringify(s) : `${name}: version ${v ?? '?'} ${verb === 'stage' ? 'staged as pending' : 'is current'}`);
        } finally {
          value.fill(0);
        }
        return exitCodes.ok;
      }
      case 'promote': {
        const { name, dir } = nameAndDir(verb, rest);
        const version = ctx.flags.version === undefined ? 'pending' : parseCount(ctx.flags.version, '--version', 1);
        const s = await secretsAdmin.promote(loadManifest(dir), name, version);
        ctx.io.out(ctx.json ? JSON.stringify(s) : `${name}: version ${s.currentVersion ?? '?'} is current`);
        return exitCodes.ok;
      }
      case 'discard': {
        const { name, dir } = nameAndDir(verb, rest);
        const s = await secretsAdmin.discard(loadManifest(dir), name);
        ctx.io.out(ctx.json ? JSON.stringify(s) : `${name}: pending version discarded`);
        return exitCodes.ok;
      }
      case 'delete': {
        const { name, dir } = nameAndDir(verb, rest);
        const days = ctx.flags['recovery-days'] === undefined ? 7 : parseCount(ctx.flags['recovery-days'], '--recovery-days', 0);
        const s = await secretsAdmin.delete(loadManifest(dir), name, days);
        ctx.io.out(ctx.json ? JSON.stringify(s) : `${name}: deleted; restore until ${s.purgeAfter ?? '?'} with \`palisade secrets restore ${name}${dir === '.' ? '' : ` ${dir}`}\``);
        return exitCodes.ok;
      }
      case 'restore': {
        const { name, dir } = nameAndDir(verb, rest);
        const s = await secretsAdmin.restore(loadManifest(dir), name);
        ctx.io.out(ctx.json ? JSON.stringify(s) : `${name}: restored; version ${s.currentVersion ?? '?'} is current`);
        return exitCodes.ok;
      }
      case 'purge': {
        const { name, dir } = nameAndDir(verb, rest);
        await secretsAdmin.purge(loadManifest(dir), name, ctx.flags.force === true);
        ctx.io.out(ctx.json ? JSON.stringify({ name, purged: true }) : `${name}: purged`);
        return exitCodes.ok;
      }
      case 'keys': {
        const [dir = '.', ...extra] = rest;
        rejectExtra(extra);
        const keys = await secretsAdmin.keys(loadManifest(projectDir(dir)));
        if (ctx.json) ctx.io.out(JSON.stringify(keys, null, 2));
        else for (const k of keys) ctx.io.out(`${k.id}${k.active ? '  ACTIVE' : ''}  wraps ${k.wrappedKeys}${k.inRing ? '' : '  NOT IN RING'}${k.retiredAt === null ? '' : '  retired'}`);
        return exitCodes.ok;
      }
      case 'rotate-kek': {
        const [dir = '.', ...extra] = rest;
        rejectExtra(extra);
        const r = await secretsAdmin.rotateKek(loadManifest(projectDir(dir)));
        if (ctx.json) ctx.io.out(JSON.stringify(r));
        else {
          ctx.io.out(`active key-encryption key: ${r.activeKekId}; ${r.rewrapped} data key${r.rewrapped === 1 ? '' : 's'} re-wrapped, ${r.remaining} left under older keys`);
          if (r.source === 'file') ctx.io.out(`back up the key ring \`${r.path ?? ''}\` now; then retire the old key with \`palisade secrets retire-kek ID\``);
        }
        return exitCodes.ok;
      }
      case 'retire-kek': {
        const [id, dir = '.', ...extra] = rest;
        rejectExtra(extra);
        if (id === undefined) throw new PalisadeError('PAL_CLI_USAGE', '`palisade secrets retire-kek` needs a key id (see `palisade secrets keys`)');
        const r = await secretsAdmin.retireKek(loadManifest(projectDir(dir)), id);
        ctx.io.out(ctx.json ? JSON.stringify({ retired: id }) : r.source === 'env' ? `${id} retired; remove it from PALISADE_MASTER_KEY` : `${id} retired and removed from the key ring`);
        return exitCodes.ok;
      }
      default:
        throw new PalisadeError('PAL_CLI_USAGE', '`palisade secrets` needs one of set, rotate, stage, promote, discard, list, versions, delete, restore, purge, keys, rotate-kek, retire-kek');
    }
  },
};

/**
 * A positional beyond NAME and DIR is refused without being echoed: it is most likely a value
 * typed on the command line, which is exactly what must never happen (CWE-214).
 */
function rejectExtra(extra: readonly string[]): void {
  if (extra.length > 0) throw new PalisadeError('PAL_CLI_USAGE', 'too many arguments (not shown); secret values are never taken from the command line: pipe them on standard input or use --file');
}

function nameAndDir(verb: string, rest: readonly string[]): { name: string; dir: string } {
  const [name, dir = '.', ...extra] = rest;
  rejectExtra(extra);
  if (name === undefined) throw new PalisadeError('PAL_CLI_USAGE', `\`palisade secrets ${verb}\` needs a NAME`);
  return { name, dir: projectDir(dir) };
}

/** DIR must be a directory; anything else is refused without echoing it (it may be a value). */
function projectDir(dir: string): string {
  let isDir = false;
  try {
    isDir = statSync(dir).isDirectory();
  } catch {
    isDir = false;
  }
  if (!isDir) throw new PalisadeError('PAL_CLI_USAGE', 'DIR is not a project directory (not shown, as it may be a value); secret values are never taken from the command line: pipe them on standard input or use --file');
  return dir;
}

function parseCount(raw: string | boolean | undefined, flag: string, min: number): number {
  const n = typeof raw === 'string' && /^\d{1,6}$/.test(raw) ? Number(raw) : Number.NaN;
  if (!Number.isSafeInteger(n) || n < min) throw new PalisadeError('PAL_CLI_USAGE', `${flag} must be a whole number of at least ${min}`);
  return n;
}

async function readValue(ctx: CommandContext, name: string): Promise<Uint8Array> {
  if (typeof ctx.flags.file === 'string') {
    const path = ctx.flags.file;
    const value = readFileBounded(path, MAX_VALUE_BYTES);
    if (value === 'too-large') throw new PalisadeError('PAL_SECRETS_VALUE_INVALID', `a secret value must be at most ${MAX_VALUE_BYTES} bytes (\`${path}\` has more)`);
    if (value.byteLength === 0) throw new PalisadeError('PAL_SECRETS_VALUE_INVALID', `\`${path}\` is empty`);
    return value;
  }
  if (process.stdin.isTTY) {
    ctx.io.err('reading the value from the terminal (input hidden); for scripts pipe it on standard input or use --file');
    return new Uint8Array(Buffer.from(await readSecret(`value of ${name}: `, false), 'utf8'));
  }
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of process.stdin as AsyncIterable<Buffer>) {
    total += chunk.byteLength;
    if (total > MAX_VALUE_BYTES) throw new PalisadeError('PAL_SECRETS_VALUE_INVALID', `a secret value must be at most ${MAX_VALUE_BYTES} bytes`);
    chunks.push(chunk);
  }
  const value = Buffer.concat(chunks);
  if (value.byteLength === 0) throw new PalisadeError('PAL_SECRETS_VALUE_INVALID', 'standard input was empty; pipe the value in, for example `printf %s "$VALUE" | palisade secrets set NAME`');
  return new Uint8Array(value);
}

/**
 * Reads at most `max` bytes of a file, a device or a FIFO: its size on disk is not trusted
 * (`/dev/zero` has size 0 and never ends). Reading stops at `max + 1` bytes.
 */
function readFileBounded(path: string, max: number): Uint8Array | 'too-large' {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch {
    throw new PalisadeError('PAL_CLI_USAGE', `cannot read --file \`${path}\``);
  }
  try {
    const buf = Buffer.alloc(max + 1);
    let total = 0;
    for (;;) {
      let n: number;
      try {
        n = readSync(fd, buf, total, buf.byteLength - total, null);
      } catch {
        throw new PalisadeError('PAL_CLI_USAGE', `cannot read --file \`${path}\` (is it a directory?)`);
      }
      if (n === 0) break;
      total += n;
      if (total > max) return 'too-large';
    }
    return new Uint8Array(buf.subarray(0, total));
  } finally {
    closeSync(fd);
  }
}

function summary(s: SecretView): string {
  const readers = s.readers.length === 0 ? '-' : s.readers.join(',');
  return `${s.name}  ${s.state === 'deleted' ? `DELETED (purge after ${s.purgeAfter ?? '?'})` : `current=v${s.currentVersion ?? '-'}`}${s.pendingVersion === null ? '' : `  pending=v${s.pendingVersion}`}  versions=${s.versions.length}  created=${s.createdAt}  last-read=${s.lastReadAt ?? 'never'}  last-rotated=${s.lastRotatedAt ?? 'never'}  readers=${readers}`;
}
