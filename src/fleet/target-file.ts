// Fleet files (`--targets @fleet.yaml`, `.yml`, `.json`): a list of entries, each a name or glob,
// or `{ uri?, db }` for databases on a deployment of their own. A `uri` may name environment
// variables (`${EU_URI}`) so that no secret is written in the file; their values are never shown.
import { UsageError } from '../errors.js';
import type { TargetEntry } from '../config/resolve-config.js';

/** Whether `@file` names a fleet file of entries (YAML or JSON) rather than one name per line. */
export function isFleetFile(file: string): boolean {
  return /\.(ya?ml|json)$/i.test(file);
}

const ENTRY_KEYS = ['uri', 'db'];

/** The entries of a fleet file's text; `label` names it in messages (`--targets @fleet.yaml`). */
export async function parseFleetFile(text: string, file: string, label: string): Promise<TargetEntry[]> {
  let value: unknown;
  try {
    if (/\.json$/i.test(file)) value = JSON.parse(text) as unknown;
    else {
      const { parse } = await import('yaml');
      value = parse(text) as unknown;
    }
  } catch (error) {
    const reason = error instanceof Error ? error.message.split('\n')[0] : String(error);
    throw new UsageError(`${label}: not valid ${/\.json$/i.test(file) ? 'JSON' : 'YAML'}: ${reason ?? ''}`, { cause: error });
  }
  if (value === null || value === undefined) throw new UsageError(`${label}: the file lists no database`);
  return checkEntries(value, label);
}

/** Checks a list of entries (a fleet file's, or the configuration's `targets`); each problem names the entry (1-based) and its key. */
export function checkEntries(value: unknown, label: string): TargetEntry[] {
  if (!Array.isArray(value)) throw new UsageError(`${label}: expected a list of entries (a name or glob, or { uri?, db }), not ${describe(value)}`);
  if (value.length === 0) throw new UsageError(`${label}: the file lists no database`);
  return value.map((item: unknown, index): TargetEntry => {
    const at = `${label}: entry ${index + 1}`;
    if (typeof item === 'string') {
      if (item.trim() === '') throw new UsageError(`${at}: an empty name`);
      return { uri: undefined, db: item.trim() };
    }
    if (typeof item !== 'object' || item === null || Array.isArray(item)) throw new UsageError(`${at}: expected a name or glob, or { uri?, db }, not ${describe(item)}`);
    const entry = item as Record<string, unknown>;
    const unknown = Object.keys(entry).find((key) => !ENTRY_KEYS.includes(key));
    if (unknown !== undefined) throw new UsageError(`${at}: unknown key ${JSON.stringify(unknown)} (an entry has uri and db)`);
    const { uri, db } = entry;
    if (uri !== undefined && (typeof uri !== 'string' || uri.trim() === ''))
      throw new UsageError(`${at}: key "uri" must be a connection string (mongodb://..., or \${VARIABLE}), not ${describe(uri)}`);
    if (db === undefined) throw new UsageError(`${at}: key "db" is missing (a database name, a glob, or a list of them)`);
    const names = typeof db === 'string' ? [db] : Array.isArray(db) ? (db as unknown[]) : undefined;
    if (names === undefined || names.length === 0 || names.some((name) => typeof name !== 'string' || name.trim() === '')) {
      throw new UsageError(`${at}: key "db" must be a database name, a glob, or a non-empty list of them, not ${describe(db)}`);
    }
    return { uri: uri?.trim(), db: typeof db === 'string' ? db.trim() : (names as string[]).map((name) => name.trim()) };
  });
}

/**
 * A uri with its `${NAME}` references replaced from `env`. An unset (or empty) variable is a
 * UsageError naming the entry and the variable, never a value.
 */
export function expandUri(uri: string, env: Readonly<Record<string, string | undefined>>, at: string): string {
  return uri.replace(/\$\{([^}]*)\}/g, (_all, name: string) => {
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) throw new UsageError(`${at}: key "uri": \${${name}} is not an environment variable name`);
    const value = env[name];
    if (value === undefined || value === '') throw new UsageError(`${at}: key "uri" names the environment variable ${name}, which is not set`);
    return value;
  });
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'an object';
  if (typeof value === 'string') return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}...` : value);
  return String(value);
}
