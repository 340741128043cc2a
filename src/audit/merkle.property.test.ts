import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { test } from 'node:test';
import fc from 'fast-check';
import { computeMerkleRoot, createInclusionProof, createInclusionProofAfterPrefix, EMPTY_TREE_ROOT, hashChildren, hashLeaf, MerkleFrontier, verifyInclusionProof } from './merkle.js';

const leafData = (i: number): Buffer => createHash('sha256').update(`leaf ${i}`).digest();
const leaves = (n: number): Buffer[] => Array.from({ length: n }, (_, i) => leafData(i));

test('RFC 6962 shapes: empty, one leaf, and the unbalanced tree of three', () => {
  assert.equal(computeMerkleRoot([]).toString('hex'), 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
  assert.deepEqual(computeMerkleRoot([Buffer.from('')]), createHash('sha256').update(Buffer.from([0])).digest());
  const [a, b, c] = leaves(3) as [Buffer, Buffer, Buffer];
  assert.deepEqual(computeMerkleRoot([a, b, c]), hashChildren(hashChildren(hashLeaf(a), hashLeaf(b)), hashLeaf(c)));
  assert.deepEqual(new MerkleFrontier().root(), EMPTY_TREE_ROOT);
});

test('the incremental frontier has the RFC 6962 root at every size', () => {
  const all = leaves(70);
  const tree = new MerkleFrontier();
  for (let n = 1; n <= all.length; n++) {
    tree.append(all[n - 1] as Buffer);
    assert.deepEqual(tree.root(), computeMerkleRoot(all.slice(0, n)), `size ${n}`);
  }
});

test('every inclusion proof verifies against its root, and only at its own index', () => {
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 90 }), fc.nat(), (n, pick) => {
      const all = leaves(n);
      const root = computeMerkleRoot(all);
      const i = pick % n;
      const proof = createInclusionProof(all, i);
      assert.ok(verifyInclusionProof(all[i] as Buffer, i, n, proof, root));
      if (n > 1) assert.ok(!verifyInclusionProof(all[i] as Buffer, (i + 1) % n, n, proof, root));
      assert.ok(!verifyInclusionProof(all[i] as Buffer, i, n, proof, computeMerkleRoot(leaves(n + 1))));
    }),
    { numRuns: 400 },
  );
});

function flipBit(buf: Uint8Array, bit: number): Buffer {
  const out = Buffer.from(buf);
  out[Math.floor(bit / 8) % out.length] = (out[Math.floor(bit / 8) % out.length] as number) ^ (1 << (bit % 8));
  return out;
}

test('any single-bit change to the leaf, a proof node or the root makes verification fail', () => {
  fc.assert(
    fc.property(fc.integer({ min: 2, max: 64 }), fc.nat(), fc.nat({ max: 255 }), fc.constantFrom('leaf', 'proof', 'root'), (n, pick, bit, where) => {
      const all = leaves(n);
      const root = computeMerkleRoot(all);
      const i = pick % n;
      const proof = createInclusionProof(all, i);
      const leaf = all[i] as Buffer;
      if (where === 'leaf') assert.ok(!verifyInclusionProof(flipBit(leaf, bit), i, n, proof, root));
      else if (where === 'root') assert.ok(!verifyInclusionProof(leaf, i, n, proof, flipBit(root, bit)));
      else {
        const j = pick % proof.length;
        const bad = proof.map((p, k) => (k === j ? flipBit(p, bit) : p));
        assert.ok(!verifyInclusionProof(leaf, i, n, bad, root));
      }
    }),
    { numRuns: 1500 },
  );
});

test('a proof with a node missing or added fails', () => {
  const all = leaves(13);
  const root = computeMerkleRoot(all);
  const proof = createInclusionProof(all, 5);
  assert.ok(!verifyInclusionProof(all[5] as Buffer, 5, 13, proof.slice(1), root));
  assert.ok(!verifyInclusionProof(all[5] as Buffer, 5, 13, [...proof, proof[0] as Buffer], root));
  assert.ok(!verifyInclusionProof(all[5] as Buffer, 13, 13, proof, root));
});

test('a tree resumed from a compact range (an archived prefix) has the same roots and proofs as the whole tree', () => {
  fc.assert(
    fc.property(fc.integer({ min: 2, max: 90 }), fc.nat(), fc.nat(), (n, p0, i0) => {
      const all = leaves(n);
      const prefix = 1 + (p0 % (n - 1));
      const head = new MerkleFrontier();
      for (const l of all.slice(0, prefix)) head.append(l);
      const range = head.compactRange();
      assert.equal(range.length, prefix.toString(2).replace(/0/g, '').length);
      const resumed = MerkleFrontier.fromCompactRange(prefix, range);
      assert.ok(resumed !== undefined);
      assert.deepEqual(resumed.root(), computeMerkleRoot(all.slice(0, prefix)));
      for (const l of all.slice(prefix)) resumed.append(l);
      assert.deepEqual(resumed.root(), computeMerkleRoot(all));
      const index = prefix + (i0 % (n - prefix));
      assert.deepEqual(createInclusionProofAfterPrefix(prefix, range, all.slice(prefix), index), createInclusionProof(all, index));
    }),
    { numRuns: 300 },
  );
});

test('a compact range with the wrong number or size of nodes is refused', () => {
  const h = leafData(1);
  assert.equal(MerkleFrontier.fromCompactRange(3, [h]), undefined);
  assert.equal(MerkleFrontier.fromCompactRange(2, [h, h]), undefined);
  assert.equal(MerkleFrontier.fromCompactRange(1, [Buffer.alloc(31)]), undefined);
  assert.equal(MerkleFrontier.fromCompactRange(-1, []), undefined);
  assert.ok(MerkleFrontier.fromCompactRange(0, []) !== undefined);
});
