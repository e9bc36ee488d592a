import type { Collection } from 'mongodb';
import type { SqliteDatabase } from '../sqlite/sqlite-file.js';
import type { HeartbeatLease, HeartbeatLeaseOptions } from './heartbeat-lease.js';
import { LeaseLock } from './lease-lock.js';
import { SqliteLeaseLock } from './sqlite-lease-lock.js';
import type { LockHolder } from '../vocabulary/index.js';

/** One run's lease on a scope: a LeaseLock or a SqliteLeaseLock. */
export type Lease = HeartbeatLease;
export type LeaseOptions = HeartbeatLeaseOptions;

/** Where the locks live: next to the tracker (a MongoDB collection, or the SQLite file). */
export interface LockStore {
  lease(options: LeaseOptions): Lease;
  /** The current holder of a scope's lock, expired or not. */
  holder(scope: string): Promise<LockHolder | undefined>;
  /** Removes `owner`'s lock: once expired, or at once with `force`; whether one was removed. */
  remove(scope: string, owner: string, force: boolean): Promise<boolean>;
}

/** Locks as documents of a MongoDB collection (the tracker database's `delta_lock`). */
export function mongoLockStore(collection: Collection): LockStore {
  return {
    lease: (options) => new LeaseLock({ ...options, collection }),
    holder: (scope) => LeaseLock.holder(collection, scope),
    remove: (scope, owner, force) => LeaseLock.remove(collection, scope, owner, force),
  };
}

/** Locks as rows of the SQLite tracker's `delta_lock` table. */
export function sqliteLockStore(db: SqliteDatabase): LockStore {
  return {
    lease: (options) => new SqliteLeaseLock({ ...options, db }),
    holder: (scope) => Promise.resolve(SqliteLeaseLock.holder(db, scope)),
    remove: (scope, owner, force) => Promise.resolve(SqliteLeaseLock.remove(db, scope, owner, force)),
  };
}
