import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as v from '../config/schema-library.js';
import { BackupInvalidError, messageOf } from '../errors.js';

export const MANIFEST_FILE = 'manifest.json';
export const MANIFEST_FORMAT = 'delta-backup/1';

/** Why a backup was taken: before one change, before a whole run, or on demand (`delta backup`). */
export const BACKUP_REASONS = ['change', 'run', 'manual'] as const;
export type BackupReason = (typeof BACKUP_REASONS)[number];

const count = v.pipe(v.number(), v.integer(), v.minValue(0));
const nonEmpty = v.pipe(v.string(), v.minLength(1));

const fileEntry = v.strictObject({
  /** Relative to the backup's folder. */
  path: nonEmpty,
  bytes: count,
  sha256: v.pipe(v.string(), v.regex(/^[0-9a-f]{64}$/)),
});

const collectionEntry = v.strictObject({
  name: nonEmpty,
  /** False when the collection did not exist at backup time (a restore with `--drop` removes it). */
  existed: v.boolean(),
  documents: count,
  indexes: count,
  /** The documents, one BSON document after another (absent when the collection did not exist). */
  data: v.optional(fileEntry),
  /** Collection options (validator, collation...) and index specs, canonical Extended JSON. */
  metadata: v.optional(fileEntry),
});

const manifestSchema = v.strictObject({
  format: v.literal(MANIFEST_FORMAT),
  id: nonEmpty,
  runId: nonEmpty,
  changeId: v.optional(nonEmpty),
  reason: v.picklist(BACKUP_REASONS),
  /** The database backed up: a name only, never a connection string. */
  db: nonEmpty,
  /** `database`: every collection of the database (tracker collections excepted); `collections`: the ones named. */
  scope: v.picklist(['database', 'collections']),
  createdAt: v.string(),
  durationMs: count,
  toolVersion: v.string(),
  documents: count,
  bytes: count,
  collections: v.array(collectionEntry),
  /** Collections a whole-database backup left out, with the reason (views, time series...). */
  skipped: v.array(v.strictObject({ name: v.string(), reason: v.string() })),
});

export type BackupManifest = v.InferOutput<typeof manifestSchema>;
export type BackupFile = v.InferOutput<typeof fileEntry>;
export type BackedUpCollection = v.InferOutput<typeof collectionEntry>;

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
  const result = v.safeParse(manifestSchema, parsed);
  if (!result.success) {
    const [issue] = result.issues;
    // valibot's own wording names what it expected and what it found: `collections.0.documents: Invalid type: Expected number but received "3"`.
    const path = (issue.path ?? []).map((item) => String(item.key)).join('.');
    const missing = issue.type === 'strict_object' && issue.input === undefined && issue.expected !== 'never';
    throw new BackupInvalidError(`${file}: not a delta backup manifest (${path === '' ? '' : `${path}: `}${missing ? 'missing' : issue.message})`, file);
  }
  return result.output;
}

export async function writeManifest(folder: string, manifest: BackupManifest): Promise<void> {
  await writeFile(join(folder, MANIFEST_FILE), `${JSON.stringify(manifest, null, 2)}\n`, { mode: 0o600 });
}
