import { performance } from 'node:perf_hooks';
import type { DeltaError } from '../errors.js';
import { redact } from '../config/redact.js';
import { DatabaseError, FleetFailedError, InterruptedError, isDeltaError, messageOf } from '../errors.js';
import type { Direction, RunOutcome, RunResult } from '../vocabulary/index.js';

/** How a fleet run went on one target. */
export interface FleetTargetResult {
  readonly target: string;
  /**
   * The target's run outcome; `error` when it stopped before running anything (lock held, drift,
   * database unreachable...); `not-run` when `--fail-fast` or Ctrl-C stopped the fleet first.
   */
  readonly outcome: RunOutcome | 'error' | 'not-run';
  /** Changes applied (commit) or reverted (rollback) on it in this run. */
  readonly done: number;
  readonly failed: number;
  /** Planned changes left for a later run; undefined when the target stopped before planning. */
  readonly pending: number | undefined;
  readonly durationMs: number;
  readonly error: DeltaError | undefined;
  /** The target's own run result (undefined for `error` and `not-run`). */
  readonly result: RunResult | undefined;
}

/** The result of `commit`/`rollback` over a fleet. */
export interface FleetRunResult {
  readonly command: Direction;
  readonly targets: readonly FleetTargetResult[];
  readonly outcome: 'success' | 'nothing-to-do' | 'failed' | 'interrupted';
  readonly durationMs: number;
  /** FleetFailedError naming the failed targets, or InterruptedError; its code gives the exit code. */
  readonly error: DeltaError | undefined;
}

export interface RunFleetOptions {
  readonly command: Direction;
  /** Targets run at once. */
  readonly concurrency: number;
  /** Start no new target once one failed (those running finish). */
  readonly failFast: boolean;
  /** Ctrl-C: start no new target; those running stop as a single run would. */
  readonly interrupt?: AbortSignal | undefined;
  /** Told when a target starts and when it is done (for events). */
  readonly onStart?: (target: string) => void;
  readonly onEnd?: (result: FleetTargetResult) => void;
}

/**
 * Runs `run` for every target, at most `concurrency` at once. A target that
 * fails does not stop the others unless `failFast`; every target ends with a
 * row in the result, in name order.
 */
export async function runFleet(targets: readonly string[], options: RunFleetOptions, run: (target: string) => Promise<RunResult>): Promise<FleetRunResult> {
  const started = performance.now();
  const results = new Map<string, FleetTargetResult>();
  let next = 0;
  let stop = false;
  const worker = async () => {
    while (!stop && options.interrupt?.aborted !== true && next < targets.length) {
      const target = targets[next] as string;
      next += 1;
      options.onStart?.(target);
      const result = await runOne(target, run);
      results.set(target, result);
      options.onEnd?.(result);
      if (options.failFast && isFailure(result)) stop = true;
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(options.concurrency, targets.length)) }, worker));

  const rows = targets.map((target) => results.get(target) ?? notRun(target));
  const failed = rows.filter(isFailure);
  const interrupted = options.interrupt?.aborted === true || rows.some((r) => r.outcome === 'interrupted');
  let error: DeltaError | undefined;
  let outcome: FleetRunResult['outcome'];
  if (interrupted) {
    outcome = 'interrupted';
    error = new InterruptedError(`interrupted: ${rows.filter((r) => r.outcome === 'not-run').length} of ${rows.length} targets not started`);
  } else if (failed.length > 0) {
    outcome = 'failed';
    const skipped = rows.filter((r) => r.outcome === 'not-run').length;
    error = new FleetFailedError(
      `${failed.length} of ${rows.length} targets failed: ${failed.map((r) => `${r.target} (${r.error?.message ?? r.outcome})`).join('; ')}` +
        (skipped > 0 ? `; --fail-fast left ${skipped} not started` : ''),
      failed.map((r) => r.target),
    );
  } else {
    outcome = rows.every((r) => r.outcome === 'nothing-to-do') ? 'nothing-to-do' : 'success';
  }
  return { command: options.command, targets: rows, outcome, durationMs: Math.round(performance.now() - started), error };
}

async function runOne(target: string, run: (target: string) => Promise<RunResult>): Promise<FleetTargetResult> {
  const started = performance.now();
  try {
    const result = await run(target);
    const count = (status: 'done' | 'failed' | 'not-run') => result.changes.filter((c) => c.status === status).length;
    return { target, outcome: result.outcome, done: count('done'), failed: count('failed'), pending: count('not-run'), durationMs: result.durationMs, error: result.error, result };
  } catch (thrown) {
    // One target's bad state (lock held, drift, unreachable) is its row, not the fleet's end.
    const error = isDeltaError(thrown) ? thrown : new DatabaseError(`database error: ${redact(messageOf(thrown))}`, { cause: thrown });
    return { target, outcome: 'error', done: 0, failed: 0, pending: undefined, durationMs: Math.round(performance.now() - started), error, result: undefined };
  }
}

function notRun(target: string): FleetTargetResult {
  return { target, outcome: 'not-run', done: 0, failed: 0, pending: undefined, durationMs: 0, error: undefined, result: undefined };
}

function isFailure(result: FleetTargetResult): boolean {
  return result.outcome === 'failed' || result.outcome === 'lock-lost' || result.outcome === 'error';
}

/** `work` for every item, at most `concurrency` at once; results in the items' order. */
export async function mapWithConcurrency<T, R>(items: readonly T[], concurrency: number, work: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const index = next;
      next += 1;
      results[index] = await work(items[index] as T);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(concurrency, items.length)) }, worker));
  return results;
}
