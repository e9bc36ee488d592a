import type { Document } from 'mongodb';
import { ConfigError, DriftError } from '../errors.js';
import { compareIds } from '../loader/change-order.js';
import type { HistoryEntry, RecordStatus } from '../tracker/records.js';
import type { MigrateMongoFile } from './migrate-mongo-project.js';

/** One delta history record the import writes. */
export interface PlannedRecord {
  readonly id: string;
  readonly file: string;
  /** delta's checksum of the file as it is now. */
  readonly checksum: string;
  /** When migrate-mongo applied it (its changelog's `appliedAt`). */
  readonly appliedAt: Date;
  /** The changelog entry's `fileHash`, when it has one. */
  readonly fileHash: string | undefined;
  /** The state of the delta record this one replaces (only with `force`). */
  readonly replaces: RecordStatus | undefined;
}

/** A migration file migrate-mongo's `status` shows PENDING: it gets no record and delta will run it. */
export interface PendingFile {
  readonly id: string;
  readonly file: string;
  /** `changed`: applied once, but `useFileHash` is on and the file changed since, so migrate-mongo would run it again. */
  readonly reason: 'not-applied' | 'changed';
}

export interface ImportPlan {
  /** In delta's id order. */
  readonly records: readonly PlannedRecord[];
  readonly pending: readonly PendingFile[];
  /** Changelog entries that match no migration file (their `fileName`); left out (with `skipMissing`). */
  readonly missing: readonly string[];
  /** Pending ids older than the newest applied one: delta shows them `out of order`. */
  readonly outOfOrder: readonly string[];
  /** The newest applied id once the import is written (what `outOfOrder` is older than). */
  readonly newestApplied: string | undefined;
}

export interface PlanImportOptions {
  readonly useFileHash: boolean;
  /** How messages name the changelog: `changelog "changelog" in app`. */
  readonly changelogLabel: string;
  /** Overwrite delta history that exists for an imported id. */
  readonly force?: boolean;
  /** Leave out changelog entries whose file is gone instead of refusing. */
  readonly skipMissing?: boolean;
}

/**
 * What the import writes, decided the way migrate-mongo's `status` decides
 * what is applied: a file is applied when the changelog has an entry with
 * its `fileName` (and, with `useFileHash`, its current `fileHash`); the first
 * such entry in the changelog's natural order gives `appliedAt`, as in
 * migrate-mongo. Refuses (DriftError, nothing planned) when delta history
 * exists for an imported id (unless `force`) or when changelog entries name
 * files that are gone (unless `skipMissing`).
 */
export function planImport(files: readonly MigrateMongoFile[], changelog: readonly Document[], history: readonly HistoryEntry[], options: PlanImportOptions): ImportPlan {
  const byId = new Map(history.map((entry) => [entry.changeId, entry]));
  const records: PlannedRecord[] = [];
  const pending: PendingFile[] = [];
  for (const file of [...files].sort((a, b) => compareIds(a.id, b.id))) {
    const named = changelog.filter((entry) => entry.fileName === file.file);
    const entry = options.useFileHash ? named.find((candidate) => candidate.fileHash === file.fileHash) : named[0];
    if (entry === undefined) {
      pending.push({ id: file.id, file: file.file, reason: named.length > 0 ? 'changed' : 'not-applied' });
      continue;
    }
    records.push({
      id: file.id,
      file: file.file,
      checksum: file.checksum,
      appliedAt: appliedAtOf(entry, file.file, options.changelogLabel),
      fileHash: typeof entry.fileHash === 'string' ? entry.fileHash : undefined,
      replaces: byId.get(file.id)?.status,
    });
  }

  const known = new Set(files.map((file) => file.file));
  const missing = [...new Set(changelog.map((entry) => (typeof entry.fileName === 'string' ? entry.fileName : `(entry ${String(entry._id)} without a fileName)`)))]
    .filter((name) => !known.has(name))
    .sort();

  const refusals: string[] = [];
  const conflicts = records.filter((record) => record.replaces !== undefined);
  if (conflicts.length > 0 && options.force !== true) {
    const list = conflicts.map((record) => `${record.id} (${record.replaces ?? ''})`).join(', ');
    refusals.push(`delta history already exists for ${list}; pass --force to overwrite it with the migrate-mongo state`);
  }
  if (missing.length > 0 && options.skipMissing !== true) {
    refusals.push(
      `${options.changelogLabel} lists ${missing.length === 1 ? 'a file' : 'files'} the migrations folder does not have: ${missing.join(', ')}; ` +
        'restore them, or pass --skip-missing to leave them out of delta history',
    );
  }
  if (refusals.length > 0) throw new DriftError(`import refused: ${refusals.join('\n')}`);

  // As delta commit decides it: against the newest applied change, imported or already in delta's history.
  const applied = [...records.map((record) => record.id), ...history.filter((entry) => entry.status === 'applied').map((entry) => entry.changeId)];
  const newest = applied.reduce<string | undefined>((max, id) => (max === undefined || compareIds(id, max) > 0 ? id : max), undefined);
  const outOfOrder = newest === undefined ? [] : pending.filter((file) => compareIds(file.id, newest) < 0).map((file) => file.id);
  return { records, pending, missing, outOfOrder, newestApplied: newest };
}

function appliedAtOf(entry: Document, file: string, label: string): Date {
  const value: unknown = entry.appliedAt;
  const date = value instanceof Date ? value : typeof value === 'string' || typeof value === 'number' ? new Date(value) : undefined;
  if (date === undefined || Number.isNaN(date.getTime())) {
    throw new ConfigError(`${label}: the entry for ${file} has no valid appliedAt date (got ${value === undefined ? 'nothing' : typeof value}); fix the entry first`);
  }
  return date;
}
