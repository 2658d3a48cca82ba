// Merkle trees over audit events, with RFC 6962's domain separation: a leaf is
// H(0x00 || canonical event), an inner node H(0x01 || left || right), so a leaf
// can never pass for a node. An odd node at the end of a level moves up as is.
import { createHash } from 'node:crypto';
import { canonicalJson, type AuditEvent } from './audit-event.js';

const LEAF = Buffer.from([0]);
const NODE = Buffer.from([1]);

export const EMPTY_ROOT = createHash('sha256').digest('hex');

export const leafHash = (event: AuditEvent): string => createHash('sha256').update(LEAF).update(canonicalJson(event)).digest('hex');

const nodeHash = (left: string, right: string): string =>
  createHash('sha256').update(NODE).update(Buffer.from(left, 'hex')).update(Buffer.from(right, 'hex')).digest('hex');

/** One step of an inclusion proof: the sibling hash and which side it sits on. */
export interface ProofStep {
  readonly side: 'left' | 'right';
  readonly hash: string;
}

/** Every level of the tree, leaves first; the last level holds the root. */
export class MerkleTree {
  private readonly levels: string[][];

  constructor(leaves: readonly string[]) {
    this.levels = [[...leaves]];
    let level = this.levels[0]!;
    while (level.length > 1) {
      const next: string[] = [];
      for (let i = 0; i < level.length; i += 2) next.push(i + 1 < level.length ? nodeHash(level[i]!, level[i + 1]!) : level[i]!);
      this.levels.push(next);
      level = next;
    }
  }

  get root(): string {
    return this.levels.at(-1)?.[0] ?? EMPTY_ROOT;
  }

  /** Siblings from the leaf up to the root. */
  proof(index: number): ProofStep[] {
    const steps: ProofStep[] = [];
    let position = index;
    for (const level of this.levels.slice(0, -1)) {
      const sibling = position % 2 === 0 ? position + 1 : position - 1;
      if (sibling < level.length) steps.push({ side: position % 2 === 0 ? 'right' : 'left', hash: level[sibling]! });
      position = Math.floor(position / 2);
    }
    return steps;
  }
}

/** Whether `leaf` with `proof` leads to `root`: what a SIEM checks for each exported line. */
export const verifyProof = (leaf: string, proof: readonly ProofStep[], root: string): boolean =>
  proof.reduce((hash, step) => (step.side === 'left' ? nodeHash(step.hash, hash) : nodeHash(hash, step.hash)), leaf) === root;
