import { readdir, rm, stat } from 'node:fs/promises';
import { isAbsolute, join, resolve, sep } from 'node:path';
import { BackupInvalidError, isDeltaError } from '../errors.js';
import type { BackupManifest, BackupReason } from './manifest.js';
import { MANIFEST_FILE, readManifest } from './manifest.js';

/** Suffix of a backup being written; renamed to its id once complete, so a listed backup is whole. */
export const PARTIAL_SUFFIX = '.partial';

/** One backup as `delta backups` shows it. */
export interface BackupSummary {
  readonly id: string;
  /** Absolute path of its folder. */
  readonly path: string;
  readonly runId: string;
  readonly changeId: string | undefined;
  readonly reason: BackupReason;
  readonly db: string;
  readonly createdAt: string;
  readonly collections: readonly string[];
  readonly documents: number;
  readonly bytes: number;
}

export interface BackupListResult {
  readonly dir: string;
  /** Oldest first. */
  readonly backups: readonly BackupSummary[];
  /** Folders that look like backups but whose manifest cannot be read, with the reason. */
  readonly unreadable: readonly { readonly path: string; readonly reason: string }[];
}

/**
 * A backup's folder name: UTC time to the millisecond first (so names sort in
 * time order), the run, then what it guarded: `20240501T101500123Z_1a2b3c4d_001_users`.
 */
export function backupId(at: Date, runId: string, reason: BackupReason, changeId: string | undefined): string {
  const stamp = at.toISOString().replace(/[-:]/g, '').replace('.', '');
  const label = reason === 'change' && changeId !== undefined ? changeId.replace(/[^A-Za-z0-9._-]/g, '_').slice(0, 100) : reason;
  return `${stamp}_${runId.replace(/-/g, '').slice(0, 8)}_${label}`;
}

/** Every complete backup under `dir`, oldest first; a missing folder has none. */
export async function listBackups(dir: string): Promise<BackupListResult> {
  let entries: string[];
  try {
    entries = (await readdir(dir, { withFileTypes: true })).filter((e) => e.isDirectory() && !e.name.endsWith(PARTIAL_SUFFIX)).map((e) => e.name);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { dir, backups: [], unreadable: [] };
    throw error;
  }
  const backups: BackupSummary[] = [];
  const unreadable: { path: string; reason: string }[] = [];
  for (const name of entries) {
    const path = join(dir, name);
    try {
      backups.push(summaryOf(path, await readManifest(path)));
    } catch (error) {
      if (!isDeltaError(error)) throw error;
      // A folder without a manifest is not ours (or not finished): say so only when it has one.
      if (await exists(join(path, MANIFEST_FILE))) unreadable.push({ path, reason: error.message });
    }
  }
  backups.sort((a, b) => (a.createdAt === b.createdAt ? compare(a.id, b.id) : compare(a.createdAt, b.createdAt)));
  return { dir, backups, unreadable };
}

/**
 * The folder of the backup `ref` names: an id under `dir`, or a path to a
 * backup folder (anything with a path separator, or a folder that exists).
 */
export async function resolveBackup(dir: string, ref: string, cwd: string): Promise<string> {
  const asPath = isAbsolute(ref) ? ref : resolve(cwd, ref);
  if (ref.includes('/') || ref.includes(sep) || isAbsolute(ref)) {
    if (await exists(join(asPath, MANIFEST_FILE))) return asPath;
    throw new BackupInvalidError(`${ref}: no backup there (no ${MANIFEST_FILE})`, join(asPath, MANIFEST_FILE));
  }
  const underDir = join(dir, ref);
  if (await exists(join(underDir, MANIFEST_FILE))) return underDir;
  throw new BackupInvalidError(`no backup '${ref}' in ${dir} (delta backups lists them)`, underDir);
}

/**
 * Removes the backups of all but the newest `keep` runs of `db` (0 keeps
 * everything). Backups of other databases sharing the folder are left alone.
 */
export async function pruneBackups(dir: string, db: string, keep: number): Promise<string[]> {
  if (keep <= 0) return [];
  const { backups } = await listBackups(dir);
  const newestByRun = new Map<string, string>();
  for (const backup of backups) if (backup.db === db) newestByRun.set(backup.runId, backup.createdAt);
  const runs = [...newestByRun.entries()].sort((a, b) => compare(b[1], a[1])).map(([runId]) => runId);
  const dropped = new Set(runs.slice(keep));
  const removed: string[] = [];
  for (const backup of backups) {
    if (backup.db !== db || !dropped.has(backup.runId)) continue;
    await rm(backup.path, { recursive: true, force: true });
    removed.push(backup.id);
  }
  return removed;
}

export function summaryOf(path: string, manifest: BackupManifest): BackupSummary {
  return {
    id: manifest.id,
    path,
    runId: manifest.runId,
    changeId: manifest.changeId,
    reason: manifest.reason,
    db: manifest.db,
    createdAt: manifest.createdAt,
    collections: manifest.collections.map((c) => c.name),
    documents: manifest.documents,
    bytes: manifest.bytes,
  };
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
