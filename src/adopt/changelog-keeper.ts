// During a move from migrate-mongo, some teammates or a deploy script may still run `migrate-mongo
// up`. With `migrateMongo: { changelog }` configured, every change migrate-mongo would see (a file
// of its extension at the top of the change folder) also writes its changelog entry when delta
// commits it, and removes it when delta rolls it back, exactly as migrate-mongo 14's up and down do
// (`{ fileName, appliedAt, migrationBlock }`, plus `fileHash` with useFileHash); a rollback removes
// every entry of the file, where migrate-mongo's down removes one. The entry is written through the change's own `db` and session: in a
// transaction it commits or aborts with the change's effects and delta's record.
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { extname, join } from 'node:path';
import type { ChangeCatalog, ChangeContext, ChangeFunction, ChangeRef, ChangeSource, ChangeUnit, KnownRecord } from '../vocabulary/index.js';

export interface KeptChangelog {
  /** Absolute path of the change folder (migrate-mongo's migrationsDir). */
  readonly folder: string;
  readonly changelog: string;
  /** The extension of migrate-mongo's migration files (its migrationFileExtension). */
  readonly fileExtension: string;
  readonly useFileHash: boolean;
}

/** `source` with the changes migrate-mongo sees writing and removing their changelog entries. */
export function keepMigrateMongoChangelog(source: ChangeSource, kept: KeptChangelog): ChangeSource {
  // One block per command, as one `migrate-mongo up` is one block (`migrate-mongo down --block`).
  const migrationBlock = Date.now();
  const wrap = (catalog: ChangeCatalog): ChangeCatalog => ({
    changes: catalog.changes,
    stages: catalog.stages,
    load: async (change) => {
      const unit = await catalog.load(change);
      return seenByMigrateMongo(change, kept) ? await keepingChangelog(unit, kept, migrationBlock) : unit;
    },
  });
  return {
    withoutImports: (history: readonly KnownRecord[]) => {
      const catalog = source.withoutImports(history);
      return catalog === undefined ? undefined : wrap(catalog);
    },
    open: async (history: readonly KnownRecord[]) => wrap(await source.open(history)),
  };
}

/** migrate-mongo lists the files of its extension in the migrations folder itself, not in subfolders. */
function seenByMigrateMongo(change: ChangeRef, kept: KeptChangelog): boolean {
  return change.file !== undefined && !change.file.includes('/') && extname(change.file) === kept.fileExtension && change.stage === undefined;
}

async function keepingChangelog(unit: ChangeUnit, kept: KeptChangelog, migrationBlock: number): Promise<ChangeUnit> {
  const fileName = unit.file ?? unit.id;
  // migrate-mongo's fileHash: sha256 of the file's bytes as they are (no line-ending normalisation).
  const fileHash = kept.useFileHash
    ? createHash('sha256')
        .update(await readFile(join(kept.folder, fileName)))
        .digest('hex')
    : undefined;
  const entries = (context: ChangeContext) => context.db.collection(kept.changelog);
  const commit: ChangeFunction = async (context) => {
    const result = await unit.commit(context);
    const entry = fileHash === undefined ? { fileName, appliedAt: new Date(), migrationBlock } : { fileName, fileHash, appliedAt: new Date(), migrationBlock };
    await entries(context).insertOne(entry, { session: context.session });
    return result;
  };
  const rollback = unit.rollback;
  return {
    ...unit,
    commit,
    rollback:
      rollback === undefined
        ? undefined
        : async (context) => {
            const result = await rollback(context);
            // Every entry of the file, not one as migrate-mongo's down removes: with useFileHash an older
            // version's entry may stand beside this one, and none may say the file is applied any more.
            await entries(context).deleteMany({ fileName }, { session: context.session });
            return result;
          },
  };
}
