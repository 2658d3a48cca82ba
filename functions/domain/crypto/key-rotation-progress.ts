// A rotation's progress, read by the gauges and the status route without the rotation job itself.
import type { KeyRotation } from '../ports/keys.js';

/** The fraction of a rotation done: 0 while counting, 1 once finished or when nothing lagged. */
export const progressRatio = (rotation: KeyRotation): number => {
  if (rotation.state === 'finished') return 1;
  if (rotation.phase === 'count') return 0;
  return rotation.total === 0 ? 1 : Math.min(1, rotation.done / rotation.total);
};

/**
 * Items under the active key and under older ones, for the sealed-items gauge: as counted, less
 * (and plus) what has been re-sealed since. `activeItems` holds the count phase's tally until the end.
 */
export const sealedItemCounts = (rotation: KeyRotation): { active: number; older: number } => {
  if (rotation.state === 'finished') return { active: rotation.activeItems, older: 0 };
  if (rotation.phase === 'count') return { active: rotation.activeItems, older: rotation.olderItems };
  const moved = Math.min(rotation.done, rotation.total);
  return { active: rotation.activeItems + moved, older: rotation.total - moved };
};
