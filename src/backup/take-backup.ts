import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { PRIVATE_DIR, PRIVATE_FILE, prepareBackupRoot } from './backup-root.js';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { EJSON } from 'bson';
import type { Db, Document } from 'mongodb';
import { BackupFailedError, messageOf } from '../errors.js';
import { toolVersion } from '../version.js';
import { PARTIAL_SUFFIX, backupId } from './backup-store.js';
import { fileStems, hashFile, writeBsonFile } from './bson-files.js';
import type { BackedUpCollection, BackupManifest, BackupReason } from './manifest.js';
import { MANIFEST_FORMAT, writeManifest } from './manifest.js';
import type { BackupProgress } from './progress.js';
import { progressThrottle } from './progress.js';

export interface TakeBackupOptions {
  /** The database to back up. */
  readonly db: Db;
  /** The backup folder (created if missing); the backup gets a folder of its own inside. */
  readonly dir: string;
  readonly runId: string;
  readonly reason: BackupReason;
  readonly changeId?: string;
  /** Collections to back up, or `database` for every collection of the database. */
  readonly collections: readonly string[] | 'database';
  /** Collections never backed up (delta's own tracker collections in the target database). */
  readonly exclude?: readonly string[];
  /** Documents per cursor batch (default 1000). */
  readonly batchSize?: number;
  readonly onProgress?: (progress: BackupProgress) => void;
  readonly now?: () => Date;
}

export interface BackupResult {
  readonly id: string;
  /** Absolute path of the backup's folder. */
  readonly path: string;
  readonly runId: string;
  readonly changeId: string | undefined;
  readonly reason: BackupReason;
  readonly db: string;
  readonly collections: readonly { readonly name: string; readonly documents: number; readonly bytes: number; readonly existed: boolean }[];
  readonly skipped: readonly { readonly name: string; readonly reason: string }[];
  readonly documents: number;
  readonly bytes: number;
  readonly durationMs: number;
}

interface CollectionInfo {
  readonly name: string;
  readonly type?: string;
  readonly options?: Document;
}

/**
 * Copies collections to `<dir>/<id>/`: documents as raw BSON (streamed from a
 * cursor straight to the file: the bytes the server sent, never the whole
 * collection in memory), options and index specs as canonical Extended JSON,
 * and a manifest with counts, sizes and the sha256 of every file. The backup
 * is written under `<id>.partial` and renamed when complete; on failure the
 * partial folder is removed and a BackupFailedError thrown.
 *
 * Collections are read one after another without a snapshot: the copy is
 * consistent per document, not across collections (see README "Backups").
 */
export async function takeBackup(options: TakeBackupOptions): Promise<BackupResult> {
  const started = performance.now();
  const createdAt = (options.now ?? (() => new Date()))();
  const id = backupId(createdAt, options.runId, options.reason, options.changeId);
  const finalPath = join(options.dir, id);
  const partialPath = `${finalPath}${PARTIAL_SUFFIX}`;
  const what = options.changeId === undefined ? `backup of ${options.db.databaseName}` : `backup before ${options.changeId}`;
  try {
    await prepareBackupRoot(options.dir);
    await mkdir(partialPath, { mode: PRIVATE_DIR });
  } catch (error) {
    throw new BackupFailedError(`${what} failed: cannot create ${partialPath}: ${messageOf(error)}`, { cause: error });
  }
  try {
    const { selected, skipped } = await selectCollections(options);
    const stems = fileStems(selected.map((c) => c.name));
    const entries: BackedUpCollection[] = [];
    for (const info of selected) entries.push(await backUpCollection(options, info, partialPath, stems.get(info.name) ?? info.name));
    const manifest: BackupManifest = {
      format: MANIFEST_FORMAT,
      id,
      runId: options.runId,
      ...(options.changeId === undefined ? {} : { changeId: options.changeId }),
      reason: options.reason,
      db: options.db.databaseName,
      scope: options.collections === 'database' ? 'database' : 'collections',
      createdAt: createdAt.toISOString(),
      durationMs: Math.round(performance.now() - started),
      toolVersion: toolVersion(),
      documents: entries.reduce((n, c) => n + c.documents, 0),
      bytes: entries.reduce((n, c) => n + (c.data?.bytes ?? 0) + (c.metadata?.bytes ?? 0), 0),
      collections: entries,
      skipped,
    };
    await writeManifest(partialPath, manifest);
    await rename(partialPath, finalPath);
    return {
      id,
      path: finalPath,
      runId: options.runId,
      changeId: options.changeId,
      reason: options.reason,
      db: manifest.db,
      collections: entries.map((c) => ({ name: c.name, documents: c.documents, bytes: c.data?.bytes ?? 0, existed: c.existed })),
      skipped,
      documents: manifest.documents,
      bytes: manifest.bytes,
      durationMs: Math.round(performance.now() - started),
    };
  } catch (error) {
    await rm(partialPath, { recursive: true, force: true }).catch(() => undefined);
    if (error instanceof BackupFailedError) throw error;
    throw new BackupFailedError(`${what} failed: ${messageOf(error)}`, { cause: error });
  }
}

/** The collections to copy, and those a whole-database backup leaves out (with why). */
async function selectCollections(options: TakeBackupOptions): Promise<{ selected: CollectionInfo[]; skipped: { name: string; reason: string }[] }> {
  const exclude = new Set(options.exclude ?? []);
  const named = options.collections === 'database' ? undefined : [...new Set(options.collections)];
  const filter = named === undefined ? {} : { name: { $in: named } };
  const infos = (await options.db.listCollections(filter).toArray()) as CollectionInfo[];
  const byName = new Map(infos.map((info) => [info.name, info]));
  const names = named ?? infos.map((info) => info.name).sort();
  const selected: CollectionInfo[] = [];
  const skipped: { name: string; reason: string }[] = [];
  for (const name of names) {
    const info = byName.get(name);
    if (exclude.has(name)) skipped.push({ name, reason: "delta's tracker collection" });
    else if (name.startsWith('system.')) skipped.push({ name, reason: 'system collection' });
    else if (info !== undefined && (info.type ?? 'collection') !== 'collection') skipped.push({ name, reason: `${info.type ?? 'unknown'}: only collections are backed up` });
    // A named collection that does not exist is recorded as absent: restoring with --drop removes it again.
    else selected.push(info ?? { name, type: 'absent' });
  }
  return { selected, skipped };
}

async function backUpCollection(options: TakeBackupOptions, info: CollectionInfo, folder: string, stem: string): Promise<BackedUpCollection> {
  if (info.type === 'absent') return { name: info.name, existed: false, documents: 0, indexes: 0 };
  const collection = options.db.collection(info.name);
  const total = await collection.estimatedDocumentCount();
  const progress = progressThrottle(options.onProgress, { phase: 'backup', collection: info.name, totalDocuments: total });
  // `raw`: the cursor yields each document as the server's BSON bytes, written unchanged.
  const cursor = collection.find({}, { raw: true, batchSize: options.batchSize ?? 1000 }) as unknown as AsyncIterable<Uint8Array> & { close(): Promise<void> };
  const dataPath = `${stem}.bson`;
  let data: Awaited<ReturnType<typeof writeBsonFile>>;
  try {
    data = await writeBsonFile(join(folder, dataPath), cursor, (bytes) => progress.document(bytes));
  } finally {
    await cursor.close().catch(() => undefined);
  }
  progress.done();
  const indexes = await collection.listIndexes().toArray();
  const metadataPath = `${stem}.metadata.json`;
  const metadata = { name: info.name, options: info.options ?? {}, indexes };
  await writeFile(join(folder, metadataPath), `${EJSON.stringify(metadata, undefined, 2, { relaxed: false })}\n`, { flag: 'wx', mode: PRIVATE_FILE });
  return {
    name: info.name,
    existed: true,
    documents: data.documents,
    indexes: indexes.length,
    data: { path: dataPath, bytes: data.bytes, sha256: data.sha256 },
    metadata: { path: metadataPath, ...(await hashFile(join(folder, metadataPath))) },
  };
}

/** The data size of a database as the server reports it (dbStats), for the "large backup" warning. */
export async function databaseSize(db: Db): Promise<number> {
  const stats = await db.command({ dbStats: 1 });
  return typeof stats.dataSize === 'number' ? stats.dataSize : 0;
}
