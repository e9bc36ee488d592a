import { hostname } from 'node:os';
import type { Collection, Document } from 'mongodb';
import type { LeaseOptions } from './heartbeat-lease.js';
import { HeartbeatLease } from './heartbeat-lease.js';
import type { LockHolder } from '../vocabulary/index.js';

export interface MongoLeaseOptions extends LeaseOptions {
  /** The lock collection (in the tracker database). */
  readonly collection: Collection;
}

const DUPLICATE_KEY = 11000;

/**
 * A distributed lock with a lease: one document per scope, taken by one
 * atomic conditional upsert (never check-then-insert), kept alive by a
 * heartbeat, expiring on the server's clock so a crashed holder frees it.
 */
export class MongoLease extends HeartbeatLease {
  readonly #options: MongoLeaseOptions;

  constructor(options: MongoLeaseOptions) {
    super(options);
    this.#options = options;
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

  protected async tryAcquire(): Promise<boolean> {
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

  protected currentHolder(): Promise<LockHolder | undefined> {
    return MongoLease.holder(this.#options.collection, this.#options.scope);
  }

  protected async renew(): Promise<boolean> {
    const { collection, scope, leaseMs } = this.#options;
    const filter: Document = { _id: scope, owner: this.owner };
    return (await collection.updateOne(filter, [{ $set: { expiresAt: { $add: ['$$NOW', leaseMs] } } }])).matchedCount === 1;
  }

  protected async removeOwn(): Promise<void> {
    const filter: Document = { _id: this.#options.scope, owner: this.owner };
    await this.#options.collection.deleteOne(filter);
  }
}
