// Run as a child process by the crash test: appends in sync mode from 32 concurrent writers and
// prints `ack <requestId>` for every append that resolved, until it is killed.
import { silentLogger } from '../kernel/index.js';
import { makeTestEvent } from './audit-test-events.test-support.js';
import { openAuditLog } from './open-audit-log.js';

const [stateDir, start] = process.argv.slice(2);
if (stateDir !== undefined) {
  const log = await openAuditLog({ stateDir, mode: 'sync', checkpointEvery: 50, checkpointEverySec: 1, logger: silentLogger });
  let next = Number(start ?? '0');
  const writer = async (): Promise<void> => {
    for (;;) {
      const e = makeTestEvent(next++);
      await log.append(e);
      process.stdout.write(`ack ${e.requestId}\n`);
    }
  };
  process.stdout.write('ready\n');
  await Promise.all(Array.from({ length: 32 }, writer));
}
