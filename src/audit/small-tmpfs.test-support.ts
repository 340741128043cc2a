import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * Mounts a tmpfs of `sizeKb` at a fresh directory, for tests of a full disk. Needs the right to
 * mount (root in the test environment); throws with a clear message otherwise.
 */
export function mountSmallTmpfs(sizeKb: number): { readonly dir: string; unmount(): void } {
  const dir = mkdtempSync(join(tmpdir(), 'palisade-tmpfs-'));
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${sizeKb}k,mode=0700`, 'tmpfs', dir], { stdio: 'pipe' });
  } catch (error) {
    rmSync(dir, { recursive: true, force: true });
    throw new Error(`this test mounts a small tmpfs to fill a disk, and could not: ${error instanceof Error ? error.message : String(error)}`);
  }
  return {
    dir,
    unmount() {
      execFileSync('umount', ['-l', dir], { stdio: 'pipe' });
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
