import type { Dirent } from 'node:fs';
import { readFileSync } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import { extname, join, relative } from 'node:path';
import { DEFAULT_STAGE_CONCURRENCY } from '../config/schema.js';
import { STAGE_NAME_PATTERN } from '../config/names.js';
import type { StageConfig } from '../config/resolve-config.js';
import { ConfigError } from '../errors.js';
import { checksumOf } from './checksum.js';
import type { StageSpec } from './change-types.js';
import { compareIds } from './change-order.js';

export const CODE_EXTENSIONS = ['.ts', '.mts', '.cts', '.js', '.mjs', '.cjs'] as const;
export const TEMPLATE_EXTENSIONS = ['.json', '.yaml', '.yml'] as const;
const RECOGNISED = new Set<string>([...CODE_EXTENSIONS, ...TEMPLATE_EXTENSIONS]);

export interface ChangeFileEntry {
  /** File name relative to the change folder, `/`-separated (`schema/001_users.ts` in a stage). */
  readonly file: string;
  readonly absolutePath: string;
  readonly extension: string;
  /** The stage whose folder holds the file; undefined without stages. */
  readonly stage: StageSpec | undefined;
}

/** A change file read from disk and hashed, not imported yet. */
export interface ScannedFile extends ChangeFileEntry {
  readonly checksum: string;
}

/** The change files of a folder and its stages, in run order, hashed but not imported. */
export interface ScannedFolder {
  readonly files: readonly ScannedFile[];
  /** The stages in their declared order; empty when the folder has none. */
  readonly stages: readonly StageSpec[];
}

export interface ChangeFolderOptions {
  /** Absolute path of the change folder. */
  readonly path: string;
  /** Where the path came from (`--path`, `DELTA_PATH`, a config file), for messages. */
  readonly pathSource?: string;
  /** Stages declared in the configuration; without them, subfolders holding change files are the stages. */
  readonly stages?: readonly StageConfig[] | undefined;
}

/** Lists the change files directly inside `path`, in name order (no stages: a migrate-mongo folder). */
export async function listChangeFiles(options: ChangeFolderOptions): Promise<ChangeFileEntry[]> {
  return changeFilesIn(options.path, await readFolder(options.path, options.pathSource), '', undefined);
}

/**
 * Lists the change files of the folder and its stages. Stages come from the
 * configuration's `stages` (each a folder, `.` for the change folder itself)
 * or, when none are declared, from the subfolders that hold change files,
 * in name order. Folders whose names start with `_` or `.`, and
 * `node_modules`, are never stages: that is where shared helper code goes.
 * A change file that belongs to no stage while stages exist is an error, so
 * that a file is never silently left out.
 */
export async function listStagedFiles(options: ChangeFolderOptions): Promise<{ entries: ChangeFileEntry[]; stages: StageSpec[] }> {
  const root = options.path;
  const rootEntries = await readFolder(root, options.pathSource);
  const rootFiles = changeFilesIn(root, rootEntries, '', undefined);

  if (options.stages !== undefined) {
    const entries: ChangeFileEntry[] = [];
    const stages: StageSpec[] = [];
    let rootClaimed = false;
    for (const declared of options.stages) {
      const spec = stageSpec(declared);
      const folder = declared.folder;
      if (folder === root) rootClaimed = true;
      let info;
      try {
        info = await stat(folder);
      } catch {
        throw new ConfigError(`${declared.source}: stage ${declared.name}: folder ${folder} does not exist`);
      }
      if (!info.isDirectory()) throw new ConfigError(`${declared.source}: stage ${declared.name}: ${folder} is not a directory`);
      const prefix = relative(root, folder).split('\\').join('/');
      entries.push(...changeFilesIn(folder, await readdir(folder, { withFileTypes: true }), prefix, spec));
      stages.push(spec);
    }
    const claimed = new Set(options.stages.map((declared) => declared.folder));
    const unclaimed = rootClaimed ? [] : [...rootFiles];
    for (const directory of stageCandidates(rootEntries)) {
      const folder = join(root, directory.name);
      if (!claimed.has(folder)) unclaimed.push(...changeFilesIn(folder, await readdir(folder, { withFileTypes: true }), directory.name, undefined));
    }
    if (unclaimed.length > 0) {
      throw new ConfigError(
        `${root}: ${describeFiles(unclaimed)} ${unclaimed.length === 1 ? 'is' : 'are'} in no stage: move ${unclaimed.length === 1 ? 'it' : 'them'} into a stage's folder, ` +
          `declare ${unclaimed.length === 1 ? 'its' : 'their'} folder as a stage (path '.' for the change folder itself), or start a helper folder's name with _`,
      );
    }
    return { entries, stages };
  }

  const entries: ChangeFileEntry[] = [];
  const stages: StageSpec[] = [];
  for (const directory of stageCandidates(rootEntries)) {
    const folder = join(root, directory.name);
    const spec: StageSpec = { name: directory.name, transaction: undefined, timeoutMs: undefined, parallel: false, concurrency: DEFAULT_STAGE_CONCURRENCY };
    const files = changeFilesIn(folder, await readdir(folder, { withFileTypes: true }), directory.name, spec);
    if (files.length === 0) continue;
    if (!STAGE_NAME_PATTERN.test(directory.name)) {
      throw new ConfigError(`${folder}: a stage folder's name must be letters, digits, _ . - (no spaces) starting with a letter or digit; rename it, or start it with _ if it holds no changes`);
    }
    entries.push(...files);
    stages.push(spec);
  }
  if (stages.length > 0 && rootFiles.length > 0) {
    throw new ConfigError(
      `${root}: change files ${describeFiles(rootFiles)} sit beside stage folders (${stages.map((s) => `${s.name}/`).join(', ')}): ` +
        "move them into a stage folder, start helper folders' names with _, or declare stages in the configuration",
    );
  }
  return stages.length > 0 ? { entries, stages } : { entries: rootFiles, stages: [] };
}

/** A declared stage as the runner sees it (without its folder). */
export function stageSpec({ name, transaction, timeoutMs, parallel, concurrency }: StageConfig): StageSpec {
  return { name, transaction, timeoutMs, parallel, concurrency };
}

/** Reads and hashes every change file of the folder and its stages; imports nothing. */
export async function scanChangeFiles(options: ChangeFolderOptions): Promise<ScannedFolder> {
  const { entries, stages } = await listStagedFiles(options);
  // Read one after another, synchronously: for many small files this is about six times faster
  // than fs/promises (one thread-pool trip per open, stat, read and close) and keeps the peak
  // memory lower (10,000 files: 0.2 s against 1.2 s here).
  const files = entries.map((entry): ScannedFile => ({ ...entry, checksum: checksumOf(readFileSync(entry.absolutePath)) }));
  return { files, stages };
}

async function readFolder(path: string, pathSource: string | undefined): Promise<Dirent[]> {
  const from = pathSource === undefined ? '' : ` (from ${pathSource})`;
  let info;
  try {
    info = await stat(path);
  } catch {
    throw new ConfigError(`change folder ${path} does not exist${from}`);
  }
  if (!info.isDirectory()) throw new ConfigError(`change folder ${path} is not a directory${from}`);
  return readdir(path, { withFileTypes: true });
}

/** Subfolders that may be stages, in name order: not `_helpers`, `.hidden` or `node_modules`. */
function stageCandidates(entries: readonly Dirent[]): Dirent[] {
  return entries.filter((entry) => entry.isDirectory() && !/^[._]/.test(entry.name) && entry.name !== 'node_modules').sort((a, b) => compareIds(a.name, b.name));
}

function changeFilesIn(folder: string, entries: readonly Dirent[], prefix: string, stage: StageSpec | undefined): ChangeFileEntry[] {
  return entries
    .filter((entry) => entry.isFile() && !entry.name.startsWith('.') && !entry.name.endsWith('.d.ts') && RECOGNISED.has(extname(entry.name)))
    .map((entry) => ({ file: prefix === '' ? entry.name : `${prefix}/${entry.name}`, absolutePath: join(folder, entry.name), extension: extname(entry.name), stage }))
    .sort((a, b) => compareIds(a.file, b.file));
}

function describeFiles(entries: readonly ChangeFileEntry[]): string {
  const names = entries.slice(0, 3).map((entry) => entry.file);
  return names.join(', ') + (entries.length > 3 ? ` and ${entries.length - 3} more` : '');
}
