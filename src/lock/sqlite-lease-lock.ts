import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { LockHolder } from '../errors.js';
import { LockLostError, messageOf } from '../errors.js';
import { waitForLock } from './wait-for-lock.js';
import type { SqliteDatabase } from '../sqlite/sqlite-file.js';
import { isBusy } from '../sqlite/sqlite-file.js';

export interface SqliteLeaseLockOptions {
  /** The tracker's SQLite file. */
  readonly db: SqliteDatabase;
  readonly scope: string;
  readonly leaseMs: number;
  readonly waitMs: number;
  readonly command: string;
  readonly onLost?: (reason: string) => void;
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
export class SqliteLeaseLock {
  readonly owner = randomBytes(12).toString('hex');
  readonly #options: SqliteLeaseLockOptions;
  #heartbeat: NodeJS.Timeout | undefined;
  #held = false;
  #lost: string | undefined;

  constructor(options: SqliteLeaseLockOptions) {
    this.#options = options;
  }

  get lostReason(): string | undefined {
    return this.#lost;
  }

  /** Takes the lock, waiting with jittered back-off up to `waitMs`; throws `LockHeldError` after. */
  async acquire(signal?: AbortSignal): Promise<void> {
    const { scope, waitMs } = this.#options;
    await waitForLock({ scope, waitMs, tryAcquire: () => this.#tryAcquire(), holder: () => SqliteLeaseLock.holder(this.#options.db, this.#options.scope) }, signal);
    this.#held = true;
    this.#startHeartbeat();
  }


  heldByOther(): Promise<boolean> {
    const holder = SqliteLeaseLock.holder(this.#options.db, this.#options.scope);
    return Promise.resolve(holder !== undefined && holder.owner !== this.owner && holder.expiresAt.getTime() > Date.now());
  }

  assertHeld(): void {
    if (this.#lost !== undefined) throw new LockLostError(`lost the lock on ${this.#options.scope}: ${this.#lost}; stopped before the next change`);
  }

  /** Releases the lock if (and only if) it is still ours. */
  release(): Promise<void> {
    this.#stopHeartbeat();
    if (!this.#held) return Promise.resolve();
    this.#held = false;
    this.#options.db.prepare('DELETE FROM delta_lock WHERE scope = ? AND owner = ?').run(this.#options.scope, this.owner);
    return Promise.resolve();
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

  #tryAcquire(): boolean {
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

  #startHeartbeat(): void {
    const every = Math.max(200, Math.floor(this.#options.leaseMs / 3));
    this.#heartbeat = setInterval(() => this.#renew(), every);
    this.#heartbeat.unref();
  }

  #stopHeartbeat(): void {
    if (this.#heartbeat !== undefined) clearInterval(this.#heartbeat);
    this.#heartbeat = undefined;
  }

  #renew(): void {
    const { db, scope, leaseMs } = this.#options;
    try {
      const result = db.prepare('UPDATE delta_lock SET expires_at = ? WHERE scope = ? AND owner = ?').run(Date.now() + leaseMs, scope, this.owner);
      if (result.changes === 0) this.#markLost('the lock was taken or removed by someone else');
    } catch (error) {
      // A busy file is not a lost lease: the next beat tries again (the lease outlives three beats).
      if (!isBusy(error)) this.#markLost(`the heartbeat failed: ${messageOf(error)}`);
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
