import { readFileSync, realpathSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PalisadeError } from '../kernel/index.js';

/** The package root (the folder holding package.json), from this compiled file's location. */
export const packageRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

/**
 * The isolated-vm builds Palisade installs, as aliased optional dependencies, newest first.
 * isolated-vm 7 supports only Node >= 24 and ships prebuilt binaries; isolated-vm 5 compiles
 * on Node 20 but not on Node 24 (V8's headers there need C++20). npm skips the one whose
 * `engines` does not match (7 on Node 20) or whose build fails (5 on Node 24).
 */
export const ISOLATED_VM_PACKAGES = [
  // node-gyp-build picks the prebuilt binary; it checks for /etc/alpine-release (musl or glibc build).
  { name: 'isolated-vm-7', minNodeMajor: 24, loads: ['node-gyp-build'], files: ['/etc/alpine-release'] },
  { name: 'isolated-vm-5', minNodeMajor: 20, loads: [], files: [] },
] as const;

/** Where the isolated-vm build for this Node lives. */
export interface IsolatedVmLocation {
  /** The aliased package name (`isolated-vm-5` or `isolated-vm-7`). */
  readonly name: string;
  /** isolated-vm's own version. */
  readonly version: string;
  /** The package folder, with symlinks resolved. */
  readonly dir: string;
  /**
   * What the worker must be allowed to read to load it, as `--allow-fs-read` values: the package
   * and what its entry point requires (`DIR/*`), and single files it probes.
   */
  readonly readPaths: readonly string[];
}

const requireHere = createRequire(import.meta.url);

/** The folder of `name` as Node's resolver finds it from `from`, following symlinks; `undefined` when absent. */
function packageDir(name: string, from: NodeJS.Require): string | undefined {
  try {
    return realpathSync(dirname(from.resolve(`${name}/package.json`)));
  } catch {
    return undefined;
  }
}

let located: IsolatedVmLocation | undefined;

/**
 * Finds the isolated-vm build that fits the running Node, wherever npm put it (nested under
 * Palisade's own `node_modules` or hoisted into the installing project's), and the folders of
 * its run-time dependencies. Resolves paths only; loads nothing.
 *
 * @throws PalisadeError `PAL_RUNTIME_ENGINE_MISSING` when no fitting build is installed.
 * @example
 * ```ts
 * isolatedVmLocation().readPaths; // ['/app/node_modules/isolated-vm-5/*']
 * ```
 */
export function isolatedVmLocation(): IsolatedVmLocation {
  if (located !== undefined) return located;
  const major = Number(process.versions.node.split('.')[0]);
  const fitting = ISOLATED_VM_PACKAGES.filter((p) => major >= p.minNodeMajor);
  for (const candidate of fitting) {
    const dir = packageDir(candidate.name, requireHere);
    if (dir === undefined) continue;
    const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { version?: unknown };
    const requireThere = createRequire(join(dir, 'package.json'));
    // Only what isolated-vm's entry point requires (not its install-time helpers).
    const deps = (candidate.loads as readonly string[]).map((d) => packageDir(d, requireThere));
    const dirs = [dir, ...deps.filter((d): d is string => d !== undefined)];
    located = { name: candidate.name, version: String(pkg.version), dir, readPaths: [...dirs.map((d) => join(d, '*')), ...candidate.files] };
    return located;
  }
  throw new PalisadeError(
    'PAL_RUNTIME_ENGINE_MISSING',
    `no isolated-vm build for Node ${process.versions.node} is installed (looked for ${fitting.map((p) => p.name).join(', ') || 'nothing: Node 20 or newer is required'})`,
  );
}

/** The permission-model switch of the running Node: `--permission` (Node 22.13+), else `--experimental-permission`. */
export function permissionFlag(): '--permission' | '--experimental-permission' {
  return process.allowedNodeEnvironmentFlags.has('--permission') ? '--permission' : '--experimental-permission';
}
