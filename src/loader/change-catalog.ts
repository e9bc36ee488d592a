import { ChangeFileError } from '../errors.js';
import type { ChangeCatalog, ChangeRef, ChangeUnit } from './change-types.js';
import type { ScannedFile } from './file-loader.js';
import { compareIds, duplicateIdProblems, importChangeFiles, throwProblems } from './file-loader.js';

/** What the catalog needs to know of a history record (the tracker's records fit). */
export interface KnownRecord {
  readonly changeId: string;
  readonly status: string;
  readonly checksum: string;
  readonly file?: string;
  readonly description?: string;
}

/**
 * Opens the catalog of a change folder against its history: files applied
 * and unchanged since (same file name, same checksum) are known from their
 * record and not imported; every other file is imported now, and all their
 * problems (import errors, duplicate ids) are thrown together. An up-to-date
 * application therefore starts without importing a single change file.
 */
export async function openFileCatalog(files: readonly ScannedFile[], history: readonly KnownRecord[]): Promise<ChangeCatalog> {
  const appliedByFile = new Map<string, KnownRecord>();
  for (const record of history) {
    if (record.status === 'applied' && record.file !== undefined && !appliedByFile.has(record.file)) appliedByFile.set(record.file, record);
  }
  const settled = new Map<string, ScannedFile>();
  const refs: ChangeRef[] = [];
  const toImport: ScannedFile[] = [];
  for (const file of files) {
    const record = appliedByFile.get(file.file);
    if (record !== undefined && record.checksum === file.checksum) {
      refs.push({ id: record.changeId, file: file.file, checksum: file.checksum, description: record.description });
      settled.set(record.changeId, file);
    } else toImport.push(file);
  }
  const imported = await importChangeFiles(toImport);
  const all = [...refs, ...imported];
  throwProblems(duplicateIdProblems(all));

  const loaded = new Map<string, Promise<ChangeUnit>>(imported.map((unit) => [unit.id, Promise.resolve(unit)]));
  return {
    changes: all.sort((a, b) => compareIds(a.id, b.id)),
    load(change) {
      let unit = loaded.get(change.id);
      if (unit === undefined) {
        const file = settled.get(change.id);
        if (file === undefined) return Promise.reject(new Error(`${change.id} is not in this catalog`));
        unit = importChangeFiles([file]).then(([only]) => {
          if (only?.id !== change.id) {
            throw new ChangeFileError(`${file.file}: its id is now ${JSON.stringify(only?.id)} but it was applied as ${JSON.stringify(change.id)}`, file.file);
          }
          return only;
        });
        loaded.set(change.id, unit);
      }
      return unit;
    },
  };
}

/** A catalog of changes already in memory (given in code, or every file imported). */
export function memoryCatalog(units: readonly ChangeUnit[]): ChangeCatalog {
  const byId = new Map(units.map((unit) => [unit.id, unit]));
  return {
    changes: [...units].sort((a, b) => compareIds(a.id, b.id)),
    load(change) {
      const unit = byId.get(change.id);
      return unit === undefined ? Promise.reject(new Error(`${change.id} is not in this catalog`)) : Promise.resolve(unit);
    },
  };
}
