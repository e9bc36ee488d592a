// Where a createDelta() instance's changes come from: the configured folder (read and hashed
// before connecting; code imported once history is known) or definitions given in memory.
import type { DeltaConfig } from '../config/resolve-config.js';
import { keepMigrateMongoChangelog } from '../adopt/changelog-keeper.js';
import { fileChangeSource, memoryChangeSource } from '../loader/change-catalog.js';
import { scanChangeFiles, stageSpec } from '../loader/change-folder.js';
import type { ImportedChanges } from '../loader/file-loader.js';
import type { TemplateOptions } from '../loader/templates/load-template.js';
import { tryImportChangeFiles } from '../loader/file-loader.js';
import { formatRegistry } from '../loader/formats/format-registry.js';
import { changesFromDefinitions } from '../loader/memory-source.js';
import { checkpointsCollection } from '../tracker/records.js';
import type { ChangeDefinition, ChangeSource, FormatRegistry, StageSpec } from '../vocabulary/index.js';

/** What the change sources need of the createDelta() options. */
export interface SourceOptions {
  readonly cwd: string;
  readonly changes?: readonly ChangeDefinition[];
}

/** The changes of a run: scanned and hashed now, each file's code imported only when the run needs it. */
export async function changeSourceFor(options: SourceOptions, config: DeltaConfig): Promise<ChangeSource> {
  if (options.changes !== undefined) {
    const stages = configuredStages(config);
    return memoryChangeSource(changesFromDefinitions(options.changes, stages), stages);
  }
  const folder = await scanChangeFiles({ path: config.path, pathSource: config.pathSource, stages: config.stages, runners: projectFormats(config, options.cwd) });
  const source = fileChangeSource(folder, templateOptions(config));
  return config.migrateMongo === undefined ? source : keepMigrateMongoChangelog(source, { folder: config.path, ...config.migrateMongo });
}

/** Every change with its code imported, applied ones too, and the problems of files that would not load: what validate checks. */
export async function everyChange(options: SourceOptions, config: DeltaConfig): Promise<{ readonly changes: ImportedChanges; readonly stages: readonly StageSpec[] }> {
  if (options.changes !== undefined) {
    const stages = configuredStages(config);
    return { changes: { units: changesFromDefinitions(options.changes, stages), problems: [] }, stages };
  }
  const folder = await scanChangeFiles({ path: config.path, pathSource: config.pathSource, stages: config.stages, runners: projectFormats(config, options.cwd) });
  return { changes: await tryImportChangeFiles(folder.files, templateOptions(config)), stages: folder.stages };
}

/** The built-in formats and the configured ones; shell changes get the target's URI and run in the project's folder. */
function projectFormats(config: DeltaConfig, cwd: string): FormatRegistry {
  return formatRegistry({ runners: config.runners, programs: config.programs, uri: config.uri, cwd, shellEnv: config.shellEnv });
}

/** What templates are given: the configured operations, and what they may do (delta's own collections never). */
function templateOptions(config: DeltaConfig): TemplateOptions {
  const { migrations, audit, lock } = config.tracker.collections;
  return { operations: config.operations, permissions: { ...config.templates, ownCollections: [migrations, audit, lock, checkpointsCollection(migrations)] } };
}

/** The configuration's stages as the runner sees them (for changes given in memory). */
function configuredStages(config: DeltaConfig): StageSpec[] {
  return (config.stages ?? []).map(stageSpec);
}
