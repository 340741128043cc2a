// Runs in a worker thread: verifies argon2id hashes so the gateway's event loop never waits on one.
import { parentPort } from 'node:worker_threads';
import { verifyPassword } from './passwords.js';

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
