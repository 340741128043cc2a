/**
 * Workers in an empty network namespace (defence in depth for egress): where the OS allows it
 * (Linux, root or CAP_SYS_ADMIN, `unshare` from util-linux), a worker process starts under
 * `unshare --net`, so it has only a loopback interface that is down: no socket it opens can
 * reach anything. Its IPC channel is an inherited socketpair, which needs no network.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

/** Whether workers run in their own empty network namespace, and if not, why. */
export type NetworkIsolation = { readonly on: true; readonly unshare: string } | { readonly on: false; readonly why: string };

const UNSHARE_PATHS = ['/usr/bin/unshare', '/bin/unshare'];

/**
 * Probes once whether `unshare --net` works here (it runs `unshare --net true`).
 *
 * @example
 * ```ts
 * const isolation = probeNetworkIsolation();
 * if (!isolation.on) logger.warn(`worker network isolation not available: ${isolation.why}`);
 * ```
 */
export function probeNetworkIsolation(): NetworkIsolation {
  if (process.platform !== 'linux') return { on: false, why: `not Linux (${process.platform})` };
  const unshare = UNSHARE_PATHS.find((p) => existsSync(p));
  if (unshare === undefined) return { on: false, why: 'no unshare binary (util-linux)' };
  const probe = spawnSync(unshare, ['--net', '--', 'true'], { stdio: 'ignore', timeout: 5000, env: {} });
  if (probe.error !== undefined || probe.status !== 0) return { on: false, why: 'unshare --net is not permitted (needs root or CAP_SYS_ADMIN)' };
  return { on: true, unshare };
}
