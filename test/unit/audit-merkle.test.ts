import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { canonicalJson } from '../../functions/domain/audit/audit-event.js';
import { EMPTY_ROOT, leafHash, MerkleTree, verifyProof, type ProofStep } from '../../functions/domain/audit/merkle.js';
import { sampleEvent } from './support/in-memory-audit.js';

const sha256 = (...parts: Buffer[]): string => createHash('sha256').update(Buffer.concat(parts)).digest('hex');
const hex = (value: string): Buffer => Buffer.from(value, 'hex');

/** RFC 6962 section 2.1 written out independently: split at the largest power of two below n. */
const rfc6962Root = (leaves: readonly string[]): string => {
  if (leaves.length === 0) return sha256();
  if (leaves.length === 1) return leaves[0]!;
  let k = 1;
  while (k * 2 < leaves.length) k *= 2;
  return sha256(Buffer.from([1]), hex(rfc6962Root(leaves.slice(0, k))), hex(rfc6962Root(leaves.slice(k))));
};

const leavesOf = (n: number): string[] => Array.from({ length: n }, () => leafHash(sampleEvent()));
const flip = (hash: string): string => (hash[0] === '0' ? '1' : '0') + hash.slice(1);

describe('leaf and node hashing', () => {
  it('hashes a leaf as sha256(0x00 || canonical event)', () => {
    const event = sampleEvent();
    expect(leafHash(event)).toBe(sha256(Buffer.from([0]), Buffer.from(canonicalJson(event))));
    expect(leafHash(event)).not.toBe(sha256(Buffer.from(canonicalJson(event))));
  });

  it('hashes a node as sha256(0x01 || left || right), never like a leaf of the same bytes', () => {
    const [a, b] = leavesOf(2) as [string, string];
    const root = new MerkleTree([a, b]).root;
    expect(root).toBe(sha256(Buffer.from([1]), hex(a), hex(b)));
    expect(root).not.toBe(sha256(Buffer.from([0]), hex(a), hex(b)));
    expect(root).not.toBe(sha256(hex(a), hex(b)));
  });

  it('is independent of the key order of the event object', () => {
    const event = sampleEvent({ details: { b: 2, a: 1 } });
    const reordered = Object.fromEntries(Object.entries(event).reverse()) as typeof event;
    expect(leafHash(reordered)).toBe(leafHash(event));
  });
});

describe('MerkleTree', () => {
  it('has the empty hash as the root of no leaves and the leaf itself as the root of one', () => {
    expect(new MerkleTree([]).root).toBe(EMPTY_ROOT);
    expect(EMPTY_ROOT).toBe(sha256());
    const [only] = leavesOf(1) as [string];
    expect(new MerkleTree([only]).root).toBe(only);
    expect(new MerkleTree([only]).proof(0)).toEqual([]);
    expect(verifyProof(only, [], only)).toBe(true);
  });

  it.each([0, 1, 2, 3, 4, 5, 7, 8, 13])('gives RFC 6962 roots for %i leaves', (n) => {
    const leaves = leavesOf(n);
    expect(new MerkleTree(leaves).root).toBe(rfc6962Root(leaves));
  });

  it.each([2, 3, 5, 8, 13])('proves every one of %i leaves, and refuses a flipped leaf or step', (n) => {
    const leaves = leavesOf(n);
    const tree = new MerkleTree(leaves);
    leaves.forEach((leaf, index) => {
      const proof = tree.proof(index);
      expect(proof.length).toBeLessThanOrEqual(Math.ceil(Math.log2(n)));
      expect(verifyProof(leaf, proof, tree.root)).toBe(true);
      expect(verifyProof(flip(leaf), proof, tree.root)).toBe(false);
      proof.forEach((_, step) => {
        const altered: ProofStep[] = proof.map((s, i) => (i === step ? { ...s, hash: flip(s.hash) } : s));
        expect(verifyProof(leaf, altered, tree.root)).toBe(false);
        const swapped: ProofStep[] = proof.map((s, i) => (i === step ? { ...s, side: s.side === 'left' ? 'right' : 'left' } : s));
        expect(verifyProof(leaf, swapped, tree.root)).toBe(false);
      });
      // A proof for one position does not prove another leaf there.
      const other = leaves[(index + 1) % n]!;
      expect(verifyProof(other, proof, tree.root)).toBe(false);
    });
  });

  it('changes the root when any leaf changes or two leaves swap', () => {
    const leaves = leavesOf(5);
    const root = new MerkleTree(leaves).root;
    for (let i = 0; i < leaves.length; i += 1) expect(new MerkleTree(leaves.map((l, j) => (j === i ? flip(l) : l))).root).not.toBe(root);
    expect(new MerkleTree([leaves[1]!, leaves[0]!, ...leaves.slice(2)]).root).not.toBe(root);
  });
});
