import type { DeltaError } from '../errors.js';
import type { PlannedStep } from './planned-step.js';
import type { IndexedStep } from './transaction-groups.js';
import type { Direction, StageSpec } from '../vocabulary/index.js';

/** Consecutive steps of one stage; a parallel stage's commits run side by side. */
export interface StageRun {
  readonly stage: StageSpec | undefined;
  readonly parallel: boolean;
  readonly steps: readonly IndexedStep[];
}

/** The plan cut into runs of one stage each, in plan order. */
export function stageRuns(steps: readonly PlannedStep[], stages: readonly StageSpec[], direction: Direction): StageRun[] {
  const byName = new Map(stages.map((stage) => [stage.name, stage]));
  const runs: { stage: StageSpec | undefined; parallel: boolean; steps: IndexedStep[] }[] = [];
  for (const [index, step] of steps.entries()) {
    const last = runs.at(-1);
    if (last !== undefined && last.stage?.name === step.change.stage) last.steps.push({ step, index });
    else {
      const stage = step.change.stage === undefined ? undefined : byName.get(step.change.stage);
      // Rollbacks run one at a time, newest first: reverting is where order matters most.
      runs.push({ stage, parallel: direction === 'commit' && stage?.parallel === true, steps: [{ step, index }] });
    }
  }
  return runs;
}

/**
 * Runs `work` over `items` with at most `concurrency` at once; once one returns an error
 * nothing new starts, the running ones finish, and the first error is returned.
 */
export async function runSideBySide<T>(concurrency: number, items: readonly T[], work: (item: T) => Promise<DeltaError | undefined>): Promise<DeltaError | undefined> {
  let first: DeltaError | undefined;
  let next = 0;
  const worker = async () => {
    while (first === undefined && next < items.length) {
      const item = items[next] as T;
      next += 1;
      const error = await work(item);
      first ??= error;
    }
  };
  const settled = await Promise.allSettled(Array.from({ length: Math.min(concurrency, items.length) }, worker));
  const crashed = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
  if (crashed !== undefined) throw crashed.reason;
  return first;
}
