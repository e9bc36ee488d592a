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
  await lock.acquire(phases.signal);
  try {
    const waitedMs = Math.round(performance.now() - started);
    return await phases.work(await phases.plan(), waitedMs);
  } finally {
    await lock.release().catch(() => undefined);
  }
}
