import { performance } from 'node:perf_hooks';
import type { Lease } from './lease.js';

export type { Lease } from './lease.js';

/** The phases of work done under the lock. */
export interface LockedWork<P, R> {
  /**
   * A first plan from a read without the lock: it refuses bad requests early and lets a dry run
   * or "nothing to do" finish without waiting for the lock. Left out, planning happens under the lock only.
   */
  readonly preview?: () => Promise<P>;
  /** The result to return without taking the lock (a dry run, nothing to do), else undefined. */
  readonly finishEarly?: (preview: P) => R | undefined;
  /** The plan that runs, always made under the lock, from a history read there. */
  readonly plan: () => Promise<P>;
  readonly work: (plan: P, waitedMs: number) => Promise<R>;
  /**
   * While waiting for the lock, each time it changes hands (another run ended): a result that
   * makes the wait unnecessary (what this run came to do is done), else undefined. The lock is
   * then never taken, as when `finishEarly` answers.
   */
  readonly whileWaiting?: () => Promise<R | undefined>;
  /** Stops waiting for the lock (Ctrl-C). */
  readonly signal?: AbortSignal;
}

/**
 * The choreography every writer follows (commit, rollback, repair, baseline, import): look
 * without the lock, take it, plan again under it (another runner may have moved history
 * meanwhile), do the work, release it whatever happens.
 */
export async function underLock<P, R>(lock: Lease, phases: LockedWork<P, R>): Promise<R> {
  if (phases.preview !== undefined) {
    const early = phases.finishEarly?.(await phases.preview());
    if (early !== undefined) return early;
  }
  const started = performance.now();
  let settled: R | undefined;
  const whileWaiting = phases.whileWaiting;
  const stopWaiting =
    whileWaiting === undefined
      ? undefined
      : async () => {
          settled = await whileWaiting();
          return settled !== undefined;
        };
  if (!(await lock.acquire(phases.signal, stopWaiting))) {
    // acquire answers false only after stopWaiting found a result.
    if (settled === undefined) throw new Error('the wait for the lock ended without the lock and without a result');
    return settled;
  }
  try {
    const waitedMs = Math.round(performance.now() - started);
    return await phases.work(await phases.plan(), waitedMs);
  } finally {
    await lock.release().catch(() => undefined);
  }
}
