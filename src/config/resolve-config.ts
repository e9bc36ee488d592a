import { dirname, isAbsolute, resolve } from 'node:path';
import { ConfigError } from '../errors.js';
import { loadConfigFile } from './config-file.js';
import type { ConfigFlags } from './options-table.js';
import { CONFIG_FILE, SETTINGS, flagName, fromEnvironment } from './options-table.js';
import type { DeltaConfigInput } from './schema.js';
import { configProblem } from './schema.js';
import type { BetweenWavesHook, ChangeFormat, DeltaHooks, OperationRegistry, ProgramCommand, ServicesFactory, TransactionMode } from '../vocabulary/index.js';
import { DEFAULT_STAGE_CONCURRENCY } from '../vocabulary/index.js';
import type { StageConfig } from '../vocabulary/index.js';

/** The resolved, validated and frozen configuration every command runs with. */
export interface DeltaConfig {
  readonly uri: string | undefined;
  /** Where `uri` came from, for messages: `--uri`, `DELTA_URI`, `delta.config.ts`. */
  readonly uriSource: string | undefined;
  readonly db: string | undefined;
  /** Absolute path of the change folder. */
  readonly path: string;
  readonly pathSource: string;
  /** The run's environment (`--env`, DELTA_ENV, `env`): changes with `environments` run only where it is one of them. */
  readonly env: string | undefined;
  /** Stages declared in the configuration, in order; undefined lets subfolders of `path` be the stages. */
  readonly stages: readonly StageConfig[] | undefined;
  readonly tracker: {
    readonly uri: string | undefined;
    readonly uriSource: string | undefined;
    readonly db: string | undefined;
    readonly collections: { readonly migrations: string; readonly audit: string; readonly lock: string };
  };
  readonly transaction: TransactionMode;
  readonly autoRollback: boolean;
  /** Whether admin, local and config may be targets (`--allow-system-db`). */
  readonly allowSystemDb: boolean;
  /** Consecutive quick transactional changes share one transaction (README, "How a run works"). */
  readonly groupTransactions: boolean;
  readonly lock: { readonly waitMs: number; readonly leaseMs: number; readonly scope: string | undefined };
  readonly connectTimeoutMs: number;
  readonly backup: {
    /** Absolute path of the backup folder. */
    readonly dir: string;
    /** Back up the whole target database before every commit run with work. */
    readonly default: boolean;
    /** Runs whose backups are kept (0: all). */
    readonly keep: number;
    readonly warnAboveBytes: number;
  };
  /** Custom operations for YAML/JSON templates, by name (from a code configuration file or `createDelta()`). */
  readonly operations: OperationRegistry;
  /** Extra change runners, matched before the built-in ones (code configuration only). */
  readonly runners: readonly ChangeFormat[];
  /** Programs of shell-command changes by extension, over the default `{ '.sh': 'sh' }`. */
  readonly programs: Readonly<Record<string, ProgramCommand>>;
  /** Names (or `PREFIX_*` patterns) of delta's environment passed to shell-command changes beyond the base ones. */
  readonly shellEnv: readonly string[];
  /** What templates may do beyond data operations. */
  readonly templates: { readonly allowRunCommand: boolean; readonly allowServerJavaScript: boolean };
  /** migrate-mongo's changelog that commit and rollback keep in step (`migrateMongo`); undefined: not kept. */
  readonly migrateMongo: { readonly changelog: string; readonly fileExtension: string; readonly useFileHash: boolean } | undefined;
  /** The id pattern `delta create` uses; undefined: follow the change folder's own convention. */
  readonly create: { readonly id: string | undefined };
  /** Hooks around the run and each change (code configuration only). */
  readonly hooks: DeltaHooks;
  /** Builds what changes receive as `services` (code configuration only). */
  readonly services: ServicesFactory | undefined;
  /** Absolute path of the configuration file used, if any. */
  readonly configFile: string | undefined;
  /**
   * The configuration's `targets` (a fleet): the spec (a string, or a list of entries when some
   * name a deployment of their own), and the folder an `@file` in it is relative to.
   */
  readonly targets: { readonly spec: string | readonly TargetEntry[]; readonly source: string; readonly base: string } | undefined;
  readonly fleet: {
    /** Targets run at once on each deployment. */
    readonly concurrency: number;
    /** Targets run at once over the whole fleet; undefined: no cap beyond `concurrency` per deployment. */
    readonly totalConcurrency: number | undefined;
    readonly failFast: boolean;
    /** The wave list as written (`1,10%,rest`); undefined: one wave of every target. */
    readonly waves: string | undefined;
    readonly maxFailureRate: number;
    readonly betweenWaves: BetweenWavesHook | undefined;
  };
}

/**
 * One entry of a fleet's target list: databases (names or globs) on a deployment. `uri` absent:
 * the run's own connection; it may name environment variables (`${EU_URI}`).
 */
export interface TargetEntry {
  readonly uri: string | undefined;
  readonly db: string | readonly string[];
}

export type { ConfigFlags } from './options-table.js';

export interface ResolveConfigOptions {
  readonly flags?: ConfigFlags;
  readonly env?: Readonly<Record<string, string | undefined>>;
  readonly cwd?: string;
  /** Values passed programmatically (`createDelta(config)`); rank like a config file. */
  readonly inline?: unknown;
}

export const DEFAULTS = {
  path: 'migrations',
  collections: { migrations: 'delta_migrations', audit: 'delta_audit', lock: 'delta_lock' },
  transaction: 'auto',
  autoRollback: true,
  groupTransactions: true,
  lockWaitMs: 30_000,
  lockLeaseMs: 60_000,
  connectTimeoutMs: 10_000,
  backupDir: '.delta/backups',
  backupKeep: 10,
  backupWarnAboveBytes: 1024 ** 3,
} as const;

/** The flag that sets a configuration key, for messages: `lock.waitMs` -> `--lock-wait`. */
const FLAG_NAMES: ReadonlyMap<string, string> = new Map(SETTINGS.map((entry) => [entry.setting, flagName(entry)]));

/**
 * Resolves one `DeltaConfig` from flags > environment > config file (or
 * inline values) > defaults. Every source is validated on its own so that an
 * error names the flag, variable or file and key at fault. The databases
 * (`db`, `tracker.db`) also weigh where the connection string came from:
 * see `databaseOf`.
 */
export async function resolveConfig(options: ResolveConfigOptions = {}): Promise<DeltaConfig> {
  const cwd = options.cwd ?? process.cwd();
  const env = options.env ?? process.env;
  const flags = options.flags ?? {};

  // Named after the variable the value came from: a bad MONGODB_URI is not reported as DELTA_URI.
  const envInput = validate(fromEnv(env), (path) => envSource(path, env), true);
  const flagInput = validate(fromFlags(flags), (path) => FLAG_NAMES.get(path) ?? path, true);

  const fileFromEnv = fromEnvironment(CONFIG_FILE, env);
  const explicitFile = flags.config ?? fileFromEnv?.value;
  const fileOrigin = flags.config !== undefined ? flagName(CONFIG_FILE) : (fileFromEnv?.name ?? '');
  let fileInput: DeltaConfigInput = {};
  let configFile: string | undefined;
  let fileLabel = 'config';
  if (options.inline !== undefined) {
    fileInput = validate(options.inline, (path) => path, false, 'config');
  } else {
    const loaded = await loadConfigFile(cwd, explicitFile, fileOrigin);
    if (loaded !== undefined) {
      configFile = loaded.filepath;
      fileLabel = relativeLabel(cwd, loaded.filepath);
      fileInput = validate(loaded.config, (path) => path, false, fileLabel);
    }
  }

  const pick = <T>(path: string, getter: (input: DeltaConfigInput) => T | undefined): Picked<T> => {
    const fromFlag = getter(flagInput);
    if (fromFlag !== undefined) return { value: fromFlag, source: FLAG_NAMES.get(path) ?? path, rank: 'flag' };
    const fromEnvValue = getter(envInput);
    if (fromEnvValue !== undefined) return { value: fromEnvValue, source: envSource(path, env), rank: 'env' };
    const fromFile = getter(fileInput);
    if (fromFile !== undefined) return { value: fromFile, source: fileLabel, rank: 'file' };
    return { value: undefined, source: undefined, rank: undefined };
  };

  const uri = pick('uri', (c) => c.uri);
  const trackerUri = pick('tracker.uri', (c) => c.tracker?.uri);
  const path = pick('path', (c) => c.path);
  // A path from a config file is relative to that file; from a flag or the environment, to cwd.
  const pathBase = path.source === fileLabel && configFile !== undefined ? dirname(configFile) : cwd;
  const changePath = path.value ?? DEFAULTS.path;
  const changeFolder = isAbsolute(changePath) ? changePath : resolve(pathBase, changePath);
  const backupDir = pick('backup.dir', (c) => c.backup?.dir);
  const backupBase = backupDir.source === fileLabel && configFile !== undefined ? dirname(configFile) : cwd;
  const backupPath = backupDir.value ?? DEFAULTS.backupDir;

  const config: DeltaConfig = {
    uri: uri.value,
    uriSource: uri.source,
    db: databaseOf(
      pick('db', (c) => c.db),
      uri,
      '--db or set DELTA_DB',
    ),
    path: changeFolder,
    pathSource: path.source ?? 'default',
    env: pick('env', (c) => c.env).value,
    stages: fileInput.stages?.map((entry, index): StageConfig => {
      const stage = typeof entry === 'string' ? { name: entry } : entry;
      return {
        name: stage.name,
        folder: resolve(changeFolder, stage.path ?? stage.name),
        source: `${fileLabel}: stages[${index}]`,
        transaction: stage.transaction,
        timeoutMs: stage.timeoutMs,
        parallel: stage.parallel ?? false,
        concurrency: stage.concurrency ?? DEFAULT_STAGE_CONCURRENCY,
      };
    }),
    tracker: {
      uri: trackerUri.value,
      uriSource: trackerUri.source,
      // A SQLite tracker's URI names a file, not a database.
      db: databaseOf(
        pick('tracker.db', (c) => c.tracker?.db),
        trackerUri.value !== undefined && /^sqlite:/i.test(trackerUri.value) ? { ...trackerUri, value: undefined } : trackerUri,
        '--tracker-db or set DELTA_TRACKER_DB',
      ),
      collections: {
        migrations: fileInput.tracker?.collections?.migrations ?? DEFAULTS.collections.migrations,
        audit: fileInput.tracker?.collections?.audit ?? DEFAULTS.collections.audit,
        lock: fileInput.tracker?.collections?.lock ?? DEFAULTS.collections.lock,
      },
    },
    transaction: pick('transaction', (c) => c.transaction).value ?? DEFAULTS.transaction,
    autoRollback: pick('autoRollback', (c) => c.autoRollback).value ?? DEFAULTS.autoRollback,
    allowSystemDb: pick('allowSystemDb', (c) => c.allowSystemDb).value ?? false,
    groupTransactions: fileInput.groupTransactions ?? DEFAULTS.groupTransactions,
    lock: {
      waitMs: pick('lock.waitMs', (c) => c.lock?.waitMs).value ?? DEFAULTS.lockWaitMs,
      leaseMs: pick('lock.leaseMs', (c) => c.lock?.leaseMs).value ?? DEFAULTS.lockLeaseMs,
      scope: fileInput.lock?.scope,
    },
    connectTimeoutMs: pick('connectTimeoutMs', (c) => c.connectTimeoutMs).value ?? DEFAULTS.connectTimeoutMs,
    backup: {
      dir: isAbsolute(backupPath) ? backupPath : resolve(backupBase, backupPath),
      default: fileInput.backup?.default ?? false,
      keep: fileInput.backup?.keep ?? DEFAULTS.backupKeep,
      warnAboveBytes: fileInput.backup?.warnAboveBytes ?? DEFAULTS.backupWarnAboveBytes,
    },
    // Frozen one level only (deepFreeze skips it): the user's schemas must stay as they are.
    operations: Object.freeze({ ...fileInput.operations }),
    runners: Object.freeze([...(fileInput.runners ?? [])]),
    programs: Object.freeze({ ...fileInput.programs }),
    shellEnv: [...(fileInput.shellEnv ?? [])],
    templates: { allowRunCommand: fileInput.templates?.allowRunCommand ?? false, allowServerJavaScript: fileInput.templates?.allowServerJavaScript ?? false },
    create: { id: fileInput.create?.id },
    migrateMongo:
      fileInput.migrateMongo === undefined
        ? undefined
        : { changelog: fileInput.migrateMongo.changelog, fileExtension: fileInput.migrateMongo.fileExtension ?? '.js', useFileHash: fileInput.migrateMongo.useFileHash === true },
    hooks: Object.freeze({ ...fileInput.hooks }),
    services: fileInput.services,
    configFile,
    targets:
      fileInput.targets === undefined
        ? undefined
        : {
            spec: targetSpecOf(fileInput.targets),
            source: `${fileLabel}: targets`,
            base: configFile === undefined ? cwd : dirname(configFile),
          },
    fleet: {
      concurrency: fileInput.fleet?.concurrency ?? 4,
      totalConcurrency: fileInput.fleet?.totalConcurrency,
      failFast: fileInput.fleet?.failFast ?? false,
      waves: fileInput.fleet?.waves,
      maxFailureRate: fileInput.fleet?.maxFailureRate ?? 0,
      betweenWaves: fileInput.fleet?.betweenWaves,
    },
  };
  return deepFreeze(config);
}

/** `targets` as a spec: names and globs joined as `a,b`; a list with `{ uri?, db }` entries stays a list (a name is `{ db }`). */
function targetSpecOf(targets: NonNullable<DeltaConfigInput['targets']>): string | readonly TargetEntry[] {
  if (typeof targets === 'string') return targets;
  if (targets.every((item) => typeof item === 'string')) return targets.join(',');
  return targets.map((item): TargetEntry => (typeof item === 'string' ? { uri: undefined, db: item } : { uri: item.uri, db: item.db }));
}

/** A value and the source that supplied it; `rank` undefined when none did. */
interface Picked<T> {
  readonly value: T | undefined;
  readonly source: string | undefined;
  readonly rank: 'flag' | 'env' | 'file' | undefined;
}

/**
 * The database of the target (or of the tracker), from its `db` setting and its connection
 * string: an explicit `--db` / `DELTA_DB`, then the database in the path of a connection string
 * that a flag or the environment supplied, then the configuration file's `db`, then the database
 * in the file's own connection string. A connection string from outside the file names the
 * deployment and database a pipeline means (`DELTA_URI=mongodb://host/prod_db`); a `db` written
 * into the file for development must not send that run's writes to another database, silently.
 * The database in the file's URI goes with that URI: it does not apply when another URI replaced it.
 */
function databaseOf(db: Picked<string>, uri: Picked<string>, explicitNames: string): string | undefined {
  if (db.rank === 'flag' || db.rank === 'env') return db.value;
  const inUri = databaseFromUri(uri.value);
  if (uri.rank === 'flag' || uri.rank === 'env') {
    // `mongodb://user:pw@host/admin` names admin as the default authSource more often than as a
    // target: beside a configured database it is a conflict to settle, not a guess to make.
    if (inUri !== undefined && SYSTEM_DATABASES.has(inUri) && db.value !== undefined && db.value !== inUri) {
      throw new ConfigError(
        `${uri.source ?? 'uri'} names the ${inUri} database and ${db.source ?? 'the configuration'} sets ${JSON.stringify(db.value)}: ` +
          `pass ${explicitNames} to choose, or write ?authSource=${inUri} in the connection string instead of /${inUri}`,
      );
    }
    return inUri ?? db.value;
  }
  return db.value ?? inUri;
}

/** MongoDB's own databases: in a connection string's path usually for authentication only. */
const SYSTEM_DATABASES: ReadonlySet<string> = new Set(['admin', 'local', 'config']);

/** The variable a configuration key's value came from: a bad MONGODB_URI is not reported as DELTA_URI. */
function envSource(path: string, env: Readonly<Record<string, string | undefined>>): string {
  const entry = SETTINGS.find((candidate) => candidate.setting === path);
  return (entry === undefined ? undefined : (fromEnvironment(entry, env)?.name ?? entry.env?.[0])) ?? path;
}

/** The configuration the environment variables give. */
function fromEnv(env: Readonly<Record<string, string | undefined>>): Record<string, unknown> {
  const input: Record<string, unknown> = {};
  for (const entry of SETTINGS) {
    const found = fromEnvironment(entry, env);
    if (found !== undefined) setAt(input, entry.setting, found.value);
  }
  return input;
}

/** The configuration the flags give. */
function fromFlags(flags: ConfigFlags): Record<string, unknown> {
  const input: Record<string, unknown> = {};
  const given = flags as Readonly<Record<string, unknown>>;
  for (const entry of SETTINGS) {
    if (given[entry.key] !== undefined) setAt(input, entry.setting, given[entry.key]);
  }
  return input;
}

/** Sets `tracker.uri` in `{ tracker: { uri } }`, creating the objects on the way. */
function setAt(target: Record<string, unknown>, path: string, value: unknown): void {
  const keys = path.split('.');
  let node = target;
  for (const key of keys.slice(0, -1)) {
    node[key] ??= {};
    node = node[key] as Record<string, unknown>;
  }
  node[keys[keys.length - 1] ?? path] = value;
}

/**
 * Checks one source against the configuration schema; the error names the source and the key:
 * `delta.config.json: lock.waitMs must be at least 0`, or the flag or variable on its own:
 * `DELTA_URI must be a mongodb:// or mongodb+srv:// connection string`.
 */
function validate(input: unknown, nameOf: (path: string) => string, namedByPath: boolean, label = 'config'): DeltaConfigInput {
  const checked = configProblem(input);
  if ('value' in checked) return checked.value;
  if (namedByPath) throw new ConfigError(`${nameOf(checked.path)} ${checked.problem}`);
  const path = checked.path === '' ? 'the configuration' : checked.path;
  throw new ConfigError(`${label}: ${checked.problem.startsWith('unknown key') ? checked.problem : `${path} ${checked.problem}`}`);
}

/** The database named in a URI's path (`mongodb://host/app?x=y` gives `app`). */
export function databaseFromUri(uri: string | undefined): string | undefined {
  if (uri === undefined) return undefined;
  const withoutScheme = uri.replace(/^mongodb(\+srv)?:\/\//i, '');
  const at = withoutScheme.lastIndexOf('@', withoutScheme.search(/[?]/) >= 0 ? withoutScheme.search(/[?]/) : undefined);
  const hostAndPath = at >= 0 ? withoutScheme.slice(at + 1) : withoutScheme;
  const slash = hostAndPath.indexOf('/');
  if (slash < 0) return undefined;
  const name = decodeURIComponent(hostAndPath.slice(slash + 1).split('?')[0] ?? '');
  return name === '' ? undefined : name;
}

function relativeLabel(cwd: string, filepath: string): string {
  return filepath.startsWith(`${cwd}/`) ? filepath.slice(cwd.length + 1) : filepath;
}

function deepFreeze<T>(value: T): T {
  // An object frozen already (the operations map) is left alone, contents included.
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    for (const inner of Object.values(value)) deepFreeze(inner);
    Object.freeze(value);
  }
  return value;
}
