import { readFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { EJSON, deserialize } from 'bson';
import type { Db, Document } from 'mongodb';
import { BackupInvalidError, DatabaseError, RestoreRefusedError, UsageError, messageOf } from '../errors.js';
import { hashFile, readBsonFile } from './bson-files.js';
import type { BackedUpCollection, BackupFile, BackupManifest, CollectionMetadata } from './manifest.js';
import { readManifest } from './manifest.js';
import type { BackupProgress } from './progress.js';
import { progressThrottle } from './progress.js';

/** A backup whose manifest was read and whose files match their checksums. */
export interface VerifiedBackup {
  readonly folder: string;
  readonly manifest: BackupManifest;
  /** The collections to restore, with their options and indexes. */
  readonly collections: readonly { readonly entry: BackedUpCollection; readonly metadata: CollectionMetadata | undefined }[];
}

/**
 * Reads a backup's manifest and checks the size and sha256 of every file of
 * the collections to restore (all, or `only`) before anything is written: a
 * changed or damaged file is a BackupInvalidError naming it.
 */
export async function verifyBackup(folder: string, only?: readonly string[]): Promise<VerifiedBackup> {
  const manifest = await readManifest(folder);
  const known = new Set(manifest.collections.map((c) => c.name));
  const unknown = (only ?? []).filter((name) => !known.has(name));
  if (unknown.length > 0) {
    throw new UsageError(`backup ${manifest.id} has no collection ${unknown.join(', ')} (it holds: ${[...known].join(', ') || 'nothing'})`);
  }
  const entries = only === undefined ? manifest.collections : manifest.collections.filter((c) => only.includes(c.name));
  const collections = [];
  for (const entry of entries) {
    if (entry.existed && (entry.data === undefined || entry.metadata === undefined)) {
      throw new BackupInvalidError(`${join(folder, 'manifest.json')}: collection ${entry.name} lists no data or metadata file`, join(folder, 'manifest.json'));
    }
    if (entry.data !== undefined) await checkFile(folder, entry.data);
    let metadata: CollectionMetadata | undefined;
    if (entry.metadata !== undefined) {
      const path = await checkFile(folder, entry.metadata);
      try {
        metadata = EJSON.parse(await readFile(path, 'utf8'), { relaxed: false }) as CollectionMetadata;
      } catch (error) {
        throw new BackupInvalidError(`${path}: not valid Extended JSON: ${messageOf(error)}`, path, { cause: error });
      }
    }
    collections.push({ entry, metadata });
  }
  return { folder, manifest, collections };
}

async function checkFile(folder: string, file: BackupFile): Promise<string> {
  // The manifest names files inside the backup's own folder, never elsewhere.
  if (basename(file.path) !== file.path || file.path === '..' || file.path === '.') {
    throw new BackupInvalidError(`${join(folder, 'manifest.json')}: file ${file.path} is outside the backup folder`, join(folder, 'manifest.json'));
  }
  const path = join(folder, file.path);
  let actual: { bytes: number; sha256: string };
  try {
    actual = await hashFile(path);
  } catch (error) {
    throw new BackupInvalidError(`${path}: cannot read it: ${messageOf(error)}; nothing was restored`, path, { cause: error });
  }
  if (actual.sha256 !== file.sha256 || actual.bytes !== file.bytes) {
    throw new BackupInvalidError(
      `${path}: checksum mismatch, the file was changed or damaged after the backup (manifest: ${file.bytes} bytes, sha256 ${file.sha256.slice(0, 12)}…; ` +
        `found: ${actual.bytes} bytes, sha256 ${actual.sha256.slice(0, 12)}…); nothing was restored`,
      path,
    );
  }
  return path;
}

export interface RestoreBackupOptions {
  readonly backup: VerifiedBackup;
  /** The database to restore into (the backup's own, or another with `--to-db`). */
  readonly db: Db;
  /** Drop collections that hold documents first; without it such collections refuse the whole restore. */
  readonly drop?: boolean;
  /** Documents per insertMany (default 1000; a batch also ends at 8 MiB). */
  readonly batchSize?: number;
  readonly onProgress?: (progress: BackupProgress) => void;
}

export interface RestoredCollection {
  readonly name: string;
  readonly documents: number;
  /** Indexes created, `_id_` not counted. */
  readonly indexes: number;
  /** The collection existed at restore time and was dropped first. */
  readonly replaced: boolean;
  /** The collection did not exist at backup time: it was only dropped (with `--drop`) or left absent. */
  readonly absentInBackup: boolean;
}

export interface RestoreResult {
  readonly backupId: string;
  readonly fromDb: string;
  readonly toDb: string;
  readonly collections: readonly RestoredCollection[];
  readonly documents: number;
  readonly durationMs: number;
}

const MAX_BATCH_BYTES = 8 * 1024 * 1024;

/**
 * Restores a verified backup into `db`: refuses (before writing anything)
 * when a collection to restore holds documents and `drop` is not set; then,
 * per collection, drops what is there, recreates it with its options
 * (validator, collation...), inserts the documents in ordered batches read
 * incrementally from the BSON file, and recreates its indexes.
 *
 * Inserts bypass document validation: the backup holds what the collection
 * held, including documents written before its validator or under
 * `validationAction: 'warn'`, and a restore must not stop half-way on them.
 */
export async function restoreBackup(options: RestoreBackupOptions): Promise<RestoreResult> {
  const started = performance.now();
  const { backup, db } = options;
  const existing = new Set((await db.listCollections({}, { nameOnly: true }).toArray()).map((c) => c.name));
  const occupied: string[] = [];
  for (const { entry } of backup.collections) {
    if (existing.has(entry.name) && (await db.collection(entry.name).countDocuments({}, { limit: 1 })) > 0) occupied.push(entry.name);
  }
  if (occupied.length > 0 && options.drop !== true) {
    throw new RestoreRefusedError(
      `${db.databaseName} already has documents in ${occupied.join(', ')}: nothing was restored; pass --drop to replace ${occupied.length === 1 ? 'it' : 'them'} with the backup, or --to-db to restore elsewhere`,
      occupied,
    );
  }
  const restored: RestoredCollection[] = [];
  for (const { entry, metadata } of backup.collections) {
    try {
      restored.push(await restoreCollection(options, entry, metadata, existing.has(entry.name)));
    } catch (error) {
      if (error instanceof BackupInvalidError) throw error;
      const done = restored.map((c) => c.name);
      throw new DatabaseError(`restore of ${backup.manifest.id} failed at collection ${entry.name}: ${messageOf(error)}` + (done.length === 0 ? '' : ` (restored before it: ${done.join(', ')})`), {
        cause: error,
      });
    }
  }
  return {
    backupId: backup.manifest.id,
    fromDb: backup.manifest.db,
    toDb: db.databaseName,
    collections: restored,
    documents: restored.reduce((n, c) => n + c.documents, 0),
    durationMs: Math.round(performance.now() - started),
  };
}

async function restoreCollection(options: RestoreBackupOptions, entry: BackedUpCollection, metadata: CollectionMetadata | undefined, exists: boolean): Promise<RestoredCollection> {
  const { db, backup } = options;
  // Only empty collections reach here without --drop (checked above): dropping them loses nothing.
  if (exists) await db.collection(entry.name).drop();
  if (!entry.existed || entry.data === undefined) return { name: entry.name, documents: 0, indexes: 0, replaced: exists, absentInBackup: true };

  await db.command({ create: entry.name, ...(metadata?.options ?? {}) });
  const collection = db.collection(entry.name);
  const progress = progressThrottle(options.onProgress, { phase: 'restore', collection: entry.name, totalDocuments: entry.documents });
  const limit = options.batchSize ?? 1000;
  let batch: Document[] = [];
  let batchBytes = 0;
  let documents = 0;
  const flush = async () => {
    if (batch.length === 0) return;
    await collection.insertMany(batch, { ordered: true, bypassDocumentValidation: true });
    documents += batch.length;
    batch = [];
    batchBytes = 0;
  };
  const file = join(backup.folder, entry.data.path);
  for await (const raw of readBsonFile(file)) {
    // Every value keeps its BSON type (int32, int64, double, regex...), so the driver writes the same bytes back.
    batch.push(deserialize(raw, { promoteLongs: false, promoteValues: false, promoteBuffers: false, bsonRegExp: true }));
    batchBytes += raw.length;
    progress.document(raw.length);
    if (batch.length >= limit || batchBytes >= MAX_BATCH_BYTES) await flush();
  }
  await flush();
  progress.done();
  if (documents !== entry.documents) {
    throw new BackupInvalidError(`${file}: holds ${documents} documents, the manifest says ${entry.documents}`, file);
  }

  const indexes = (metadata?.indexes ?? [])
    .filter((spec) => spec.name !== '_id_' && spec.clustered !== true)
    .map((spec) => Object.fromEntries(Object.entries(spec).filter(([key]) => key !== 'v' && key !== 'ns')));
  if (indexes.length > 0) await db.command({ createIndexes: entry.name, indexes });
  return { name: entry.name, documents, indexes: indexes.length, replaced: exists, absentInBackup: false };
}
