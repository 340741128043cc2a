import { randomBytes } from 'node:crypto';
import { closeSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { Ajv } from 'ajv';
import { PalisadeError, safeJsonParse, once } from '../kernel/index.js';
import { KEY_BYTES } from './envelope.js';
import { createLocalKeyProvider, localKekId, type LocalKeyProvider } from './key-provider.js';

/** The environment variable that holds the KEK (base64 of 32 bytes; several separated by commas, the first active). */
export const MASTER_KEY_ENV = 'PALISADE_MASTER_KEY';
/** The key ring file under the state directory. */
export const KEY_RING_FILE = 'master.key';

/**
 * The KEKs a vault can use: one active (wraps new data keys), older ones kept until nothing is
 * wrapped under them. Looked up by id; a file ring re-reads its file when it meets an id it does
 * not know (another process rotated) and, at most once a second, before wrapping.
 */
export interface KeyRing {
  readonly source: 'env' | 'file';
  /** The key ring file, for `file` rings. */
  readonly path: string | undefined;
  active(): Promise<LocalKeyProvider>;
  lookup(id: string): Promise<LocalKeyProvider | undefined>;
  /** The ids in the ring, active first. */
  ids(): readonly string[];
  /** Re-reads the ring now (after this process changed the file). */
  refresh(): Promise<void>;
}

/** One key of the key ring file. */
interface KeyRingEntry {
  readonly id: string;
  readonly key: string;
  readonly createdAt: string;
}

/** The key ring file (JSON, mode 0600): see docs/secrets.md, "Key ring file". */
interface KeyRingFile {
  readonly format: 'palisade-key-ring';
  readonly version: 1;
  readonly active: string;
  readonly keys: readonly KeyRingEntry[];
}

const keyRingSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['format', 'version', 'active', 'keys'],
  properties: {
    format: { const: 'palisade-key-ring' },
    version: { const: 1 },
    active: { type: 'string', pattern: '^local:[0-9a-f]{32}$' },
    keys: {
      type: 'array',
      minItems: 1,
      maxItems: 32,
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['id', 'key', 'createdAt'],
        properties: { id: { type: 'string', pattern: '^local:[0-9a-f]{32}$' }, key: { type: 'string', pattern: '^[A-Za-z0-9+/]{43}=$' }, createdAt: { type: 'string', maxLength: 40 } },
      },
    },
  },
} as const;
const validateKeyRingFile = once(() => new Ajv({ allErrors: false, strict: true }).compile<KeyRingFile>(keyRingSchema));

interface RingState {
  readonly active: LocalKeyProvider;
  readonly byId: ReadonlyMap<string, LocalKeyProvider>;
  readonly stamp: string;
}

function unavailable(message: string, cause?: unknown): PalisadeError {
  return new PalisadeError('PAL_SECRETS_KEY_UNAVAILABLE', message, { cause, expose: true });
}

/** Decodes strict base64 of exactly 32 bytes, or undefined. */
function decodeKey(text: string): Buffer | undefined {
  const trimmed = text.trim();
  if (!/^[A-Za-z0-9+/]{43}=$/.test(trimmed)) return undefined;
  const key = Buffer.from(trimmed, 'base64');
  return key.byteLength === KEY_BYTES ? key : undefined;
}

function ringFrom(keys: readonly Buffer[], activeIndex: number, stamp: string): RingState {
  const providers = keys.map((k) => createLocalKeyProvider(k));
  const active = providers[activeIndex];
  if (active === undefined) throw unavailable('the key ring has no active key');
  return { active, byId: new Map(providers.map((p) => [p.id, p])), stamp };
}

/** Parses `PALISADE_MASTER_KEY`: base64 keys separated by commas, the first one active. */
function ringFromEnv(value: string): RingState {
  const keys = value.split(',').map((part, i) => {
    const key = decodeKey(part);
    // The message names the position only: the value itself is a key.
    if (key === undefined) throw unavailable(`\`${MASTER_KEY_ENV}\` entry ${i + 1} is not base64 of 32 bytes; generate one with \`openssl rand -base64 32\``);
    return key;
  });
  return ringFrom(keys, 0, 'env');
}

/**
 * Refuses a key file that others can read or write, or that another user owns: anyone who can
 * read it can decrypt every secret (CWE-732).
 */
function checkKeyFilePermissions(path: string): { stamp: string } {
  const st = statSync(path);
  if (!st.isFile()) throw unavailable(`the key ring \`${path}\` is not a regular file`);
  if ((st.mode & 0o077) !== 0) {
    throw new PalisadeError('PAL_SECRETS_KEY_FILE_INSECURE', `the key ring \`${path}\` has mode ${(st.mode & 0o777).toString(8)}; others must not read it: run \`chmod 600 ${path}\``, { expose: true });
  }
  if (typeof process.getuid === 'function' && st.uid !== process.getuid()) {
    throw new PalisadeError('PAL_SECRETS_KEY_FILE_INSECURE', `the key ring \`${path}\` is owned by uid ${st.uid}, not by the user running palisade (uid ${process.getuid()}); run \`chown $(id -u) ${path}\``, { expose: true });
  }
  return { stamp: `${st.ino}:${st.size}:${st.mtimeMs}` };
}

function readRingFile(path: string): RingState {
  const { stamp } = checkKeyFilePermissions(path);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw unavailable(`cannot read the key ring \`${path}\``, error);
  }
  // A bare key (one line of base64) is a ring of one: what `openssl rand -base64 32 > master.key` writes.
  const bare = decodeKey(text);
  if (bare !== undefined) return ringFrom([bare], 0, stamp);
  const parsed = safeJsonParse(text);
  if (!parsed.ok || !validateKeyRingFile()(parsed.value)) throw unavailable(`the key ring \`${path}\` is malformed; it must be the JSON format of docs/secrets.md or one line of base64 (32 bytes)`);
  const file = parsed.value;
  const keys = file.keys.map((e) => {
    const key = decodeKey(e.key);
    // The id is the key's fingerprint: an id that does not match its key is a damaged file.
    if (key === undefined || localKekId(key) !== e.id) throw unavailable(`the key ring \`${path}\` is damaged: the key of \`${e.id}\` does not match its id`);
    return key;
  });
  const activeIndex = file.keys.findIndex((e) => e.id === file.active);
  if (activeIndex < 0) throw unavailable(`the key ring \`${path}\` names an active key \`${file.active}\` it does not hold`);
  return ringFrom(keys, activeIndex, stamp);
}

function fileExists(path: string): boolean {
  try {
    statSync(path);
    return true;
  } catch {
    return false;
  }
}

/** Writes the ring file atomically (temp file 0600, fsync, rename), so a reader never sees half a ring. */
function writeRingFile(path: string, file: KeyRingFile, exclusive: boolean): void {
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  const text = `${JSON.stringify(file, null, 2)}\n`;
  if (exclusive) {
    // Two processes creating the first key at once: exactly one wins, the other reads its ring.
    const fd = openSync(path, 'wx', 0o600);
    try {
      writeSync(fd, text);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    return;
  }
  const tmp = join(dirname(path), `.${KEY_RING_FILE}.${randomBytes(6).toString('hex')}.tmp`);
  const fd = openSync(tmp, 'wx', 0o600);
  try {
    writeSync(fd, text);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  try {
    renameSync(tmp, path);
  } catch (error) {
    unlinkSync(tmp);
    throw error;
  }
}

function fileFromRing(path: string): KeyRingFile {
  const { stamp: _ } = checkKeyFilePermissions(path);
  const text = readFileSync(path, 'utf8');
  const bare = decodeKey(text);
  if (bare !== undefined) return { format: 'palisade-key-ring', version: 1, active: localKekId(bare), keys: [{ id: localKekId(bare), key: bare.toString('base64'), createdAt: new Date(statSync(path).mtimeMs).toISOString() }] };
  readRingFile(path);
  return JSON.parse(text) as KeyRingFile;
}

/** Options of {@link loadKeyRing}. */
export interface LoadKeyRingOptions {
  /** The `.palisade/` directory; the key ring file defaults to `master.key` in it. */
  readonly stateDir: string;
  readonly keyFile?: string;
  /** Where `PALISADE_MASTER_KEY` is read from; default `process.env`. */
  readonly env?: Readonly<Record<string, string | undefined>>;
}

/** Where the KEK would come from, without loading it. */
export function keyRingLocation(options: LoadKeyRingOptions): { readonly source: 'env' | 'file'; readonly path: string; readonly exists: boolean } {
  const env = options.env ?? process.env;
  const path = options.keyFile ?? join(options.stateDir, KEY_RING_FILE);
  if ((env[MASTER_KEY_ENV] ?? '') !== '') return { source: 'env', path, exists: true };
  return { source: 'file', path, exists: fileExists(path) };
}

/**
 * Loads the KEK ring: from `PALISADE_MASTER_KEY` when set, else from the key ring file (which
 * must be 0600 and owned by this user). Throws `PAL_SECRETS_KEY_UNAVAILABLE` when neither
 * exists, `PAL_SECRETS_KEY_FILE_INSECURE` for a file others can read.
 *
 * @example
 * ```ts
 * const ring = loadKeyRing({ stateDir: '/srv/shop/.palisade' });
 * ```
 */
export function loadKeyRing(options: LoadKeyRingOptions): KeyRing {
  const env = options.env ?? process.env;
  const fromEnv = env[MASTER_KEY_ENV] ?? '';
  if (fromEnv !== '') {
    const state = ringFromEnv(fromEnv);
    return {
      source: 'env',
      path: undefined,
      active: async () => state.active,
      lookup: async (id) => state.byId.get(id),
      ids: () => [state.active.id, ...[...state.byId.keys()].filter((k) => k !== state.active.id)],
      refresh: async () => undefined,
    };
  }
  const path = options.keyFile ?? join(options.stateDir, KEY_RING_FILE);
  if (!fileExists(path)) throw unavailable(`no key-encryption key: \`${path}\` does not exist and \`${MASTER_KEY_ENV}\` is not set; restore the key ring from its backup (docs/secrets.md)`);
  let state = readRingFile(path);
  let checkedAt = Date.now();
  let reloading: Promise<void> | undefined;
  // Re-reads the file when it changed; concurrent callers share one read.
  const reload = (): Promise<void> => {
    if (reloading === undefined) {
      reloading = Promise.resolve()
        .then(() => {
          const { stamp } = checkKeyFilePermissions(path);
          if (stamp !== state.stamp) state = readRingFile(path);
          checkedAt = Date.now();
        })
        .finally(() => {
          reloading = undefined;
        });
    }
    return reloading;
  };
  return {
    source: 'file',
    path,
    async active() {
      if (Date.now() - checkedAt >= 1000) await reload();
      return state.active;
    },
    async lookup(id) {
      const known = state.byId.get(id);
      if (known !== undefined) return known;
      await reload();
      return state.byId.get(id);
    },
    ids: () => [state.active.id, ...[...state.byId.keys()].filter((k) => k !== state.active.id)],
    refresh: reload,
  };
}

/**
 * Creates the key ring file with one new random KEK; refuses (EEXIST) when one appeared meanwhile.
 * Returns the new key's id.
 */
export function createKeyRingFile(path: string, now: number): string {
  const key = randomBytes(KEY_BYTES);
  const id = localKekId(key);
  writeRingFile(path, { format: 'palisade-key-ring', version: 1, active: id, keys: [{ id, key: key.toString('base64'), createdAt: new Date(now).toISOString() }] }, true);
  key.fill(0);
  return id;
}

/** Adds a new random KEK to the ring file and makes it active; the old keys stay. Returns its id. */
export function addActiveKeyToRingFile(path: string, now: number): string {
  const file = fileFromRing(path);
  const key = randomBytes(KEY_BYTES);
  const id = localKekId(key);
  writeRingFile(path, { ...file, active: id, keys: [...file.keys, { id, key: key.toString('base64'), createdAt: new Date(now).toISOString() }] }, false);
  key.fill(0);
  return id;
}

/** Removes a (non-active) KEK from the ring file. */
export function removeKeyFromRingFile(path: string, id: string): boolean {
  const file = fileFromRing(path);
  if (file.active === id) throw new PalisadeError('PAL_SECRETS_INVALID_STATE', `\`${id}\` is the active key-encryption key; rotate first (\`palisade secrets rotate-kek\`)`, { expose: true });
  const keys = file.keys.filter((k) => k.id !== id);
  if (keys.length === file.keys.length) return false;
  writeRingFile(path, { ...file, keys }, false);
  return true;
}
