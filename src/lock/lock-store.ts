import type { Collection } from 'mongodb';
import type { SqliteDatabase } from '../sqlite/sqlite-file.js';
import type { LeaseOptions } from './heartbeat-lease.js';
import type { Lease } from './lease.js';
import { MongoLease } from './mongo-lease.js';
import { SqliteLease } from './sqlite-lease.js';
import type { LockHolder } from '../vocabulary/index.js';

/** Where the locks live: next to the tracker (a MongoDB collection, or the SQLite file). */
export interface LockStore {
  /** A run's lease on a scope: a MongoLease or a SqliteLease. */
  lease(options: LeaseOptions): Lease;
  /** The current holder of a scope's lock, expired or not. */
  holder(scope: string): Promise<LockHolder | undefined>;
  /** Removes `owner`'s lock: once expired, or at once with `force`; whether one was removed. */
  remove(scope: string, owner: string, force: boolean): Promise<boolean>;
}

/** Locks as documents of a MongoDB collection (the tracker database's `delta_lock`). */
export function mongoLockStore(collection: Collection): LockStore {
  return {
    lease: (options) => new MongoLease({ ...options, collection }),
    holder: (scope) => MongoLease.holder(collection, scope),
    remove: (scope, owner, force) => MongoLease.remove(collection, scope, owner, force),
  };
}

/** Locks as rows of the SQLite tracker's `delta_lock` table. */
export function sqliteLockStore(db: SqliteDatabase): LockStore {
  return {
    lease: (options) => new SqliteLease({ ...options, db }),
    holder: (scope) => Promise.resolve(SqliteLease.holder(db, scope)),
    remove: (scope, owner, force) => Promise.resolve(SqliteLease.remove(db, scope, owner, force)),
  };
}
