import type { StageSpec } from '../vocabulary/index.js';

/** Lexicographic order by code point: timestamp prefixes give creation order, independent of locale. */
export function compareIds(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** What ordering needs of a change or a history record. */
export interface Ordered {
  readonly id: string;
  readonly stage: string | undefined;
}

/**
 * The run order: stages in their declared order, ids in lexicographic order
 * inside each. A change of a stage that no longer exists (a record whose
 * folder was removed) sorts before every stage, so it is never mistaken for
 * the newest. Without stages this is `compareIds`.
 */
export function changeOrder(stages: readonly StageSpec[]): (a: Ordered, b: Ordered) => number {
  if (stages.length === 0) return (a, b) => compareIds(a.id, b.id);
  const rank = new Map(stages.map((stage, index) => [stage.name, index]));
  const rankOf = (stage: string | undefined) => (stage === undefined ? -1 : (rank.get(stage) ?? -1));
  return (a, b) => rankOf(a.stage) - rankOf(b.stage) || compareIds(a.id, b.id);
}
