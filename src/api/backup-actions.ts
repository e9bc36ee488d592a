// Backups and restore as createDelta() offers them: src/backup does the copying, this module adds the
// lock, the audit log, the events and retention. Loaded only when a backup or restore is asked for.
import { randomUUID } from 'node:crypto';
import type { Db } from 'mongodb';
import type { BackupResult, BackupProgress, RestoreResult, VerifiedBackup } from '../backup/index.js';
import { databaseSize, prepareBackupRoot, pruneBackups, resolveBackup, restoreBackup, takeBackup, verifyBackup } from '../backup/index.js';
import type { DeltaConfig } from '../config/resolve-config.js';
import { RestoreRefusedError, UsageError, messageOf } from '../errors.js';
import type { BackupRequest } from '../runner/backup-step.js';
import { runBackup } from '../runner/backup-step.js';
import type { DeltaEventEmitter } from '../runner/events.js';
import { recordedError } from '../runner/outcomes.js';
import type { Lease } from '../runner/runner.js';
import { auditEvent } from '../tracker/audit-event.js';
import type { AuditEvent } from '../tracker/records.js';
import type { Tracker } from '../tracker/tracker.js';
import { DATABASE_NAME_RULE, isDatabaseName } from '../vocabulary/index.js';

/** What the backup actions need of a connected createDelta() instance. */
export interface BackupHost {
  readonly config: DeltaConfig;
  readonly targetDb: string;
  db(name: string): Db;
  readonly tracker: Tracker;
  /** delta's tracker collections when they live in the target database: never backed up or restored. */
  readonly ownCollections: readonly string[];
  /** The tracker's and the lock's namespaces (`db.collection`), wherever they live: a restore never writes them. */
  readonly trackerNamespaces: readonly string[];
  /** The lock of a database: the target's configured scope for the target, the database's name for another. */
  lock(db: string, command: string): Lease;
  readonly events: DeltaEventEmitter;
}

export interface BackupOptions {
  /** Collections to back up; default: every collection of the target database. */
  readonly collections?: readonly string[];
  /** Also back up delta's own collections in the target database (history, audit, lock); a restore puts them only elsewhere. */
  readonly includeTracker?: boolean;
  readonly interrupt?: AbortSignal;
}

export interface BackupCommandResult extends BackupResult {
  /** Backups removed by retention (`backup.keep`) afterwards. */
  readonly pruned: readonly string[];
}

export interface RestoreOptions {
  /** A backup id (a folder name under the backup folder, as `delta backups` lists) or a path to a backup folder. */
  readonly backup: string;
  /** Restore only these collections of the backup. */
  readonly collections?: readonly string[];
  /** Restore into this database instead of the target database. */
  readonly toDb?: string;
  /** Drop collections that hold documents first (without it, such collections refuse the restore). */
  readonly drop?: boolean;
  readonly interrupt?: AbortSignal;
}

/** One backup for a run or `delta backup`, with the large-database warning and progress events. */
export async function takeBackupFor(host: BackupHost, request: BackupRequest & { reason: 'change' | 'run' | 'manual'; includeTracker?: boolean }): Promise<BackupResult> {
  const db = host.db(host.targetDb);
  const { warnAboveBytes, dir } = host.config.backup;
  // A folder that cannot be made fails the backup itself, with its message, just below.
  const root = await prepareBackupRoot(dir).catch(() => ({ newInWorkTree: undefined }));
  if (root.newInWorkTree !== undefined) {
    host.events.emit('backup:warning', {
      runId: request.runId,
      changeId: request.changeId,
      message: `backups go to ${dir}, inside the git work tree ${root.newInWorkTree}: a .gitignore there keeps them out of commits, but the data sits in the project; set backup.dir to a folder outside it`,
    });
  }
  if (request.collections === 'database' && warnAboveBytes > 0) {
    const size = await databaseSize(db).catch(() => 0);
    if (size > warnAboveBytes) {
      host.events.emit('backup:warning', {
        runId: request.runId,
        changeId: request.changeId,
        message: `backing up the whole of ${host.targetDb} (${formatBytes(size)} of data${request.changeId === undefined ? '' : ` for ${request.changeId}`}); list the collections the change touches to back up less`,
      });
    }
  }
  return takeBackup({
    db,
    dir,
    runId: request.runId,
    reason: request.reason,
    changeId: request.changeId,
    collections: request.collections,
    exclude: request.includeTracker === true ? [] : host.ownCollections,
    onProgress: progressEvents(host, request.runId),
  });
}

/** `delta backup`: under the lock, with the same `backup:done` event and audit event as a run's backups, then retention. */
export async function backupNow(host: BackupHost, options: BackupOptions): Promise<BackupCommandResult> {
  const runId = randomUUID();
  const lock = host.lock(host.targetDb, 'backup');
  await lock.acquire(options.interrupt);
  try {
    let result: BackupResult | undefined;
    const request = { runId, changeId: undefined, collections: options.collections ?? ('database' as const) };
    await runBackup(async (asked) => (result = await takeBackupFor(host, { ...asked, reason: 'manual', includeTracker: options.includeTracker })), request, host);
    if (result === undefined) throw new Error('backup finished without a result');
    return { ...result, pruned: await prune(host, runId) };
  } finally {
    await lock.release().catch(() => undefined);
  }
}

/**
 * `delta restore`, before connecting: the database name and every file's checksum, so that a bad
 * `--to-db` or a damaged backup is refused having touched nothing.
 */
export async function verifyRestore(config: DeltaConfig, cwd: string, options: RestoreOptions): Promise<VerifiedBackup> {
  if (options.toDb !== undefined && !isDatabaseName(options.toDb)) {
    throw new UsageError(`--to-db ${options.toDb}: not a database name (${DATABASE_NAME_RULE})`);
  }
  const folder = await resolveBackup(config.backup.dir, options.backup, cwd);
  return verifyBackup(folder, options.collections);
}

/** `delta restore`: a verified backup, under the lock of the database written, audited. */
export async function restoreNow(host: BackupHost, backup: VerifiedBackup, options: RestoreOptions): Promise<RestoreResult> {
  const runId = randomUUID();
  const toDb = options.toDb ?? host.targetDb;
  // The tracker's history, audit log and locks, in the target database or an external tracker
  // database: restoring over them would forge history, lose the audit log and drop live locks.
  const own = new Set(host.trackerNamespaces);
  const clash = backup.collections.map((c) => c.entry.name).filter((name) => own.has(`${toDb}.${name}`));
  if (clash.length > 0)
    throw new RestoreRefusedError(
      `${clash.join(', ')} ${clash.length === 1 ? "is delta's own tracker collection" : "are delta's own tracker collections"} in ${toDb}; delta never restores them`,
      clash,
    );
  const lock = host.lock(toDb, 'restore');
  await lock.acquire(options.interrupt);
  const started = Date.now();
  const base = { backupId: backup.manifest.id, fromDb: backup.manifest.db, toDb, drop: options.drop === true };
  try {
    const result = await restoreBackup({ backup, db: host.db(toDb), drop: options.drop, onProgress: progressEvents(host, runId) });
    await host.tracker.audit(audit(host, runId, 'restore', 'success', started, { ...base, collections: result.collections.map((c) => ({ name: c.name, documents: c.documents })) }));
    return result;
  } catch (error) {
    // A refusal wrote nothing: bad input leaves the tracker as it was too.
    if (!(error instanceof RestoreRefusedError)) {
      await host.tracker.audit(audit(host, runId, 'restore', 'failure', started, { ...base, collections: backup.collections.map((c) => c.entry.name) }, error)).catch(() => undefined);
    }
    throw error;
  } finally {
    await lock.release().catch(() => undefined);
  }
}

/** Retention after a successful run; a failure to prune is a warning, never the run's failure. */
export async function prune(host: BackupHost, runId: string): Promise<string[]> {
  try {
    return await pruneBackups(host.config.backup.dir, host.targetDb, host.config.backup.keep);
  } catch (error) {
    host.events.emit('backup:warning', { runId, changeId: undefined, message: `could not prune old backups in ${host.config.backup.dir}: ${messageOf(error)}` });
    return [];
  }
}

function progressEvents(host: BackupHost, runId: string): (progress: BackupProgress) => void {
  return (progress) => host.events.emit('backup:progress', { runId, ...progress });
}

function audit(host: BackupHost, runId: string, action: 'backup' | 'restore', outcome: 'success' | 'failure', started: number, details: Record<string, unknown>, error?: unknown): AuditEvent {
  return auditEvent({ runId, targetDb: host.targetDb, action, outcome, durationMs: Date.now() - started, ...(error === undefined ? {} : { error: recordedError(error) }), details });
}

function formatBytes(bytes: number): string {
  if (bytes >= 1024 ** 3) return `${(bytes / 1024 ** 3).toFixed(1)} GiB`;
  if (bytes >= 1024 ** 2) return `${(bytes / 1024 ** 2).toFixed(1)} MiB`;
  return `${Math.round(bytes / 1024)} KiB`;
}
