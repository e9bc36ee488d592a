// Environment files: `.env` in the current folder when there is one, and each `--dotenv`. Many
// projects keep their connection string there (migrate-mongo's configs call dotenv); delta reads
// them with Node's own parser, and a variable already set in the environment wins over any file.
import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { parseEnv } from 'node:util';
import { UsageError, messageOf } from '../errors.js';

/** The environment a command runs with: the files' variables (later files win), then the process's (non-empty ones win). */
export async function withEnvironmentFiles(env: Readonly<Record<string, string | undefined>>, cwd: string, files: readonly string[]): Promise<Readonly<Record<string, string | undefined>>> {
  const layers: Record<string, string>[] = [];
  const dotEnv = await readIfPresent(join(cwd, '.env'));
  if (dotEnv !== undefined) layers.push(parsed(dotEnv, '.env'));
  for (const file of files) {
    let text: string;
    try {
      text = await readFile(resolve(cwd, file), 'utf8');
    } catch (error) {
      throw new UsageError(`--dotenv ${file}: cannot be read (${(error as NodeJS.ErrnoException).code ?? messageOf(error)})`);
    }
    layers.push(parsed(text, `--dotenv ${file}`));
  }
  if (layers.length === 0) return env;
  const merged: Record<string, string | undefined> = Object.assign({}, ...layers) as Record<string, string>;
  for (const [name, value] of Object.entries(env)) if (value !== undefined && value !== '') merged[name] = value;
  return merged;
}

async function readIfPresent(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new UsageError(`.env: cannot be read (${(error as NodeJS.ErrnoException).code ?? messageOf(error)})`);
  }
}

function parsed(text: string, label: string): Record<string, string> {
  try {
    return parseEnv(text) as Record<string, string>;
  } catch (error) {
    // The parser's message may quote a line, and a line may hold a password: name the file only.
    throw new UsageError(`${label}: not an environment file (${(error as Error).name})`);
  }
}
