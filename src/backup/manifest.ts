import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { BackupInvalidError, messageOf } from '../errors.js';

export const MANIFEST_FILE = 'manifest.json';
export const MANIFEST_FORMAT = 'delta-backup/1';

/** Why a backup was taken: before one change, before a whole run, or on demand (`delta backup`). */
export const BACKUP_REASONS = ['change', 'run', 'manual'] as const;
export type BackupReason = (typeof BACKUP_REASONS)[number];

const fileEntry = z.strictObject({
  /** Relative to the backup's folder. */
  path: z.string().min(1),
  bytes: z.number().int().nonnegative(),
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
});

const collectionEntry = z.strictObject({
  name: z.string().min(1),
  /** False when the collection did not exist at backup time (a restore with `--drop` removes it). */
  existed: z.boolean(),
  documents: z.number().int().nonnegative(),
  indexes: z.number().int().nonnegative(),
  /** The documents, one BSON document after another (absent when the collection did not exist). */
  data: fileEntry.optional(),
  /** Collection options (validator, collation...) and index specs, canonical Extended JSON. */
  metadata: fileEntry.optional(),
});

const manifestSchema = z.strictObject({
  format: z.literal(MANIFEST_FORMAT),
  id: z.string().min(1),
  runId: z.string().min(1),
  changeId: z.string().min(1).optional(),
  reason: z.enum(BACKUP_REASONS),
  /** The database backed up: a name only, never a connection string. */
  db: z.string().min(1),
  /** `database`: every collection of the database (tracker collections excepted); `collections`: the ones named. */
  scope: z.enum(['database', 'collections']),
  createdAt: z.string(),
  durationMs: z.number().int().nonnegative(),
  toolVersion: z.string(),
  documents: z.number().int().nonnegative(),
  bytes: z.number().int().nonnegative(),
  collections: z.array(collectionEntry),
  /** Collections a whole-database backup left out, with the reason (views, time series...). */
  skipped: z.array(z.strictObject({ name: z.string(), reason: z.string() })),
});

export type BackupManifest = z.infer<typeof manifestSchema>;
export type BackupFile = z.infer<typeof fileEntry>;
export type BackedUpCollection = z.infer<typeof collectionEntry>;

/** What `<collection>.metadata.json` holds (Extended JSON, canonical, parsed). */
export interface CollectionMetadata {
  readonly name: string;
  /** `listCollections` options: validator, validationLevel, collation, capped, expireAfterSeconds... */
  readonly options: Readonly<Record<string, unknown>>;
  /** `listIndexes` specs, `_id_` included. */
  readonly indexes: readonly Readonly<Record<string, unknown>>[];
}

/** Reads and checks a backup's manifest; a missing or malformed one is a BackupInvalidError naming it. */
export async function readManifest(folder: string): Promise<BackupManifest> {
  const file = join(folder, MANIFEST_FILE);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    throw new BackupInvalidError(`${file}: cannot read the backup's manifest: ${messageOf(error)}`, file, { cause: error });
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new BackupInvalidError(`${file}: not valid JSON: ${messageOf(error)}`, file, { cause: error });
  }
  const result = manifestSchema.safeParse(parsed);
  if (!result.success) {
    const issue = result.error.issues[0];
    const at = issue === undefined ? '' : `${issue.path.map(String).join('.')}: ${issue.message}`;
    throw new BackupInvalidError(`${file}: not a delta backup manifest (${at})`, file);
  }
  return result.data;
}

export async function writeManifest(folder: string, manifest: BackupManifest): Promise<void> {
  await writeFile(join(folder, MANIFEST_FILE), `${JSON.stringify(manifest, null, 2)}\n`, { mode: 0o600 });
}
