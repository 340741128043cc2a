/**
 * Entry point of a worker process. Started by the gateway's worker pool under Node's permission
 * model. It first makes sure it cannot outlive the gateway, then loads the worker proper (the
 * isolates), so that the guard is in place before the slow part of start-up.
 *
 * INVARIANT: this process never outlives the gateway: it leaves when the channel closes or when
 * its parent changes (the gateway was killed), at every stage including start-up. It ignores
 * SIGINT and SIGTERM, which the gateway handles for it.
 */
const parent = process.ppid;
// Leaving at once: process.exit() would wait for an isolate thread busy in a long task (a slow
// module load on a saturated machine), so an orphan could linger for seconds.
const vanish = (): void => {
  process.kill(process.pid, 'SIGKILL');
};
process.on('disconnect', vanish);
// Ctrl-C at a terminal (or a signal to the whole process group, as service managers send)
// reaches the workers too. Their lifetime is the gateway's: it drains in-flight requests, then
// closes the channel, and the worker vanishes. Dying on the signal would cut those requests off.
process.on('SIGINT', () => undefined);
process.on('SIGTERM', () => undefined);
setInterval(() => {
  if (process.ppid !== parent || !process.connected) vanish();
}, 100).unref();

await import('./worker-host.js');
