/**
 * Entry point of a worker process: hosts the isolates of one segment. Started by the gateway's
 * worker pool under Node's permission model; talks only over the IPC channel.
 *
 * INVARIANT: no isolate ever runs in the gateway process; a V8 abort here kills only this worker.
 */
import { compilePrelude, FunctionSandbox, SparePool, type SandboxLog } from './function-sandbox.js';
import type { GatewayToWorker, WorkerToGateway } from './protocol.js';

const send = (message: WorkerToGateway): void => {
  if (process.connected) process.send?.(message);
};

const sandboxes = new Map<string, FunctionSandbox>();
let spares: SparePool | undefined;

const log: SandboxLog = (fn, requestId, level, message) => send({ t: 'log', fn, requestId, level, message });

async function load(message: Extract<GatewayToWorker, { t: 'load' }>): Promise<void> {
  const prelude = await compilePrelude(message.prelude);
  spares = new SparePool(prelude);
  const coldStartMs: Record<string, number> = {};
  for (const fn of message.functions) {
    const sandbox = new FunctionSandbox(fn, spares, log);
    try {
      coldStartMs[fn.name] = await sandbox.warm();
    } catch (error) {
      send({ t: 'load-failed', fn: fn.name, message: error instanceof Error ? error.message : String(error) });
      return;
    }
    sandboxes.set(fn.name, sandbox);
  }
  send({ t: 'ready', coldStartMs });
}

async function invoke(message: Extract<GatewayToWorker, { t: 'invoke' }>): Promise<void> {
  const sandbox = sandboxes.get(message.fn);
  if (sandbox === undefined) {
    send({ t: 'result', id: message.id, ok: false, failure: 'unknown-function', detail: `no function \`${message.fn}\` in this worker`, cpuMs: 0 });
    return;
  }
  const result = await sandbox.invoke(message.req);
  send({ t: 'result', id: message.id, ...result });
}

process.on('message', (message: GatewayToWorker) => {
  if (message.t === 'load') void load(message);
  else if (message.t === 'invoke') void invoke(message);
});

// The gateway owns our lifetime: when the channel closes, leave.
process.on('disconnect', () => {
  for (const s of sandboxes.values()) s.dispose();
  void spares?.close().finally(() => process.exit(0));
});
