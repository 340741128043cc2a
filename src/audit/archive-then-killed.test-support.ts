// Run as a child process by the retention crash test: writes (and fsyncs) the archive file of
// the events before `beforeSeq`, then dies by SIGKILL before a single row is pruned.
import { writeAuditArchive } from './archive-audit-log.js';

const [stateDir, beforeSeq, out] = process.argv.slice(2);
if (stateDir !== undefined && out !== undefined) {
  writeAuditArchive({ stateDir, cut: { beforeSeq: Number(beforeSeq) }, out, now: Date.now });
  process.kill(process.pid, 'SIGKILL');
}
