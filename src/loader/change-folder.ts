import type { Dirent } from 'node:fs';
import { readFileSync } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import { extname, join, relative } from 'node:path';
import { ChangeFileError, ConfigError } from '../errors.js';
import { FileHasher, checksumOf } from './checksum.js';
import { compareIds } from './change-order.js';
import { ignoredBecause } from './ignored-files.js';
import { DEFAULT_FORMATS } from './formats/format-registry.js';

export { CODE_EXTENSIONS, TEMPLATE_EXTENSIONS } from './formats/built-in-formats.js';
import type { ChangeFormat, CompanionFile, FormatRegistry, StageConfig, StageSpec } from '../vocabulary/index.js';
import { DEFAULT_STAGE_CONCURRENCY, STAGE_NAME_PATTERN } from '../vocabulary/index.js';

export interface ChangeFileEntry {
  /** File name relative to the change folder, `/`-separated (`schema/001_users.ts` in a stage). */
  readonly file: string;
  readonly absolutePath: string;
  readonly extension: string;
  /** The stage whose folder holds the file; undefined without stages. */
  readonly stage: StageSpec | undefined;
  /** The runner that claimed the file's name, and the change id the name gives. */
  readonly runner: ChangeFormat;
  readonly id: string;
  /** A pair's rollback file (`<id>.rollback.sh` beside `<id>.commit.sh`). */
  readonly rollbackFile: CompanionFile | undefined;
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
  /** Which runner claims which file name; the built-in runners when not given. */
  readonly runners?: FormatRegistry | undefined;
}

/** Lists the change files directly inside `path`, in name order (no stages: a migrate-mongo folder). */
export async function listChangeFiles(options: ChangeFolderOptions): Promise<ChangeFileEntry[]> {
  return changeFilesIn(options.path, await readFolder(options.path, options.pathSource), '', undefined, options.runners);
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
  const registry = options.runners;
  const rootFiles = changeFilesIn(root, rootEntries, '', undefined, registry);

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
      entries.push(...changeFilesIn(folder, await readdir(folder, { withFileTypes: true }), prefix, spec, registry));
      stages.push(spec);
    }
    const claimed = new Set(options.stages.map((declared) => declared.folder));
    const unclaimed = rootClaimed ? [] : [...rootFiles];
    for (const directory of stageCandidates(rootEntries)) {
      const folder = join(root, directory.name);
      if (!claimed.has(folder)) unclaimed.push(...changeFilesIn(folder, await readdir(folder, { withFileTypes: true }), directory.name, undefined, registry));
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
    const files = changeFilesIn(folder, await readdir(folder, { withFileTypes: true }), directory.name, spec, registry);
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
  // memory lower (10,000 files: 0.2 s against 1.2 s here). One object per file, written out
  // rather than spread from the entry: a spread copy of 10,000 entries was 5 MB (issue 22).
  const hasher = new FileHasher();
  const files = entries.map(({ file, absolutePath, extension, stage, runner, id, rollbackFile }): ScannedFile => ({
    file,
    absolutePath,
    extension,
    stage,
    runner,
    id,
    rollbackFile,
    checksum: checksumOfEntry(absolutePath, rollbackFile, hasher),
  }));
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

function changeFilesIn(folder: string, entries: readonly Dirent[], prefix: string, stage: StageSpec | undefined, registry: FormatRegistry = DEFAULT_FORMATS): ChangeFileEntry[] {
  const file = (name: string) => (prefix === '' ? name : `${prefix}/${name}`);
  // join(folder, name) for a plain file name, without normalising the folder once per file
  // (join('.', 'x') is 'x': the prefix is what join puts before a one-letter name).
  const folderPrefix = join(folder, 'x').slice(0, -1);
  const result: ChangeFileEntry[] = [];
  const pairs = new Map<string, { runner: ChangeFormat; id: string; commits: string[]; rollbacks: string[] }>();
  for (const entry of entries) {
    const name = entry.name;
    // Ignored before any runner sees the name: a configured runner cannot claim package.json either.
    if (!entry.isFile() || ignoredBecause(name) !== undefined) continue;
    const found = registry.match(name);
    if (found === undefined) continue;
    const { runner, match } = found;
    if (match.role === 'change') {
      result.push({ file: file(name), absolutePath: folderPrefix + name, extension: extname(name), stage, runner, id: match.id, rollbackFile: undefined });
      continue;
    }
    const key = `${runner.name}\0${match.id}`;
    const pair = pairs.get(key) ?? { runner, id: match.id, commits: [], rollbacks: [] };
    (match.role === 'commit' ? pair.commits : pair.rollbacks).push(name);
    pairs.set(key, pair);
  }
  const problems: string[] = [];
  for (const { runner, id, commits, rollbacks } of pairs.values()) {
    const [commit] = commits;
    if (commits.length > 1) problems.push(`${commits.sort().map(file).join(', ')}: two commit files for change ${JSON.stringify(id)}: keep one`);
    else if (rollbacks.length > 1) problems.push(`${rollbacks.sort().map(file).join(', ')}: two rollback files for change ${JSON.stringify(id)}: keep one`);
    else if (commit === undefined) problems.push(`${rollbacks.map(file).join(', ')}: a rollback file without its commit file (${JSON.stringify(id)}.commit...): add the commit file or remove it`);
    else {
      const [rollback] = rollbacks;
      result.push({
        file: file(commit),
        absolutePath: join(folder, commit),
        extension: extname(commit),
        stage,
        runner,
        id,
        rollbackFile: rollback === undefined ? undefined : { file: file(rollback), absolutePath: join(folder, rollback) },
      });
    }
  }
  if (problems.length > 0) throw new ChangeFileError(problems.join('\n'), problems.length === 1 ? problems[0]?.split(':')[0] : undefined);
  return result.sort((a, b) => compareIds(a.file, b.file));
}

/** The checksum of a change's bytes: its file's, or a pair's two files' (a changed rollback is a changed change). */
function checksumOfEntry(absolutePath: string, rollbackFile: CompanionFile | undefined, hasher: FileHasher): string {
  if (rollbackFile === undefined) return hasher.checksumOfFile(absolutePath);
  return checksumOf(Buffer.concat([readFileSync(absolutePath), Buffer.from('\n\0delta:rollback\0\n'), readFileSync(rollbackFile.absolutePath)]));
}

function describeFiles(entries: readonly ChangeFileEntry[]): string {
  const names = entries.slice(0, 3).map((entry) => entry.file);
  return names.join(', ') + (entries.length > 3 ? ` and ${entries.length - 3} more` : '');
}
