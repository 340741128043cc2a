/**
 * A worker that lies: for tests of the gateway's side of the boundary. It answers `load`
 * correctly (or fails it, on request) and answers each `invoke` with the malformed shape named by
 * the request path. Never shipped as a runtime component.
 */
const parent = process.ppid;
process.on('disconnect', () => process.exit(0));
setInterval(() => {
  if (process.ppid !== parent) process.exit(0);
}, 200).unref();

import { connect } from 'node:net';
import { SHAPES } from './forged-shapes.js';

type Incoming = { t: string; id?: number; functions?: Array<{ name: string; bindingsJson: string }>; req?: { url: string }; m?: Incoming[] };

// The gateway may send several messages in one frame.
process.on('message', (frame: Incoming) => {
  for (const message of frame.t === 'batch' ? (frame.m ?? []) : [frame]) receive(message);
});

function receive(message: Incoming): void {
  if (message.t === 'load') {
    const fns = message.functions ?? [];
    const config = JSON.parse(fns[0]?.bindingsJson ?? '{}') as { FAIL_LOAD_AFTER?: number; HANG_LOAD_AFTER?: number };
    // A worker that hangs while loading: it never answers.
    if (config.HANG_LOAD_AFTER !== undefined && Date.now() > config.HANG_LOAD_AFTER) return;
    if (config.FAIL_LOAD_AFTER !== undefined && Date.now() > config.FAIL_LOAD_AFTER) {
      process.send?.({ t: 'load-failed', fn: fns[0]?.name ?? 'f', message: 'SyntaxError: Unexpected token' });
      return;
    }
    process.send?.({ t: 'ready', coldStartMs: Object.fromEntries(fns.map((f) => [f.name, 1])) });
    return;
  }
  if (message.t === 'invoke' && message.id !== undefined && message.req !== undefined) {
    const url = new URL(message.req.url);
    const name = url.pathname.slice(1);
    if (name === 'net') {
      // What escaped code in a worker would try: its own socket to a port the test listens on.
      const id = message.id;
      const reply = (outcome: string) => process.send?.({ t: 'result', id, ok: true, status: 200, headers: [['x-net', outcome]], size: 2, body: new Uint8Array([111, 107]), cpuMs: 0 });
      const socket = connect(Number(url.searchParams.get('port')), url.searchParams.get('host') ?? '127.0.0.1');
      socket.setTimeout(2000, () => {
        socket.destroy();
        reply('timeout');
      });
      socket.once('connect', () => {
        socket.destroy();
        reply('connected');
      });
      socket.once('error', (error: NodeJS.ErrnoException) => reply(error.code ?? 'error'));
      return;
    }
    const shape = SHAPES[name] ?? SHAPES.ok;
    const id = message.id;
    const answer = () => {
      try {
        process.send?.(shape?.(id) as never);
      } catch {
        process.exit(3);
      }
    };
    if (name.startsWith('slow-')) setTimeout(answer, 150);
    else answer();
  }
}
