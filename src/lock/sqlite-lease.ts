import { hostname } from 'node:os';
import type { SqliteDatabase } from '../sqlite/sqlite-file.js';
import { isBusy } from '../sqlite/sqlite-file.js';
import type { LeaseOptions } from './heartbeat-lease.js';
import { HeartbeatLease } from './heartbeat-lease.js';
import type { LockHolder } from '../vocabulary/index.js';

export interface SqliteLeaseOptions extends LeaseOptions {
  /** The tracker's SQLite file. */
  readonly db: SqliteDatabase;
}

interface LockRow {
  readonly owner: string;
  readonly host: string;
  readonly pid: number;
  readonly command: string;
  readonly acquired_at: number;
  readonly expires_at: number;
}

/**
 * The lease lock kept in the SQLite tracker's file: one row per scope, taken
 * inside a `BEGIN IMMEDIATE` transaction (SQLite's write lock on the file, so
 * the check and the write are one step for every process that opens the
 * file), renewed by a heartbeat, expiring on the local clock. It holds for
 * processes on one host sharing one local file; SQLite's locking is not
 * reliable on network file systems (NFS, SMB), where two hosts could both
 * take it. A crashed holder's lease expires after `leaseMs`.
 */
export class SqliteLease extends HeartbeatLease {
  readonly #options: SqliteLeaseOptions;

  constructor(options: SqliteLeaseOptions) {
    super(options);
    this.#options = options;
  }

  /** The current holder of a scope's lock, if any (expired or not). */
  static holder(db: SqliteDatabase, scope: string): LockHolder | undefined {
    const row = db.prepare('SELECT owner, host, pid, command, acquired_at, expires_at FROM delta_lock WHERE scope = ?').get(scope) as LockRow | undefined;
    if (row === undefined) return undefined;
    return { owner: row.owner, host: row.host, pid: row.pid, command: row.command, acquiredAt: new Date(row.acquired_at), expiresAt: new Date(row.expires_at) };
  }

  /** Removes `owner`'s lock on a scope: only once its lease has expired, unless `force`. */
  static remove(db: SqliteDatabase, scope: string, owner: string, force: boolean): boolean {
    const sql = force ? 'DELETE FROM delta_lock WHERE scope = ? AND owner = ?' : 'DELETE FROM delta_lock WHERE scope = ? AND owner = ? AND expires_at <= ?';
    return (force ? db.prepare(sql).run(scope, owner) : db.prepare(sql).run(scope, owner, Date.now())).changes === 1;
  }

  protected tryAcquire(): boolean {
    const { db, scope, leaseMs, command } = this.#options;
    try {
      // IMMEDIATE: the file's write lock is taken before the read, so no other process can take the row in between.
      return db
        .transaction(() => {
          const now = Date.now();
          const row = db.prepare('SELECT owner, expires_at FROM delta_lock WHERE scope = ?').get(scope) as Pick<LockRow, 'owner' | 'expires_at'> | undefined;
          if (row !== undefined && row.owner !== this.owner && row.expires_at > now) return false;
          db.prepare('INSERT OR REPLACE INTO delta_lock (scope, owner, host, pid, command, acquired_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?)').run(
            scope,
            this.owner,
            hostname(),
            process.pid,
            command,
            now,
            now + leaseMs,
          );
          return true;
        })
        .immediate();
    } catch (error) {
      // Another process held the file's write lock past the busy timeout: try again after a pause.
      if (isBusy(error)) return false;
      throw error;
    }
  }

  protected currentHolder(): LockHolder | undefined {
    return SqliteLease.holder(this.#options.db, this.#options.scope);
  }

  protected renew(): boolean {
    const { db, scope, leaseMs } = this.#options;
    return db.prepare('UPDATE delta_lock SET expires_at = ? WHERE scope = ? AND owner = ?').run(Date.now() + leaseMs, scope, this.owner).changes === 1;
  }

  protected removeOwn(): void {
    this.#options.db.prepare('DELETE FROM delta_lock WHERE scope = ? AND owner = ?').run(this.#options.scope, this.owner);
  }
}
