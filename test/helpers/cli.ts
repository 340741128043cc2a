import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root. */
export const repoRoot = join(fileURLToPath(import.meta.url), '..', '..', '..', '..');
/** The compiled CLI, run exactly as a user's `palisade` would be. */
export const cliPath = join(repoRoot, 'dist', 'src', 'cli', 'main.js');

/** Runs the CLI to completion. */
export function runCliSync(args: readonly string[], cwd = repoRoot): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [cliPath, ...args], { cwd, encoding: 'utf8', timeout: 60_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Adds a built-in user through the CLI, the password on standard input; fails the test if the CLI refuses. */
export function addUser(dir: string, username: string, roles: readonly string[], password: string): void {
  const r = spawnSync(process.execPath, [cliPath, 'users', 'add', username, dir, ...roles.flatMap((role) => ['--role', role]), '--password-stdin'], { cwd: repoRoot, input: `${password}\n`, encoding: 'utf8', timeout: 60_000 });
  if (r.status !== 0) throw new Error(`palisade users add ${username} exited ${String(r.status)}: ${r.stderr}`);
}

/** Enrols a user in TOTP through the CLI and returns the base32 secret. */
export function enrollTotp(dir: string, username: string): string {
  const r = runCliSync(['users', 'mfa', 'enroll', username, dir, '--json']);
  if (r.status !== 0) throw new Error(`palisade users mfa enroll ${username} exited ${String(r.status)}: ${r.stderr}`);
  return (JSON.parse(r.stdout) as { secret: string }).secret;
}

/** Creates an API key through the CLI and returns it. */
export function createApiKey(dir: string, name: string, roles: readonly string[]): string {
  const r = runCliSync(['apikeys', 'create', dir, '--name', name, ...roles.flatMap((role) => ['--role', role]), '--json']);
  if (r.status !== 0) throw new Error(`palisade apikeys create ${name} exited ${String(r.status)}: ${r.stderr}`);
  return (JSON.parse(r.stdout) as { key: string }).key;
}

/** A `palisade up` process and what it announced. */
export interface RunningCli {
  readonly child: ChildProcess;
  readonly url: string;
  readonly ca: string | undefined;
  readonly stderr: () => string;
  /** Sends SIGTERM and resolves with the exit code. */
  stop(): Promise<number | null>;
}

/**
 * Starts `palisade up DIR --port 0 --json` and waits for its startup line. With `detached`, it
 * leads its own process group, as a command typed at a terminal does (for Ctrl-C tests).
 */
export function startUp(dir: string, extra: readonly string[] = [], options: { detached?: boolean } = {}): Promise<RunningCli> {
  const child = spawn(process.execPath, [cliPath, 'up', dir, '--port', '0', '--json', '--log-level', 'debug', ...extra], { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'], detached: options.detached === true });
  let stdout = '';
  let stderr = '';
  child.stderr?.on('data', (c: Buffer) => (stderr += c.toString('utf8')));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`palisade up did not start in time; stderr:\n${stderr}`));
    }, 60_000);
    child.stdout?.on('data', (c: Buffer) => {
      stdout += c.toString('utf8');
      const line = stdout.split('\n')[0];
      if (line === undefined || !stdout.includes('\n')) return;
      clearTimeout(timer);
      const info = JSON.parse(line) as { url: string; caFile: string | null };
      resolve({
        child,
        url: info.url,
        ca: info.caFile === null ? undefined : readFileSync(info.caFile, 'utf8'),
        stderr: () => stderr,
        stop: () => {
          if (child.exitCode === null) child.kill('SIGTERM');
          return exited;
        },
      });
    });
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`palisade up exited with ${String(code)} before starting; stderr:\n${stderr}`));
    });
  });
}

/** An HTTPS response. */
export interface HttpsReply {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly body: string;
}

/** Sends one HTTPS request trusting only `ca`. The path is sent exactly as given. */
export function fetchTls(url: string, ca: string | undefined, path: string, options: { method?: string; body?: string; headers?: Record<string, string> } = {}): Promise<HttpsReply> {
  const u = new URL(url);
  return new Promise((resolve, reject) => {
    const req = httpsRequest({ host: u.hostname, port: u.port, path, method: options.method ?? 'GET', ca, servername: 'localhost', headers: options.headers ?? {}, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
    });
    req.on('error', reject);
    req.end(options.body);
  });
}

/** Copies a fixture project into a fresh temporary directory. */
export function copyProject(from: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'palisade-e2e-'));
  cpSync(from, dir, { recursive: true, filter: (src) => !src.includes('.palisade') && !src.includes('node_modules') });
  return dir;
}

/** A fresh temporary directory. */
export function tempDir(): string {
  return mkdtempSync(join(tmpdir(), 'palisade-e2e-'));
}

/** The operator log's decision record for a request, polled until it is flushed (≤ 2 s). */
export async function decisionFor(node: RunningCli, requestId: string): Promise<{ status: number; reason: string; authFailure?: string; action?: string }> {
  for (let i = 0; i < 20; i++) {
    const line = node.stderr().split('\n').find((l) => l.includes(requestId) && l.includes('"decision"'));
    if (line !== undefined) return JSON.parse(line) as { status: number; reason: string; authFailure?: string };
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`no decision record for ${requestId}`);
}

/** Writes a project (palisade.yaml and the given files, paths relative to it) into a fresh directory. */
export function writeProject(manifest: string, files: Readonly<Record<string, string>>): string {
  const dir = tempDir();
  writeFileSync(join(dir, 'palisade.yaml'), manifest);
  for (const [file, text] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, file)), { recursive: true });
    writeFileSync(join(dir, file), text);
  }
  return dir;
}
