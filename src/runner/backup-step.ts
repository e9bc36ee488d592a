import { BackupFailedError, messageOf } from '../errors.js';
import { auditEvent } from '../tracker/audit-event.js';
import type { Tracker } from '../tracker/tracker.js';
import type { DeltaEventEmitter } from './events.js';
import { recordedError } from './outcomes.js';
import type { ChangeUnit } from '../vocabulary/index.js';

/** What the runner asks its backup collaborator for, under the lock, before a change runs. */
export interface BackupRequest {
  readonly runId: string;
  /** The change about to run; undefined for the whole-database backup before a run's first change. */
  readonly changeId: string | undefined;
  /** The collections to copy, or every collection of the target database. */
  readonly collections: readonly string[] | 'database';
}

/** What a backup wrote (src/backup's takeBackup fits). */
export interface BackupDone {
  readonly id: string;
  /** Its folder. */
  readonly path: string;
  readonly collections: readonly { readonly name: string }[];
  readonly documents: number;
  readonly bytes: number;
  readonly durationMs: number;
}

/** Takes a backup; throws when it cannot (the change it guards must then not run). */
export type RunBackup = (request: BackupRequest) => Promise<BackupDone>;

/** The backup a change asks for with its `backup` field, if any. */
export function backupRequestOf(change: ChangeUnit): readonly string[] | 'database' | undefined {
  if (change.backup === true) return 'database';
  if (Array.isArray(change.backup) && change.backup.length > 0) return change.backup as readonly string[];
  return undefined;
}

/**
 * Takes one backup for a run: emits `backup:done` and appends a `backup`
 * audit event; on failure appends the failed audit event and throws a
 * BackupFailedError, which stops the run before the change.
 */
export async function runBackup(collaborator: RunBackup | undefined, request: BackupRequest, at: { readonly tracker: Tracker; readonly events: DeltaEventEmitter }): Promise<void> {
  const { tracker, events } = at;
  const audit = { runId: request.runId, changeId: request.changeId, targetDb: tracker.targetDb, action: 'backup' } as const;
  const started = Date.now();
  let done: BackupDone;
  try {
    if (collaborator === undefined) throw new BackupFailedError('no backup collaborator was given to the runner');
    done = await collaborator(request);
  } catch (thrown) {
    const error =
      thrown instanceof BackupFailedError
        ? thrown
        : new BackupFailedError(`backup${request.changeId === undefined ? '' : ` before ${request.changeId}`} failed: ${messageOf(thrown)}`, { cause: thrown });
    await tracker
      .audit(auditEvent({ ...audit, outcome: 'failure', durationMs: Date.now() - started, error: recordedError(error), details: { collections: request.collections } }))
      .catch(() => undefined);
    throw error;
  }
  const collections = done.collections.map((c) => c.name);
  events.emit('backup:done', {
    runId: request.runId,
    changeId: request.changeId,
    backupId: done.id,
    path: done.path,
    collections,
    documents: done.documents,
    bytes: done.bytes,
    durationMs: done.durationMs,
  });
  await tracker.audit(
    auditEvent({ ...audit, outcome: 'success', durationMs: done.durationMs, details: { backupId: done.id, path: done.path, collections, documents: done.documents, bytes: done.bytes } }),
  );
}
