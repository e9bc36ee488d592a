import { randomBytes } from 'node:crypto';
import { LockLostError, messageOf } from '../errors.js';
import { waitForLock } from './wait-for-lock.js';
import type { LockHolder } from '../vocabulary/index.js';

export interface HeartbeatLeaseOptions {
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
 * every third of the lease, lost when a renewal finds it gone or fails, released only if still
 * ours. The MongoDB and SQLite leases supply the four operations on their store.
 */
export abstract class HeartbeatLease {
  readonly owner = randomBytes(12).toString('hex');
  readonly #lease: HeartbeatLeaseOptions;
  #heartbeat: NodeJS.Timeout | undefined;
  #held = false;
  #lost: string | undefined;
  #renewing: Promise<void> | undefined;

  protected constructor(lease: HeartbeatLeaseOptions) {
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
  /** A renewal error that does not lose the lease: the next beat tries again (the lease outlives three beats). */
  protected renewalMayRetry(_error: unknown): boolean {
    return false;
  }

  /** Why the lease was lost, or undefined while it holds. */
  get lostReason(): string | undefined {
    return this.#lost;
  }

  /** Takes the lock, waiting with jittered back-off up to `waitMs`; throws `LockHeldError` after. */
  async acquire(signal?: AbortSignal): Promise<void> {
    const { scope, waitMs } = this.#lease;
    await waitForLock({ scope, waitMs, tryAcquire: () => this.tryAcquire(), holder: () => this.currentHolder() }, signal);
    this.#held = true;
    this.#startHeartbeat();
  }

  /** Whether someone else holds a lease that has not expired (by this machine's clock: a hint, not a guarantee). */
  async heldByOther(): Promise<boolean> {
    const holder = await this.currentHolder();
    return holder !== undefined && holder.owner !== this.owner && holder.expiresAt.getTime() > Date.now();
  }

  /** Throws `LockLostError` when the heartbeat has found the lease gone. */
  assertHeld(): void {
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

  #startHeartbeat(): void {
    const every = Math.max(200, Math.floor(this.#lease.leaseMs / 3));
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
    try {
      if (!(await this.renew())) this.#markLost('the lock was taken or removed by someone else');
    } catch (error) {
      if (!this.renewalMayRetry(error)) this.#markLost(`the heartbeat failed: ${messageOf(error)}`);
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
