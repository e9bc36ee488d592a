import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';

/** Backups hold a database's documents: readable by their owner only. */
export const PRIVATE_DIR = 0o700;
export const PRIVATE_FILE = 0o600;

/** What preparing the backup folder found: the git work tree it sits in, the first time only. */
export interface BackupRoot {
  /** Set when this call wrote the folder's `.gitignore` and the folder is inside a git work tree. */
  readonly newInWorkTree: string | undefined;
}

/**
 * Creates the backup folder (owner only) with a `.gitignore` of `*` in it, so that `git add -A`
 * in a project whose backups live inside it (the default `.delta/backups`) never stages data.
 * The first time, it also says whether the folder is inside a git work tree, for a warning.
 */
export async function prepareBackupRoot(dir: string): Promise<BackupRoot> {
  await mkdir(dir, { recursive: true, mode: PRIVATE_DIR });
  try {
    await writeFile(join(dir, '.gitignore'), '# delta backups hold database documents: never commit them\n*\n', { flag: 'wx', mode: PRIVATE_FILE });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return { newInWorkTree: undefined };
    throw error;
  }
  return { newInWorkTree: workTreeOf(resolve(dir)) };
}

/** The nearest folder above `path` holding a `.git`, if any. */
function workTreeOf(path: string): string | undefined {
  for (let at = path; ; at = dirname(at)) {
    if (existsSync(join(at, '.git'))) return at;
    if (dirname(at) === at) return undefined;
  }
}
