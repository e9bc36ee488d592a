/**
 * One run's hold on a lock scope, renewed while held (HeartbeatLease implements it over a
 * MongoDB collection or the SQLite file): what the work done under it sees.
 */
export interface Lease {
  /** Whether another runner holds a live lease right now (a read; takes nothing). */
  heldByOther(): Promise<boolean>;
  /**
   * Takes the lock, waiting for it. `stopWaiting` is asked each time the lock changes hands while
   * this waits; when it answers true the wait ends without the lock and `acquire` returns false.
   */
  acquire(signal?: AbortSignal, stopWaiting?: () => Promise<boolean>): Promise<boolean>;
  /** Throws when the lease was lost; called before every step of the work. */
  assertHeld(): void;
  release(): Promise<void>;
}
