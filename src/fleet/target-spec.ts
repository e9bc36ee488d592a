import { readFile } from 'node:fs/promises';
import { isAbsolute, resolve } from 'node:path';
import { UsageError } from '../errors.js';
import { DATABASE_NAME_RULE, isDatabaseName } from '../vocabulary/index.js';

/** Where a fleet's target list comes from (`--targets`, or the configuration's `targets`). */
export interface TargetSpec {
  /** `a,b`, `tenant_*`, `a,tenant_*`, or `@file`. */
  readonly spec: string;
  /** How messages name it: `--targets`, `delta.config.json: targets`. */
  readonly source: string;
  /** The folder an `@file` is relative to. */
  readonly base: string;
}

export interface ResolveTargetsOptions {
  /** The deployment's databases (`listDatabases`), asked only when the spec has a glob. */
  readonly listDatabases: () => Promise<readonly string[]>;
  /** Databases a glob never matches (the tracker database of an external tracker). */
  readonly exclude?: readonly string[];
  /** Whether admin, local and config may be named (`--allow-system-db`); a glob never picks them. */
  readonly allowSystem?: boolean;
}

/** MongoDB's own databases: a glob never picks them. */
const SYSTEM_DATABASES = new Set(['admin', 'local', 'config']);

/**
 * The target databases of a spec, in name order without repeats. A name is
 * taken as written (it may not exist yet: a new tenant); a glob (`*`, `?`)
 * matches the deployment's databases and must match one; `@file` lists one
 * name per line (blank lines and `#` comments skipped). Bad input is a
 * UsageError (exit 2) naming the spec's source and the part at fault.
 */
export async function resolveTargets(target: TargetSpec, options: ResolveTargetsOptions): Promise<string[]> {
  const spec = target.spec.trim();
  const items = spec.startsWith('@') ? await readTargetFile(target, spec.slice(1)) : spec.split(',').map((item) => item.trim());
  if (items.length === 0 || items.some((item) => item === '')) {
    throw new UsageError(`${target.source} ${JSON.stringify(target.spec)}: expected database names or globs separated by commas, e.g. tenant_a,tenant_b or 'tenant_*'`);
  }
  const names = new Set<string>();
  let databases: readonly string[] | undefined;
  for (const item of items) {
    if (!isGlob(item)) {
      if (!isDatabaseName(item)) throw new UsageError(`${target.source}: ${JSON.stringify(item)} is not a database name (${DATABASE_NAME_RULE})`);
      if (SYSTEM_DATABASES.has(item) && options.allowSystem !== true) {
        throw new UsageError(`${target.source}: ${item} is one of MongoDB's own databases (admin, local, config): a fleet targets it only with --allow-system-db`);
      }
      names.add(item);
      continue;
    }
    databases ??= await listDatabases(target, item, options);
    const pattern = globPattern(item);
    const matched = databases.filter((db) => pattern.test(db) && !SYSTEM_DATABASES.has(db) && !(options.exclude ?? []).includes(db));
    if (matched.length === 0) throw new UsageError(`${target.source}: no database matches ${JSON.stringify(item)}`);
    for (const db of matched) names.add(db);
  }
  return [...names].sort();
}

/**
 * The deployment's databases for a glob. MongoDB answers a user without the listDatabases
 * privilege with only the databases it may use, or, where it is asked to or is older, refuses
 * with Unauthorized (13): that refusal names the privilege and the way around it, not the command.
 */
async function listDatabases(target: TargetSpec, glob: string, options: ResolveTargetsOptions): Promise<readonly string[]> {
  try {
    return await options.listDatabases();
  } catch (error) {
    if (!isUnauthorized(error)) throw error;
    throw new UsageError(`${target.source}: ${JSON.stringify(glob)} needs the listDatabases privilege, which this user does not have; name the databases (a,b or @file) or grant listDatabases`, {
      cause: error,
    });
  }
}

/** Unauthorized (13), as the driver threw it or wrapped in a DeltaError's cause. */
function isUnauthorized(error: unknown): boolean {
  for (let current: unknown = error; current instanceof Error; current = current.cause) {
    if ((current as { code?: unknown }).code === 13) return true;
  }
  return false;
}

async function readTargetFile(target: TargetSpec, file: string): Promise<string[]> {
  if (file === '') throw new UsageError(`${target.source} @: expected a file name after @`);
  const path = isAbsolute(file) ? file : resolve(target.base, file);
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : 'cannot be read';
    throw new UsageError(`${target.source} @${file}: ${reason} (${path})`, { cause: error });
  }
  const names = text
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'));
  if (names.length === 0) throw new UsageError(`${target.source} @${file}: the file lists no database`);
  return names;
}

function isGlob(item: string): boolean {
  return item.includes('*') || item.includes('?');
}

/** `tenant_*` -> /^tenant_.*$/: `*` any run of characters, `?` one; everything else literal. */
function globPattern(glob: string): RegExp {
  const source = glob
    .replace(/[.+^${}()|[\]\\]/g, '\\$&')
    .replace(/\*/g, '.*')
    .replace(/\?/g, '.');
  return new RegExp(`^${source}$`);
}
