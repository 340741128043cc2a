import { createHash, hash } from 'node:crypto';

/**
 * RFC 6962 §2.1 Merkle tree hashing over the audit chain's event hashes (the leaves' data).
 * Leaves are `SHA-256(0x00 ‖ data)`, interior nodes `SHA-256(0x01 ‖ left ‖ right)`: the prefix
 * byte keeps a leaf from passing as a node (second-preimage attack on the tree).
 */
const LEAF = Buffer.from([0]);
const NODE = Buffer.from([1]);

// Scratch inputs for one-shot hashing of the common 32-byte case (hashing is synchronous, so
// one buffer each is enough): a one-shot `hash()` costs far less than createHash/update/digest.
const LEAF_INPUT = Buffer.alloc(33);
const NODE_INPUT = Buffer.alloc(65);
NODE_INPUT[0] = 1;

/** `SHA-256(0x00 ‖ data)`. */
export function hashLeaf(data: Uint8Array): Buffer {
  if (data.length !== 32) return createHash('sha256').update(LEAF).update(data).digest();
  LEAF_INPUT.set(data, 1);
  return hash('sha256', LEAF_INPUT, 'buffer');
}

/** `SHA-256(0x01 ‖ left ‖ right)`. */
export function hashChildren(left: Uint8Array, right: Uint8Array): Buffer {
  if (left.length !== 32 || right.length !== 32) return createHash('sha256').update(NODE).update(left).update(right).digest();
  NODE_INPUT.set(left, 1);
  NODE_INPUT.set(right, 33);
  return hash('sha256', NODE_INPUT, 'buffer');
}

/** RFC 6962 MTH of the empty tree: `SHA-256()`. */
export const EMPTY_TREE_ROOT: Buffer = createHash('sha256').digest();

/**
 * An append-only Merkle tree that keeps only its right frontier (one root per perfect subtree),
 * so appending is O(log n) and the root of the current size is always at hand.
 *
 * @example
 * ```ts
 * const tree = new MerkleFrontier();
 * tree.append(eventHash);
 * tree.root(); // RFC 6962 MTH of every leaf so far
 * ```
 */
export class MerkleFrontier {
  #nodes: Buffer[] = [];
  #heights: number[] = [];
  #size = 0;

  /** Number of leaves. */
  get size(): number {
    return this.#size;
  }

  /** Adds one leaf (its data, not its leaf hash). */
  append(data: Uint8Array): void {
    this.appendLeafHash(hashLeaf(data));
  }

  /** Adds one leaf given its leaf hash. */
  appendLeafHash(leafHash: Buffer): void {
    let node = leafHash;
    let height = 0;
    // Merge equal-height perfect subtrees, as a binary counter carries.
    while (this.#heights.length > 0 && this.#heights[this.#heights.length - 1] === height) {
      node = hashChildren(this.#nodes.pop() as Buffer, node);
      this.#heights.pop();
      height++;
    }
    this.#nodes.push(node);
    this.#heights.push(height);
    this.#size++;
  }

  /** The RFC 6962 root of the leaves so far. */
  root(): Buffer {
    if (this.#nodes.length === 0) return EMPTY_TREE_ROOT;
    // RFC 6962 splits at the largest power of two below n: the frontier's perfect subtrees,
    // folded from the right, are exactly that recursion.
    let acc = this.#nodes[this.#nodes.length - 1] as Buffer;
    for (let i = this.#nodes.length - 2; i >= 0; i--) acc = hashChildren(this.#nodes[i] as Buffer, acc);
    return acc;
  }

  /**
   * The compact range `[0, size)`: the roots of the perfect subtrees the tree of this size is
   * made of, left to right, largest first (one per set bit of `size`). With it, the tree can be
   * continued and its root computed without the leaves it covers (an archived prefix).
   */
  compactRange(): Buffer[] {
    return [...this.#nodes];
  }

  /**
   * Rebuilds a frontier from a compact range (see {@link MerkleFrontier.compactRange}); undefined
   * when `nodes` does not have one 32-byte node per set bit of `size`.
   */
  static fromCompactRange(size: number, nodes: readonly Uint8Array[]): MerkleFrontier | undefined {
    if (!Number.isSafeInteger(size) || size < 0) return undefined;
    const heights: number[] = [];
    for (let h = 52; h >= 0; h--) if (Math.floor(size / 2 ** h) % 2 === 1) heights.push(h);
    if (heights.length !== nodes.length || nodes.some((n) => n.length !== 32)) return undefined;
    const f = new MerkleFrontier();
    f.#nodes = nodes.map((n) => Buffer.from(n));
    f.#heights = heights;
    f.#size = size;
    return f;
  }

  /** A copy, for tentative appends that may be rolled back. */
  clone(): MerkleFrontier {
    const c = new MerkleFrontier();
    c.#nodes = [...this.#nodes];
    c.#heights = [...this.#heights];
    c.#size = this.#size;
    return c;
  }
}

function largestPowerOfTwoBelow(n: number): number {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

function subtreeRoot(leafHashes: readonly Buffer[], start: number, end: number): Buffer {
  const n = end - start;
  if (n === 1) return leafHashes[start] as Buffer;
  const k = largestPowerOfTwoBelow(n);
  return hashChildren(subtreeRoot(leafHashes, start, start + k), subtreeRoot(leafHashes, start + k, end));
}

/** RFC 6962 MTH over leaves given by their data. */
export function computeMerkleRoot(leaves: readonly Uint8Array[]): Buffer {
  if (leaves.length === 0) return EMPTY_TREE_ROOT;
  return subtreeRoot(leaves.map(hashLeaf), 0, leaves.length);
}

/**
 * RFC 6962 §2.1.1 audit path (inclusion proof) for leaf `index` (0-based) in the tree of all
 * `leaves` (given by their data).
 */
export function createInclusionProof(leaves: readonly Uint8Array[], index: number): Buffer[] {
  if (!Number.isInteger(index) || index < 0 || index >= leaves.length) throw new RangeError('leaf index out of range');
  const hashes = leaves.map(hashLeaf);
  const path: Buffer[] = [];
  const walk = (m: number, start: number, end: number): void => {
    const n = end - start;
    if (n === 1) return;
    const k = largestPowerOfTwoBelow(n);
    if (m < k) {
      walk(m, start, start + k);
      path.push(subtreeRoot(hashes, start + k, end));
    } else {
      walk(m - k, start + k, end);
      path.push(subtreeRoot(hashes, start, start + k));
    }
  };
  walk(index, 0, hashes.length);
  return path;
}

/**
 * The audit path of leaf `index` in the tree of size `prefixSize + leaves.length`, when the
 * first `prefixSize` leaves are known only by their compact range `prefix` (they were archived).
 * The leaf must be after the prefix: every path node left of it is then a whole node of the
 * compact range (aligned subtrees nest), so the archived leaves are never needed.
 */
export function createInclusionProofAfterPrefix(prefixSize: number, prefix: readonly Buffer[], leaves: readonly Uint8Array[], index: number): Buffer[] {
  const size = prefixSize + leaves.length;
  if (!Number.isInteger(index) || index < prefixSize || index >= size) throw new RangeError('leaf index out of range');
  const known = new Map<string, Buffer>();
  let at = 0;
  for (let h = 52, i = 0; h >= 0; h--) {
    if (Math.floor(prefixSize / 2 ** h) % 2 === 0) continue;
    known.set(`${at}:${at + 2 ** h}`, prefix[i++] as Buffer);
    at += 2 ** h;
  }
  const hashes = leaves.map(hashLeaf);
  const root = (start: number, end: number): Buffer => {
    const k = known.get(`${start}:${end}`);
    if (k !== undefined) return k;
    if (start < prefixSize) {
      if (end - start === 1) throw new RangeError('an archived leaf is needed for this proof');
      const split = largestPowerOfTwoBelow(end - start);
      return hashChildren(root(start, start + split), root(start + split, end));
    }
    return subtreeRoot(hashes, start - prefixSize, end - prefixSize);
  };
  const path: Buffer[] = [];
  const walk = (m: number, start: number, end: number): void => {
    const n = end - start;
    if (n === 1) return;
    const k = largestPowerOfTwoBelow(n);
    if (m < k) {
      walk(m, start, start + k);
      path.push(root(start + k, end));
    } else {
      walk(m - k, start + k, end);
      path.push(root(start, start + k));
    }
  };
  walk(index, 0, size);
  return path;
}

/**
 * Verifies an inclusion proof by RFC 9162 §2.1.3.2: recomputes the root from the leaf's data,
 * its index, the tree size and the audit path, and compares it with `root`.
 */
export function verifyInclusionProof(leaf: Uint8Array, index: number, treeSize: number, proof: readonly Uint8Array[], root: Uint8Array): boolean {
  if (!Number.isInteger(index) || !Number.isInteger(treeSize) || index < 0 || index >= treeSize) return false;
  let fn = index;
  let sn = treeSize - 1;
  let r: Buffer = hashLeaf(leaf);
  for (const p of proof) {
    if (p.length !== 32 || sn === 0) return false;
    if ((fn & 1) === 1 || fn === sn) {
      r = hashChildren(p, r);
      if ((fn & 1) === 0) {
        while ((fn & 1) === 0 && fn !== 0) {
          fn = Math.floor(fn / 2);
          sn = Math.floor(sn / 2);
        }
      }
    } else {
      r = hashChildren(r, p);
    }
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  return sn === 0 && root.length === 32 && Buffer.compare(r, Buffer.from(root)) === 0;
}
