import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { Collection, Document } from 'mongodb';
import type { LockHolder } from '../errors.js';
import { LockLostError, messageOf } from '../errors.js';
import { waitForLock } from './wait-for-lock.js';

export interface LeaseLockOptions {
  /** The lock collection (in the tracker database). */
  readonly collection: Collection;
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

const DUPLICATE_KEY = 11000;

/**
 * A distributed lock with a lease: one document per scope, taken by one
 * atomic conditional upsert (never check-then-insert), kept alive by a
 * heartbeat, expiring on the server's clock so a crashed holder frees it.
 */
export class LeaseLock {
  readonly owner = randomBytes(12).toString('hex');
  readonly #options: LeaseLockOptions;
  #heartbeat: NodeJS.Timeout | undefined;
  #held = false;
  #lost: string | undefined;
  #renewing: Promise<void> | undefined;

  constructor(options: LeaseLockOptions) {
    this.#options = options;
  }

  /** Why the lease was lost, or undefined while it holds. */
  get lostReason(): string | undefined {
    return this.#lost;
  }

  /** Takes the lock, waiting with jittered back-off up to `waitMs`; throws `LockHeldError` after. */
  async acquire(signal?: AbortSignal): Promise<void> {
    const { scope, waitMs } = this.#options;
    await waitForLock({ scope, waitMs, tryAcquire: () => this.#tryAcquire(), holder: () => LeaseLock.holder(this.#options.collection, this.#options.scope) }, signal);
    this.#held = true;
    this.#startHeartbeat();
  }


  /** Whether someone else holds a lease that has not expired (by this machine's clock: a hint, not a guarantee). */
  async heldByOther(): Promise<boolean> {
    const holder = await LeaseLock.holder(this.#options.collection, this.#options.scope);
    return holder !== undefined && holder.owner !== this.owner && holder.expiresAt.getTime() > Date.now();
  }

  /** Throws `LockLostError` when the heartbeat has found the lease gone. */
  assertHeld(): void {
    if (this.#lost !== undefined) throw new LockLostError(`lost the lock on ${this.#options.scope}: ${this.#lost}; stopped before the next change`);
  }

  /** Releases the lock if (and only if) it is still ours. */
  async release(): Promise<void> {
    this.#stopHeartbeat();
    await this.#renewing?.catch(() => undefined);
    if (!this.#held) return;
    this.#held = false;
    const filter: Document = { _id: this.#options.scope, owner: this.owner };
    await this.#options.collection.deleteOne(filter);
  }

  /** The current holder of a scope's lock, if any (expired or not). */
  static async holder(collection: Collection, scope: string): Promise<LockHolder | undefined> {
    const filter: Document = { _id: scope };
    const doc = await collection.findOne(filter);
    if (doc === null) return undefined;
    return {
      owner: String(doc.owner),
      host: String(doc.host),
      pid: Number(doc.pid),
      command: String(doc.command),
      acquiredAt: doc.acquiredAt instanceof Date ? doc.acquiredAt : new Date(String(doc.acquiredAt)),
      expiresAt: doc.expiresAt instanceof Date ? doc.expiresAt : new Date(String(doc.expiresAt)),
    };
  }

  /**
   * Removes the lock `owner` holds on a scope: only once its lease has expired
   * on the server's clock, unless `force`. Never removes a lock someone else
   * took in the meantime. Returns whether a document was removed.
   */
  static async remove(collection: Collection, scope: string, owner: string, force: boolean): Promise<boolean> {
    const filter: Document = force ? { _id: scope, owner } : { _id: scope, owner, $expr: { $lte: ['$expiresAt', '$$NOW'] } };
    return (await collection.deleteOne(filter)).deletedCount === 1;
  }

  async #tryAcquire(): Promise<boolean> {
    const { collection, scope, leaseMs, command } = this.#options;
    // Matches only a free (expired) lock or our own; otherwise the upsert
    // inserts `_id: scope` and the unique _id answers 11000: held. Expiry
    // uses $$NOW, the server's clock, so skewed runner clocks cannot steal.
    const filter: Document = {
      _id: scope,
      $expr: { $or: [{ $lte: ['$expiresAt', '$$NOW'] }, { $eq: ['$owner', this.owner] }] },
    };
    const update = [
      {
        $set: {
          owner: this.owner,
          host: hostname(),
          pid: process.pid,
          command,
          acquiredAt: '$$NOW',
          expiresAt: { $add: ['$$NOW', leaseMs] },
        },
      },
    ];
    try {
      const result = await collection.updateOne(filter, update, { upsert: true });
      return result.matchedCount === 1 || result.upsertedCount === 1;
    } catch (error) {
      if ((error as { code?: unknown }).code === DUPLICATE_KEY) return false;
      throw error;
    }
  }

  #startHeartbeat(): void {
    const every = Math.max(200, Math.floor(this.#options.leaseMs / 3));
    this.#heartbeat = setInterval(() => {
      if (this.#renewing !== undefined) return;
      this.#renewing = this.#renew().finally(() => {
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

  async #renew(): Promise<void> {
    const { collection, scope, leaseMs } = this.#options;
    try {
      const filter: Document = { _id: scope, owner: this.owner };
      const result = await collection.updateOne(filter, [{ $set: { expiresAt: { $add: ['$$NOW', leaseMs] } } }]);
      if (result.matchedCount === 0) this.#markLost('the lock was taken or removed by someone else');
    } catch (error) {
      this.#markLost(`the heartbeat failed: ${messageOf(error)}`);
    }
  }

  #markLost(reason: string): void {
    if (this.#lost !== undefined || !this.#held) return;
    this.#lost = reason;
    this.#held = false;
    this.#stopHeartbeat();
    this.#options.onLost?.(reason);
  }
}
