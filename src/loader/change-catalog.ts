import { ChangeFileError } from '../errors.js';
import type { ScannedFile, ScannedFolder } from './change-folder.js';
import type { TemplateOptions } from './templates/load-template.js';
import { changeOrder } from './change-order.js';
import { metadataOf } from './change-metadata.js';
import { duplicateIdProblems, importChangeFiles, throwProblems } from './file-loader.js';
import type { ChangeCatalog, ChangeRef, ChangeSource, ChangeUnit, KnownRecord, StageSpec } from '../vocabulary/index.js';

/**
 * The changes of a folder, read and hashed but not imported. A catalog
 * opened against a history knows files applied and unchanged since (same
 * file name, same checksum) from their records and imports only the others,
 * all at once, throwing every file problem together. An up-to-date
 * application therefore starts without importing a single change file, and
 * a runner that waited for the lock imports nothing another runner applied.
 * Imported files are kept, so reopening under the lock imports nothing twice.
 */
export function fileChangeSource(folder: ScannedFolder, options: TemplateOptions = {}): ChangeSource {
  const { files, stages } = folder;
  const order = changeOrder(stages);
  // Only successful imports are kept: a file that failed is imported (and reported) again next time.
  const imported = new Map<string, ChangeUnit>();
  const importOnce = async (batch: readonly ScannedFile[]): Promise<ChangeUnit[]> => {
    const fresh = batch.filter((file) => !imported.has(file.file));
    if (fresh.length > 0) {
      for (const unit of await importChangeFiles(fresh, options)) imported.set(unit.file ?? unit.id, unit);
    }
    return batch.map((file) => imported.get(file.file) as ChangeUnit);
  };

  const split = (history: readonly KnownRecord[]) => {
    const appliedByFile = new Map<string, KnownRecord>();
    for (const record of history) {
      if (record.status === 'applied' && record.file !== undefined && !appliedByFile.has(record.file)) appliedByFile.set(record.file, record);
    }
    const settled = new Map<string, { ref: ChangeRef; file: ScannedFile }>();
    const unsettled: ScannedFile[] = [];
    for (const file of files) {
      const record = appliedByFile.get(file.file);
      if (record !== undefined && record.checksum === file.checksum) {
        settled.set(record.changeId, {
          ref: { id: record.changeId, file: file.file, checksum: file.checksum, description: record.description, stage: file.stage?.name, metadata: metadataOf(record), runner: file.runner.name },
          file,
        });
      } else unsettled.push(file);
    }
    return { settled, unsettled };
  };

  const catalog = (settled: Map<string, { ref: ChangeRef; file: ScannedFile }>, units: readonly ChangeUnit[]): ChangeCatalog => {
    const all = [...[...settled.values()].map((s) => s.ref), ...units];
    throwProblems(duplicateIdProblems(all));
    const byId = new Map(units.map((unit) => [unit.id, unit]));
    return {
      changes: all.sort(order),
      stages,
      async load(change) {
        const unit = byId.get(change.id);
        if (unit !== undefined) return unit;
        const entry = settled.get(change.id);
        if (entry === undefined) throw new Error(`${change.id} is not in this catalog`);
        const [only] = await importOnce([entry.file]);
        if (only?.id !== change.id) {
          throw new ChangeFileError(`${entry.file.file}: its id is now ${JSON.stringify(only?.id)} but it was applied as ${JSON.stringify(change.id)}`, entry.file.file);
        }
        return only;
      },
    };
  };

  return {
    withoutImports(history) {
      const { settled, unsettled } = split(history);
      return unsettled.length === 0 ? catalog(settled, []) : undefined;
    },
    async open(history) {
      const { settled, unsettled } = split(history);
      return catalog(settled, await importOnce(unsettled));
    },
  };
}

/** Changes already in memory (given in code): every catalog holds them all. */
export function memoryChangeSource(units: readonly ChangeUnit[], stages: readonly StageSpec[] = []): ChangeSource {
  const byId = new Map(units.map((unit) => [unit.id, unit]));
  const catalog: ChangeCatalog = {
    changes: [...units].sort(changeOrder(stages)),
    stages,
    load(change) {
      const unit = byId.get(change.id);
      return unit === undefined ? Promise.reject(new Error(`${change.id} is not in this catalog`)) : Promise.resolve(unit);
    },
  };
  return { withoutImports: () => catalog, open: async () => catalog };
}
