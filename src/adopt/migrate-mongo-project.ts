import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readFile, readdir } from 'node:fs/promises';
import { basename, extname, isAbsolute, join, relative, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { redact } from '../config/redact.js';
import { ChangeFileError, ConfigError, messageOf } from '../errors.js';
import { checksumOf } from '../loader/checksum.js';
import { listChangeFiles } from '../loader/change-folder.js';
import { ignoredBecause } from '../loader/ignored-files.js';
import { compareIds } from '../loader/change-order.js';

/** migrate-mongo's own defaults (lib/env/config.js, lib/env/migrationsDir.js). */
export const MIGRATE_MONGO_DEFAULTS = {
  configFile: 'migrate-mongo-config.js',
  migrationsDir: 'migrations',
  migrationFileExtension: '.js',
} as const;

/** The settings of a migrate-mongo configuration file that the import uses. */
export interface MigrateMongoConfig {
  /** Absolute path of the configuration file. */
  readonly file: string;
  /** How messages name the file (relative to the current folder when inside it). */
  readonly label: string;
  readonly url: string | undefined;
  /** Whether the URL is written as is in the file (not read from the environment or computed). */
  readonly urlIsLiteral: boolean;
  readonly databaseName: string | undefined;
  /** `mongodb.options` keys delta does not carry over (it connects with the URL alone). */
  readonly ignoredOptions: readonly string[];
  /** As written (relative to the current folder, as migrate-mongo resolves it). */
  readonly migrationsDir: string;
  readonly changelogCollectionName: string;
  /** Set only when migrate-mongo uses its lock (a name and `lockTtl` > 0). */
  readonly lockCollectionName: string | undefined;
  readonly migrationFileExtension: string;
  readonly useFileHash: boolean;
  readonly moduleSystem: string | undefined;
  /** Environment variables the file reads (`process.env.X`, `process.env['X']`), in order of first use. */
  readonly environmentVariables: readonly string[];
  /** Whether the file loads a `.env` file (dotenv). */
  readonly readsDotenv: boolean;
}

// Options migrate-mongo's own template lists that driver 4+ ignores: not worth a warning.
const OBSOLETE_OPTIONS = new Set(['useNewUrlParser', 'useUnifiedTopology']);

/**
 * Loads a migrate-mongo configuration file the way migrate-mongo does: a
 * CommonJS `module.exports` or an ES module's default export (whichever
 * Node makes of the file; `moduleSystem` only picks migrate-mongo's
 * templates), then checks the keys the import needs.
 */
export async function readMigrateMongoConfig(cwd: string, given: string | undefined): Promise<MigrateMongoConfig> {
  const file = resolve(cwd, given ?? MIGRATE_MONGO_DEFAULTS.configFile);
  const label = labelOf(cwd, file);
  if (!existsSync(file)) {
    throw new ConfigError(`migrate-mongo config file ${label} does not exist${given === undefined ? ' (run delta import in the folder of migrate-mongo-config.js, or pass --config <file>)' : ''}`);
  }
  let mod: unknown;
  try {
    mod = await import(pathToFileURL(file).href);
  } catch (error) {
    throw new ConfigError(`${label}: cannot be loaded: ${redact(firstLine(error))}`, { cause: error });
  }
  // migrate-mongo: `module.default ? module.default : module`.
  const exported = isRecord(mod) && mod.default !== undefined && mod.default !== null ? mod.default : mod;
  if (!isRecord(exported)) throw new ConfigError(`${label}: must export an object ({ mongodb: { url, databaseName }, migrationsDir, changelogCollectionName, ... })`);
  const fail = (key: string, expected: string): never => {
    throw new ConfigError(`${label}: ${key} must be ${expected}`);
  };

  const mongodb = exported.mongodb;
  if (!isRecord(mongodb)) return fail('mongodb', 'an object { url, databaseName, options }');
  const url = mongodb.url;
  // The value is never quoted: it may hold a password.
  if (url !== undefined && url !== null && (typeof url !== 'string' || !/^mongodb(\+srv)?:\/\//i.test(url))) {
    fail('mongodb.url', 'a mongodb:// or mongodb+srv:// connection string');
  }
  const databaseName = optionalString(mongodb.databaseName, 'mongodb.databaseName', fail);
  const options = mongodb.options;
  if (options !== undefined && options !== null && !isRecord(options)) fail('mongodb.options', 'an object');
  const migrationsDir = optionalString(exported.migrationsDir, 'migrationsDir', fail) ?? MIGRATE_MONGO_DEFAULTS.migrationsDir;
  const changelog = exported.changelogCollectionName;
  if (typeof changelog !== 'string' || changelog === '') fail('changelogCollectionName', "the name of migrate-mongo's changelog collection (a string)");
  const extension = optionalString(exported.migrationFileExtension, 'migrationFileExtension', fail) ?? MIGRATE_MONGO_DEFAULTS.migrationFileExtension;
  if (!extension.startsWith('.')) fail('migrationFileExtension', "a file extension starting with a dot, such as '.js'");
  const lockName = optionalString(exported.lockCollectionName, 'lockCollectionName', fail);
  const lockTtl = exported.lockTtl;
  const text = await readFile(file, 'utf8');
  return {
    file,
    label,
    url: typeof url === 'string' ? url : undefined,
    urlIsLiteral: typeof url === 'string' && text.includes(url),
    databaseName,
    ignoredOptions: isRecord(options) ? Object.keys(options).filter((key) => !OBSOLETE_OPTIONS.has(key)) : [],
    migrationsDir,
    changelogCollectionName: changelog as string,
    lockCollectionName: lockName !== undefined && typeof lockTtl === 'number' && lockTtl > 0 ? lockName : undefined,
    migrationFileExtension: extension,
    useFileHash: exported.useFileHash === true,
    moduleSystem: typeof exported.moduleSystem === 'string' ? exported.moduleSystem : undefined,
    environmentVariables: [...new Set([...text.matchAll(/process\.env(?:\.([A-Za-z_][A-Za-z0-9_]*)|\[\s*['"]([A-Za-z_][A-Za-z0-9_]*)['"]\s*\])/g)].map((match) => match[1] ?? match[2] ?? ''))],
    readsDotenv: /\bdotenv\b/.test(text),
  };
}

/** A migration file as both tools see it. */
export interface MigrateMongoFile {
  /** File name inside the migrations folder (what migrate-mongo's changelog stores as `fileName`). */
  readonly file: string;
  /** delta's id: the file name without its extension. */
  readonly id: string;
  /** delta's checksum (sha256, line endings normalised). */
  readonly checksum: string;
  /** migrate-mongo's `fileHash` (sha256 of the raw bytes), compared when `useFileHash` is on. */
  readonly fileHash: string;
}

/**
 * The migration files migrate-mongo sees in `folder` (the configured
 * extension, not its `sample-migration` template, in its sort order), read
 * and hashed. Refuses, naming each file, when delta would see the folder
 * differently: a file migrate-mongo ignores that delta would run as a
 * change, or a migration delta cannot run.
 */
export async function readMigrationFiles(folder: string, config: MigrateMongoConfig, folderSource: string, cwd: string): Promise<MigrateMongoFile[]> {
  const extension = config.migrationFileExtension;
  const template = `sample-migration${extension}`;
  // listChangeFiles also says when the folder is missing, naming where its path came from.
  const deltaSees = new Set((await listChangeFiles({ path: folder, pathSource: folderSource })).map((entry) => entry.file));
  const entries = await readdir(folder, { withFileTypes: true });
  const migrateMongoSees = entries
    .filter((entry) => entry.isFile() && extname(entry.name) === extension && entry.name !== template)
    .map((entry) => entry.name)
    .sort();

  const problems: ChangeFileError[] = [];
  const shown = labelOf(cwd, folder);
  for (const file of [...deltaSees].filter((name) => !migrateMongoSees.includes(name)).sort()) {
    const why = file === template ? "it is migrate-mongo's template for new migrations" : `its extension is not ${extension}`;
    problems.push(new ChangeFileError(`${file}: migrate-mongo ignores this file (${why}) but delta would run it as a change; move it out of ${shown}`, file));
  }
  for (const file of migrateMongoSees) {
    const ignored = ignoredBecause(file);
    if (ignored !== undefined) problems.push(new ChangeFileError(`${file}: migrate-mongo runs this file but delta never reads ${ignored} as changes; rename it, or move it out of ${shown}`, file));
    else if (!deltaSees.has(file)) problems.push(new ChangeFileError(`${file}: delta cannot run ${extname(file)} files (it runs .js, .mjs, .cjs, .ts, .mts, .cts)`, file));
    else if (/\s/.test(basename(file, extension))) problems.push(new ChangeFileError(`${file}: delta ids cannot contain spaces; rename the file (and its changelog entry) first`, file));
  }
  if (problems.length > 0) throw new ChangeFileError(problems.map((problem) => problem.message).join('\n'), problems[0]?.file);

  return Promise.all(
    migrateMongoSees.map(async (file) => {
      const bytes = await readFile(join(folder, file));
      return { file, id: basename(file, extension), checksum: checksumOf(bytes), fileHash: createHash('sha256').update(bytes).digest('hex') };
    }),
  );
}

/** migrate-mongo's order (its `.sort()`) may differ from delta's id order; delta's is the one that counts from now on. */
export function inDeltaOrder(files: readonly MigrateMongoFile[]): MigrateMongoFile[] {
  return [...files].sort((a, b) => compareIds(a.id, b.id));
}

/** `cwd`-relative when inside it, else absolute: how messages name files. */
export function labelOf(cwd: string, file: string): string {
  const rel = relative(cwd, file);
  return rel === '' ? '.' : rel.startsWith('..') || isAbsolute(rel) ? file : rel;
}

function optionalString(value: unknown, key: string, fail: (key: string, expected: string) => never): string | undefined {
  // migrate-mongo treats an empty value as unset (`config.migrationsDir || 'migrations'`).
  if (value === undefined || value === null || value === '') return undefined;
  if (typeof value !== 'string') return fail(key, 'a string');
  return value;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function firstLine(error: unknown): string {
  return messageOf(error).split('\n')[0] ?? '';
}
