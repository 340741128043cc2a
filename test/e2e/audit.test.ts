import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { closeSync, cpSync, openSync, readdirSync, readFileSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import Database from 'better-sqlite3';
import { fetchTls, runCliSync, startUp, tempDir, writeProject, type RunningCli } from '../helpers/cli.js';

const MANIFEST = [
  'name: audited',
  'audit: { checkpoint: { everyEvents: 25, everySeconds: 1 } }',
  'functions:',
  '  hello: { source: functions/hello.ts }',
  'routes:',
  '  - { path: /hello, function: hello, public: true }',
  '  - { path: /private, function: hello }',
  '',
].join('\n');
const FILES = { 'functions/hello.ts': 'export default { async fetch(): Promise<Response> { return new Response("hello"); } };\n' };

const cleanups: (() => void)[] = [];
after(() => {
  for (const c of cleanups.reverse()) c();
});

function storedRequestIds(dir: string): Set<string> {
  const db = new Database(join(dir, '.palisade', 'audit.db'), { readonly: true });
  try {
    return new Set((db.prepare('SELECT event FROM audit_events').pluck().all() as string[]).map((t) => (JSON.parse(t) as { requestId: string }).requestId));
  } finally {
    db.close();
  }
}

/** Writes `path` until the filesystem has no block left. */
function fillDisk(path: string): void {
  const fd = openSync(path, 'w');
  const chunk = Buffer.alloc(4096);
  try {
    for (;;) writeSync(fd, chunk);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOSPC') throw error;
  } finally {
    closeSync(fd);
  }
}

/** Runs `workers` concurrent request loops until `stop()`; records the request id of every response received. */
function load(node: RunningCli, workers: number, path = '/hello'): { answered: Map<string, number>; stop(): Promise<void> } {
  const answered = new Map<string, number>();
  let running = true;
  const loops = Array.from({ length: workers }, async () => {
    while (running) {
      try {
        const r = await fetchTls(node.url, node.ca, path);
        answered.set(String(r.headers['x-request-id']), r.status);
      } catch {
        if (node.child.exitCode !== null || node.child.signalCode !== null) return;
      }
    }
  });
  return {
    answered,
    async stop() {
      running = false;
      await Promise.all(loops);
    },
  };
}

describe('the audit trail of a real node', () => {
  test('records every request, keeps tokens and query strings out, and the CLI verifies, proves, searches and exports it', async () => {
    const dir = writeProject(MANIFEST, FILES);
    const node = await startUp(dir);
    try {
      for (let i = 0; i < 30; i++) assert.equal((await fetchTls(node.url, node.ca, '/hello', { headers: { 'user-agent': 'e2e-agent/1.0' } })).status, 200);
      for (let i = 0; i < 10; i++) assert.equal((await fetchTls(node.url, node.ca, '/private?token=query-secret-value', { headers: { authorization: 'Bearer bearer-secret-value' } })).status, 401);
    } finally {
      assert.equal(await node.stop(), 0);
    }
    const db = readdirSync(join(dir, '.palisade')).filter((f) => f.startsWith('audit.db')).map((f) => readFileSync(join(dir, '.palisade', f), 'latin1')).join('');
    assert.ok(db.includes('e2e-agent/1.0'), 'the user agent is recorded');
    for (const secret of ['query-secret-value', 'bearer-secret-value', 'token=']) assert.ok(!db.includes(secret), `${secret} must not reach the audit log`);

    const verify = runCliSync(['audit', 'verify', dir, '--json']);
    assert.equal(verify.status, 0, verify.stdout + verify.stderr);
    const report = JSON.parse(verify.stdout) as { ok: boolean; size: number; signedSize: number };
    assert.ok(report.ok && report.size === 40 && report.signedSize === 40, verify.stdout);

    const denied = runCliSync(['audit', 'search', dir, '--decision', 'deny', '--json']);
    assert.equal(denied.stdout.trim().split('\n').length, 10);
    const ocsf = runCliSync(['audit', 'export', dir, '--format', 'ocsf', '--since', '1h']).stdout.trim().split('\n').map((l) => JSON.parse(l) as { class_uid: number; metadata: { sequence: number } });
    assert.equal(ocsf.length, 40);
    assert.ok(ocsf.every((e, i) => e.class_uid === 6003 && e.metadata.sequence === i + 1));
    assert.match(runCliSync(['audit', 'export', dir, '--format', 'cef']).stdout.split('\n')[0] ?? '', /^CEF:0\|Palisade\|Palisade\|/);
    assert.equal(runCliSync(['audit', 'tail', dir, '-n', '3']).stdout.trim().split('\n').length, 3);

    const proof = runCliSync(['audit', 'proof', '17', dir]);
    assert.equal(proof.status, 0, proof.stderr);
    const proofFile = join(dir, 'proof.json');
    writeFileSync(proofFile, proof.stdout);
    assert.equal(runCliSync(['audit', 'check-proof', proofFile, dir]).status, 0);
    const bad = JSON.parse(proof.stdout) as { event: string };
    writeFileSync(proofFile, JSON.stringify({ ...bad, event: bad.event.replace('"status":200', '"status":201') }));
    assert.equal(runCliSync(['audit', 'check-proof', proofFile, dir]).status, 2);

    // Tamper with one row: verification fails with exit 2 and names it.
    const rw = new Database(join(dir, '.palisade', 'audit.db'));
    rw.prepare("UPDATE audit_events SET event = replace(event, '\"status\":401', '\"status\":200') WHERE seq = 33").run();
    rw.close();
    const broken = runCliSync(['audit', 'verify', dir]);
    assert.equal(broken.status, 2);
    assert.match(broken.stdout, /first bad sequence number 33: hash-mismatch/);
  });

  test('archive while the node runs: the pruned log, the archive alone and both together verify; a restarted node continues the chain', async () => {
    const dir = writeProject(MANIFEST, FILES);
    const archive = join(dir, 'archive-1.jsonl');
    let node = await startUp(dir);
    try {
      for (let i = 0; i < 30; i++) assert.equal((await fetchTls(node.url, node.ca, '/hello')).status, 200);
      const r = runCliSync(['audit', 'archive', dir, '--before-seq', '21', '--out', archive, '--json']);
      assert.equal(r.status, 0, r.stdout + r.stderr);
      assert.deepEqual((JSON.parse(r.stdout) as { first: number; last: number }), { ...(JSON.parse(r.stdout) as object), first: 1, last: 20 });
      for (let i = 0; i < 10; i++) assert.equal((await fetchTls(node.url, node.ca, '/hello')).status, 200);
    } finally {
      assert.equal(await node.stop(), 0);
    }
    node = await startUp(dir);
    try {
      for (let i = 0; i < 5; i++) assert.equal((await fetchTls(node.url, node.ca, '/hello')).status, 200);
    } finally {
      assert.equal(await node.stop(), 0);
    }
    const live = runCliSync(['audit', 'verify', dir, '--json']);
    assert.equal(live.status, 0, live.stdout + live.stderr);
    assert.deepEqual((JSON.parse(live.stdout) as { start: number; size: number }).start, 21);
    assert.equal((JSON.parse(live.stdout) as { size: number }).size, 45);
    const together = runCliSync(['audit', 'verify', dir, '--archive', archive]);
    assert.equal(together.status, 0, together.stdout);
    assert.match(together.stdout, /intact: events 1\.\.45/);
    assert.equal(runCliSync(['audit', 'verify', '--archive-only', '--archive', archive, '--key', join(dir, '.palisade', 'audit.pub')]).status, 0);
    const proof = runCliSync(['audit', 'proof', '5', dir]);
    assert.notEqual(proof.status, 0);
    assert.match(proof.stderr, /PAL_AUDIT_ARCHIVED: event 5 was archived/);
    writeFileSync(archive, readFileSync(archive, 'utf8').replace('\\"status\\":200', '\\"status\\":201'));
    const modified = runCliSync(['audit', 'verify', dir, '--archive', archive]);
    assert.equal(modified.status, 2, modified.stdout);
    assert.match(modified.stdout, /archive-modified/);
    assert.match(runCliSync(['audit', '--help']).stdout, /archive \[DIR\] --before-seq N/);
  });

  test('SIGKILL under concurrent load, three times: every request that got a response has its event, and the chain verifies', async () => {
    const dir = writeProject(MANIFEST, FILES);
    const answered = new Map<string, number>();
    for (let round = 0; round < 3; round++) {
      const node = await startUp(dir);
      const l = load(node, 6);
      const target = answered.size + 40 + round * 15;
      for (let i = 0; i < 300 && answered.size + l.answered.size < target; i++) await new Promise((r) => setTimeout(r, 50));
      node.child.kill('SIGKILL');
      await l.stop();
      for (const [k, v] of l.answered) answered.set(k, v);
    }
    const ok = [...answered].filter(([, s]) => s === 200).map(([id]) => id);
    assert.ok(ok.length > 60, `only ${ok.length} answered`);
    const stored = storedRequestIds(dir);
    assert.deepEqual(ok.filter((id) => !stored.has(id)), [], 'a request that got a response has no audit event');
    // A restart signs what the crash left unsigned; then the chain verifies.
    const node = await startUp(dir);
    assert.equal(await node.stop(), 0);
    const verify = runCliSync(['audit', 'verify', dir]);
    assert.equal(verify.status, 0, verify.stdout + verify.stderr);
  });

  test('a full disk under the audit log: 503 PAL_AUDIT_UNAVAILABLE, nothing unaudited is answered, and service resumes within 10 s without a restart', async () => {
    const mount = tempDir();
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=8m', 'tmpfs', mount]);
    cleanups.push(() => {
      execFileSync('umount', ['-l', mount]);
      rmSync(mount, { recursive: true, force: true });
    });
    const dir = join(mount, 'project');
    cpSync(writeProject(MANIFEST, FILES), dir, { recursive: true });
    const node = await startUp(dir);
    try {
      assert.equal((await fetchTls(node.url, node.ca, '/hello')).status, 200);
      fillDisk(join(mount, 'filler'));
      const answered = new Map<string, number>();
      let refusedBody = '';
      for (let i = 0; i < 400 && refusedBody === ''; i++) {
        const replies = await Promise.all(Array.from({ length: 10 }, () => fetchTls(node.url, node.ca, '/hello')));
        for (const r of replies) {
          answered.set(String(r.headers['x-request-id']), r.status);
          if (r.status === 503) refusedBody = r.body;
        }
      }
      assert.match(refusedBody, /PAL_AUDIT_UNAVAILABLE/);
      for (let i = 0; i < 20; i++) {
        const r = await fetchTls(node.url, node.ca, '/hello');
        answered.set(String(r.headers['x-request-id']), r.status);
      }
      const stored = storedRequestIds(dir);
      for (const [id, status] of answered) if (status === 200) assert.ok(stored.has(id), `request ${id} was answered 200 but not recorded`);
      rmSync(join(mount, 'filler'));
      const started = Date.now();
      let status = 0;
      while (status !== 200 && Date.now() - started < 10_000) {
        status = (await fetchTls(node.url, node.ca, '/hello')).status;
        if (status !== 200) await new Promise((r) => setTimeout(r, 250));
      }
      assert.equal(status, 200, 'service did not resume within 10 s');
    } finally {
      assert.equal(await node.stop(), 0);
    }
    assert.equal(runCliSync(['audit', 'verify', dir]).status, 0);
  });
});
