import { closeSync, mkdirSync, openSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import { ConfigError, DatabaseError, messageOf } from '../errors.js';

/** The part of better-sqlite3's API delta uses (the package is optional and ships no types). */
export interface SqliteStatement {
  run(...params: readonly unknown[]): { changes: number };
  get(...params: readonly unknown[]): unknown;
  all(...params: readonly unknown[]): unknown[];
}

export interface SqliteDatabase {
  prepare(sql: string): SqliteStatement;
  exec(sql: string): unknown;
  pragma(sql: string): unknown;
  transaction<A extends unknown[], R>(fn: (...args: A) => R): ((...args: A) => R) & { immediate(...args: A): R };
  close(): void;
  readonly open: boolean;
}

type SqliteConstructor = new (path: string, options?: { timeout?: number }) => SqliteDatabase;

/** The schema this version of delta writes; a file with a newer one is refused, an older one upgraded. */
export const SQLITE_SCHEMA_VERSION = 1;
/** How long a statement waits for another process's write lock on the file before SQLITE_BUSY. */
const BUSY_TIMEOUT_MS = 10_000;

const SCHEMA_V1 = `
CREATE TABLE IF NOT EXISTS delta_migrations (
  target_db TEXT NOT NULL,
  change_id TEXT NOT NULL,
  doc TEXT NOT NULL,
  PRIMARY KEY (target_db, change_id)
);
CREATE TABLE IF NOT EXISTS delta_audit (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  target_db TEXT NOT NULL,
  change_id TEXT,
  action TEXT NOT NULL,
  at INTEGER NOT NULL,
  doc TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS delta_audit_target_at ON delta_audit (target_db, at);
CREATE TABLE IF NOT EXISTS delta_lock (
  scope TEXT PRIMARY KEY,
  owner TEXT NOT NULL,
  host TEXT NOT NULL,
  pid INTEGER NOT NULL,
  command TEXT NOT NULL,
  acquired_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL
);
`;

/** Whether a tracker URI names a SQLite file (`sqlite:./path/delta.sqlite`). */
export function isSqliteUri(uri: string | undefined): uri is string {
  return uri !== undefined && /^sqlite:/i.test(uri);
}

/** The absolute path a `sqlite:` URI names, relative paths from `cwd`. */
export function sqlitePath(uri: string, cwd: string): string {
  const path = uri.replace(/^sqlite:(\/\/(?=\/))?/i, '');
  if (path === '') throw new ConfigError(`${uri}: expected sqlite:<path to the file>, e.g. sqlite:./.delta/delta.sqlite`);
  return isAbsolute(path) ? path : resolve(cwd, path);
}

/**
 * Opens (creating it and its folder if needed) the SQLite file that holds
 * history, audit and the lock, and brings its schema to this version inside
 * one `BEGIN IMMEDIATE` transaction, so that two processes opening a new file
 * at once create it once. better-sqlite3 is an optional dependency, loaded
 * only here: a missing or unbuildable one is a configuration error (exit 2).
 */
export async function openSqliteFile(path: string, source: string): Promise<SqliteDatabase> {
  let Database: SqliteConstructor;
  try {
    const loaded = (await import('better-sqlite3' as string)) as { default: SqliteConstructor };
    Database = loaded.default;
  } catch (error) {
    throw new ConfigError(
      `${source}: a sqlite: tracker needs the optional package better-sqlite3 (12.x), which is not installed or did not build here (${messageOf(error).split('\n')[0] ?? ''}); ` +
        'install it with npm install better-sqlite3@12, or use a mongodb:// tracker',
      { cause: error },
    );
  }
  let db: SqliteDatabase;
  try {
    mkdirSync(dirname(path), { recursive: true });
    // History, audit log and locks: readable by their owner only (SQLite gives its -wal and -shm
    // files the main file's mode). An existing file keeps the mode its owner chose.
    try {
      closeSync(openSync(path, 'wx', 0o600));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    db = new Database(path, { timeout: BUSY_TIMEOUT_MS });
  } catch (error) {
    throw new DatabaseError(`cannot open the SQLite tracker ${path}: ${messageOf(error)}`, { cause: error });
  }
  try {
    // WAL lets status read while a run writes; the busy timeout makes writers queue instead of failing.
    db.pragma('journal_mode = WAL');
    db.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
    db.transaction(() => {
      db.exec('CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)');
      const row = db.prepare("SELECT value FROM meta WHERE key = 'schema_version'").get() as { value: string } | undefined;
      const version = row === undefined ? 0 : Number(row.value);
      if (version > SQLITE_SCHEMA_VERSION) {
        throw new ConfigError(`${path}: its delta schema is version ${version}, newer than this delta knows (${SQLITE_SCHEMA_VERSION}); upgrade delta`);
      }
      if (version < 1) db.exec(SCHEMA_V1);
      db.prepare("INSERT INTO meta (key, value) VALUES ('schema_version', ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value").run(String(SQLITE_SCHEMA_VERSION));
    }).immediate();
  } catch (error) {
    db.close();
    if (error instanceof ConfigError) throw error;
    throw new DatabaseError(`cannot prepare the SQLite tracker ${path}: ${messageOf(error)}`, { cause: error });
  }
  return db;
}

/** Whether an error is SQLite's "the file is locked by another connection" (after the busy timeout). */
export function isBusy(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return code === 'SQLITE_BUSY' || code === 'SQLITE_LOCKED';
}
