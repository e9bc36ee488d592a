import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { LockLostError, messageOf } from '../errors.js';
import type { Lease } from './lease.js';
import { waitForLock } from './wait-for-lock.js';
import type { LockHolder } from '../vocabulary/index.js';

export interface LeaseOptions {
  /** One lock per scope: the target database, or a configured name. */
  readonly scope: string;
  readonly leaseMs: number;
  /** How long `acquire` waits for a held lock; 0 fails at once. */
  readonly waitMs: number;
  /** What the holder is doing (`commit`, `rollback`...), shown to whoever waits. */
  readonly command: string;
  /** Called once when the heartbeat finds the lease gone or cannot renew it. */
  readonly onLost?: (reason: string) => void;
}

/**
 * A lease's life, whatever keeps it: taken (waiting with `waitForLock`), renewed by a heartbeat
 * every third of the lease, lost when a renewal finds it gone or two renewals in a row fail, released only if still
 * ours. The MongoDB and SQLite leases supply the four operations on their store.
 */
export abstract class HeartbeatLease implements Lease {
  readonly owner = randomBytes(12).toString('hex');
  readonly #lease: LeaseOptions;
  #heartbeat: NodeJS.Timeout | undefined;
  #held = false;
  #lost: string | undefined;
  #renewing: Promise<void> | undefined;
  /** When (this process's monotonic clock) the last renewal that succeeded was sent: the lease runs at least `leaseMs` from it. */
  #renewedAt = 0;

  protected constructor(lease: LeaseOptions) {
    this.#lease = lease;
  }

  /** One attempt to take the lock (free, expired, or already ours): whether it is ours now. */
  protected abstract tryAcquire(): Promise<boolean> | boolean;
  /** Who holds the lock now, expired or not. */
  protected abstract currentHolder(): Promise<LockHolder | undefined> | LockHolder | undefined;
  /** Extends our lease by `leaseMs`; false when it is no longer ours. */
  protected abstract renew(): Promise<boolean> | boolean;
  /** Removes the lock if it is still ours. */
  protected abstract removeOwn(): Promise<void> | void;
  /** Why the lease was lost, or undefined while it holds. */
  get lostReason(): string | undefined {
    return this.#lost;
  }

  /**
   * Takes the lock, waiting with jittered back-off up to `waitMs`; throws `LockHeldError` after.
   * Returns false, holding nothing, when `stopWaiting` ended the wait (see waitForLock).
   */
  async acquire(signal?: AbortSignal, stopWaiting?: () => Promise<boolean>): Promise<boolean> {
    const { scope, waitMs } = this.#lease;
    const tryAcquire = async () => {
      const sent = performance.now();
      const taken = await this.tryAcquire();
      if (taken) this.#renewedAt = sent;
      return taken;
    };
    if (!(await waitForLock({ scope, waitMs, tryAcquire, holder: () => this.currentHolder(), stopWaiting }, signal))) return false;
    this.#held = true;
    this.#startHeartbeat();
    return true;
  }

  /** Whether someone else holds a lease that has not expired (by this machine's clock: a hint, not a guarantee). */
  async heldByOther(): Promise<boolean> {
    const holder = await this.currentHolder();
    return holder !== undefined && holder.owner !== this.owner && holder.expiresAt.getTime() > Date.now();
  }

  /** Throws `LockLostError` when the heartbeat found the lease gone, or no renewal kept it alive for a whole lease. */
  assertHeld(): void {
    // A renewal that hangs (a partition) must not let the work go on under a lease that has run out.
    if (this.#held && performance.now() >= this.#renewedAt + this.#lease.leaseMs) this.#markLost('no heartbeat renewed the lease in time');
    if (this.#lost !== undefined) throw new LockLostError(`lost the lock on ${this.#lease.scope}: ${this.#lost}; stopped before the next change`);
  }

  /** Releases the lock if (and only if) it is still ours. */
  async release(): Promise<void> {
    this.#stopHeartbeat();
    await this.#renewing?.catch(() => undefined);
    if (!this.#held) return;
    this.#held = false;
    await this.removeOwn();
  }

  /** A beat every third of the lease: one failed renewal is survived, a second in a row is not. */
  get #every(): number {
    return Math.max(200, Math.floor(this.#lease.leaseMs / 3));
  }

  #startHeartbeat(): void {
    const every = this.#every;
    this.#heartbeat = setInterval(() => {
      if (this.#renewing !== undefined) return;
      this.#renewing = this.#beat().finally(() => {
        this.#renewing = undefined;
      });
    }, every);
    // The heartbeat must never keep a finished process alive.
    this.#heartbeat.unref();
  }

  #stopHeartbeat(): void {
    if (this.#heartbeat !== undefined) clearInterval(this.#heartbeat);
    this.#heartbeat = undefined;
  }

  async #beat(): Promise<void> {
    const sent = performance.now();
    try {
      if (await this.renew()) this.#renewedAt = sent;
      else this.#markLost('the lock was taken or removed by someone else');
    } catch (error) {
      // A failed renewal (a transient error, a busy SQLite file) leaves the lease as the last
      // success set it: the next beat tries again while the lease outlasts it, else it is lost.
      if (performance.now() + this.#every >= this.#renewedAt + this.#lease.leaseMs) this.#markLost(`the heartbeat failed: ${messageOf(error)}`);
    }
  }

  #markLost(reason: string): void {
    if (this.#lost !== undefined || !this.#held) return;
    this.#lost = reason;
    this.#held = false;
    this.#stopHeartbeat();
    this.#lease.onLost?.(reason);
  }
}
