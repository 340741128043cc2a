// Runs in a worker thread: verifies argon2id hashes so the gateway's event loop never waits on one.
import { readlinkSync } from 'node:fs';
import { setPriority } from 'node:os';
import { parentPort } from 'node:worker_threads';
import { verifyPassword } from './passwords.js';

/** Nice value of verifier threads: below the event loop, so a login storm yields the CPU to other routes. */
const THREAD_NICE = 19;

// Linux: lower this thread's priority only (setpriority on a thread id affects that thread).
// Elsewhere, or if /proc is not mounted, the thread keeps the process priority.
try {
  const tid = Number(readlinkSync('/proc/thread-self').split('/').pop());
  if (Number.isSafeInteger(tid) && tid > 0) setPriority(tid, THREAD_NICE);
} catch {
  // best effort
}

if (parentPort !== null) {
  const port = parentPort;
  port.on('message', (message: unknown) => {
    // The parent is trusted, but a malformed message is still answered "no match", never thrown on.
    const m = message as { id?: unknown; password?: unknown; hash?: unknown } | null;
    if (m === null || typeof m !== 'object' || typeof m.id !== 'number') return;
    if (typeof m.password !== 'string' || typeof m.hash !== 'string') {
      port.postMessage({ id: m.id, ok: false });
      return;
    }
    verifyPassword(m.password, m.hash).then(
      (ok) => port.postMessage({ id: m.id, ok }),
      () => port.postMessage({ id: m.id, ok: false }),
    );
  });
}
