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

import { SHAPES } from './forged-shapes.js';

process.on('message', (message: { t: string; id?: number; functions?: Array<{ name: string; bindingsJson: string }>; req?: { url: string } }) => {
  if (message.t === 'load') {
    const fns = message.functions ?? [];
    const config = JSON.parse(fns[0]?.bindingsJson ?? '{}') as { FAIL_LOAD_AFTER?: number };
    if (config.FAIL_LOAD_AFTER !== undefined && Date.now() > config.FAIL_LOAD_AFTER) {
      process.send?.({ t: 'load-failed', fn: fns[0]?.name ?? 'f', message: 'SyntaxError: Unexpected token' });
      return;
    }
    process.send?.({ t: 'ready', coldStartMs: Object.fromEntries(fns.map((f) => [f.name, 1])) });
    return;
  }
  if (message.t === 'invoke' && message.id !== undefined && message.req !== undefined) {
    const shape = SHAPES[new URL(message.req.url).pathname.slice(1)] ?? SHAPES.ok;
    try {
      process.send?.(shape?.(message.id) as never);
    } catch {
      process.exit(3);
    }
  }
});
