// Every command-line option of delta, declared once: its flags, the environment variables and the
// configuration key it stands for, how its text becomes a value, its help, and the commands that
// take it. The CLI builds its commander options from this table (commander is the CLI's, so
// nothing here imports it); resolveConfig takes flag and variable names and configuration keys
// from it; the ConfigFlags type and each command's option values are derived from it. Adding an
// option is one entry here (and the code that uses its value).
import { AUDIT_ACTIONS, TRANSACTION_MODES } from '../vocabulary/index.js';
import { parseDuration, parseIsoTime, parseMaxFailureRate, parseMilliseconds, parseNameList, parsePort, parsePositiveInteger, parseTagList, parseWaveSpec } from './option-parsers.js';

/** The commands of `delta`, in the order `delta --help` lists them. */
export type CommandName =
  'commit' | 'rollback' | 'status' | 'validate' | 'repair' | 'baseline' | 'history' | 'unlock' | 'create' | 'init' | 'backup' | 'backups' | 'restore' | 'import' | 'rehearse' | 'sandbox';

/** `both`: the human view on stdout and JSON event lines on stderr. */
export const LOG_FORMATS = ['human', 'json', 'both'] as const;

/** One option of the table. */
export interface OptionEntry {
  /** The name of its value: what a command reads, and the key in ConfigFlags for a setting. */
  readonly key: string;
  /** commander's flags: `-p, --path <dir>`; `--no-x` is a switch that sets false. */
  readonly flags: string;
  /** Its help; by command where commands word it differently. */
  readonly help: string | { readonly [C in CommandName]?: string };
  /** Appended to the help after the environment variables: `(env DELTA_DB; default: ...)`. */
  readonly helpNote?: string;
  /** `global` (every command), or the commands that take it. */
  readonly commands: 'global' | readonly CommandName[];
  /** Commands where it must be given. */
  readonly requiredBy?: readonly CommandName[];
  /** The configuration key it sets (flags > environment > file): `tracker.uri`. */
  readonly setting?: string;
  /** Environment variables that set it, the first set one winning: `['DELTA_URI', 'MONGODB_URI']`. */
  readonly env?: readonly string[];
  /** Turns its text into its value; throws OptionValueError with what it expects. */
  readonly parse?: (text: string) => unknown;
  readonly choices?: readonly string[];
  readonly defaultValue?: unknown;
  /** Left out of the help (a setting for tests and experts). */
  readonly hidden?: boolean;
  /** Given again, it adds a value: its value is the list of every one given, in order. */
  readonly repeatable?: boolean;
}

const DRY_RUN = 'print the plan; take no lock, write nothing';
const LOCKED = ['commit', 'rollback', 'repair', 'baseline', 'backup', 'restore', 'import'] as const satisfies readonly CommandName[];
const FLEET = ['commit', 'rollback', 'status'] as const satisfies readonly CommandName[];

/**
 * The options. Each command lists its options in this order, the global ones under "Global
 * Options" in this order too; an option worded differently per command has its help by command.
 */
export const OPTIONS = [
  // Global: where the configuration, the target and the tracker are, and how output looks.
  {
    key: 'config',
    flags: '-c, --config <file>',
    help: 'configuration file',
    helpNote: 'default: delta.config.* / .deltarc* / package.json#delta in the current folder',
    env: ['DELTA_CONFIG'],
    commands: 'global',
  },
  { key: 'uri', flags: '--uri <uri>', help: 'MongoDB connection string of the target', env: ['DELTA_URI', 'MONGODB_URI'], setting: 'uri', commands: 'global' },
  { key: 'db', flags: '--db <name>', help: 'target database', helpNote: 'default: the database in the URI', env: ['DELTA_DB'], setting: 'db', commands: 'global' },
  { key: 'allowSystemDb', flags: '--allow-system-db', help: 'let a command change admin, local or config (refused otherwise)', setting: 'allowSystemDb', commands: 'global' },
  { key: 'path', flags: '-p, --path <dir>', help: 'folder of change files', helpNote: 'default ./migrations', env: ['DELTA_PATH'], setting: 'path', commands: 'global' },
  { key: 'trackerUri', flags: '--tracker-uri <uri>', help: 'keep history on another deployment', env: ['MIGRATIONS_DB_URI'], setting: 'tracker.uri', commands: 'global' },
  { key: 'trackerDb', flags: '--tracker-db <name>', help: 'keep history in another database', env: ['DELTA_TRACKER_DB'], setting: 'tracker.db', commands: 'global' },
  {
    key: 'env',
    flags: '--env <name>',
    help: 'the environment this run is for: changes with environments run only where it is one of them',
    env: ['DELTA_ENV'],
    setting: 'env',
    commands: 'global',
  },
  { key: 'json', flags: '--json', help: 'print one JSON document on stdout (diagnostics go to stderr)', commands: 'global' },
  {
    key: 'logFormat',
    flags: '--log-format <format>',
    help: 'human: the human view; json: JSON event lines on stderr instead; both: the two together',
    choices: LOG_FORMATS,
    defaultValue: 'human',
    commands: 'global',
  },
  { key: 'color', flags: '--no-color', help: 'no colours or spinners (also NO_COLOR=1 or CI=true)', commands: 'global' },
  {
    key: 'dotenv',
    flags: '--dotenv <file>',
    help: 'read environment variables from this file (again for more; ./.env is read when present; variables already set win)',
    commands: 'global',
    repeatable: true,
  },
  { key: 'verbose', flags: '--verbose', help: 'show stack traces of unexpected errors (also DEBUG=delta)', commands: 'global' },

  // What a command acts on.
  {
    key: 'to',
    flags: '--to <id>',
    help: {
      commit: 'apply up to and including this change',
      rollback: 'undo to a version: revert everything applied after <id>, which stays applied',
      baseline: 'last change to mark applied',
      rehearse: 'rehearse the pending changes up to and including this one',
    },
    commands: ['commit', 'rollback', 'baseline', 'rehearse'],
    requiredBy: ['baseline'],
  },
  { key: 'only', flags: '--only <id>', help: { commit: 'apply only this change', rehearse: 'rehearse only this change' }, commands: ['commit', 'rehearse'] },
  { key: 'steps', flags: '--steps <n>', help: 'revert the last n changes', parse: parsePositiveInteger, commands: ['rollback'] },
  { key: 'id', flags: '--id <id>', help: { rollback: 'revert one specific change', history: 'events of one change' }, commands: ['rollback', 'history'] },
  {
    key: 'since',
    flags: '--since <time>',
    help: { rollback: 'revert everything applied at or after this ISO time', history: 'events at or after this ISO time' },
    parse: parseIsoTime,
    commands: ['rollback', 'history'],
  },
  { key: 'action', flags: '--action <action>', help: 'events of one kind', choices: AUDIT_ACTIONS, commands: ['history'] },
  { key: 'limit', flags: '--limit <n>', help: 'at most n events (default 50)', parse: parsePositiveInteger, commands: ['history'] },
  { key: 'all', flags: '--all', help: 'revert every applied change', commands: ['rollback'] },
  { key: 'check', flags: '--check', help: 'exit 4 when anything is pending, failed, running, modified or missing (CI gate)', commands: ['status'] },
  { key: 'removeInterrupted', flags: '--remove-interrupted', help: 'remove records of interrupted (running) changes instead of marking them failed', commands: ['repair'] },
  { key: 'removeMissing', flags: '--remove-missing', help: 'remove the history of changes whose file is gone', commands: ['repair'] },
  {
    key: 'force',
    flags: '--force',
    help: { baseline: 'also mark changes recorded failed, running or rolled back', unlock: 'remove a lock whose lease is still fresh (its run may still be alive)' },
    commands: ['baseline', 'unlock'],
  },
  {
    key: 'dryRun',
    flags: '--dry-run',
    help: { commit: DRY_RUN, rollback: DRY_RUN, repair: DRY_RUN, baseline: DRY_RUN, import: 'print the records and the configuration file it would write; take no lock, write nothing' },
    commands: ['commit', 'rollback', 'repair', 'baseline', 'import'],
  },
  {
    key: 'preview',
    flags: '--preview',
    help: 'run the pending changes in one transaction that is always aborted, under the lock, and report what each would write; writes nothing',
    commands: ['commit'],
  },
  { key: 'force', flags: '--force', help: 'overwrite delta history of the imported changes, and an existing delta.config.mjs', commands: ['import'] },
  {
    key: 'keepChangelog',
    flags: '--keep-changelog',
    help: "keep migrate-mongo's changelog in step: delta's commits and rollbacks of its files also write and remove their entries (migrateMongo in the generated config)",
    commands: ['import'],
  },
  { key: 'skipMissing', flags: '--skip-missing', help: 'leave out changelog entries whose file is gone (without it the import refuses)', commands: ['import'] },

  // How changes run.
  {
    key: 'transaction',
    flags: '--transaction <mode>',
    help: { commit: "transaction mode for changes that do not set one (default 'auto')", rollback: 'transaction mode for changes that do not set one' },
    choices: TRANSACTION_MODES,
    setting: 'transaction',
    commands: ['commit', 'rollback'],
  },
  { key: 'autoRollback', flags: '--no-auto-rollback', help: "do not call a failed non-transactional change's rollback", setting: 'autoRollback', commands: ['commit'] },
  {
    key: 'allowDrift',
    flags: '--allow-drift',
    help: {
      commit: 'run although applied changes were modified or deleted',
      rollback: 'revert with a file modified since it was applied',
      rehearse: 'rehearse although applied changes were modified or deleted',
    },
    commands: ['commit', 'rollback', 'rehearse'],
  },
  { key: 'outOfOrder', flags: '--out-of-order', help: 'also apply pending changes older than the newest applied one', commands: ['commit', 'rehearse'] },
  {
    key: 'stage',
    flags: '--stage <name>',
    help: {
      commit: 'apply only the pending changes of this stage',
      rollback: 'revert only changes of this stage (the options above apply inside it)',
      rehearse: 'rehearse only the pending changes of this stage',
    },
    commands: ['commit', 'rollback', 'rehearse'],
  },
  {
    key: 'tags',
    flags: '--tags <names>',
    help: {
      commit: 'apply only changes tagged with one of these (comma-separated)',
      status: 'show changes tagged with one of these as they would run (comma-separated)',
      rehearse: 'rehearse only changes tagged with one of these (comma-separated)',
    },
    parse: parseTagList,
    commands: ['commit', 'status', 'rehearse'],
  },
  { key: 'long', flags: '--long', help: 'also show author, tags and environments', commands: ['status', 'history'] },
  { key: 'timeoutMs', flags: '--timeout <ms>', help: 'default time limit per change', parse: parseMilliseconds, commands: ['commit', 'rollback', 'rehearse'] },

  // Rehearsals.
  {
    key: 'sample',
    flags: '--sample <n>',
    help: 'copy up to n documents of each collection into the scratch database (default 1000)',
    parse: parsePositiveInteger,
    commands: ['rehearse'],
  },
  {
    key: 'scratchDb',
    flags: '--scratch-db <name>',
    help: 'the scratch database to rehearse in (must be empty; default: <db>_rehearse_<random> beside the target)',
    commands: ['rehearse'],
  },
  { key: 'inSandbox', flags: '--in-sandbox', help: 'rehearse in the built-in in-memory server: the deployment is only read', commands: ['rehearse'] },
  { key: 'keep', flags: '--keep', help: 'keep the scratch database afterwards (dropped otherwise)', commands: ['rehearse'] },

  // Backups.
  { key: 'backup', flags: '--backup', help: 'back up the whole target database before the first change (config backup.default)', commands: ['commit'] },
  { key: 'backup', flags: '--no-backup', help: 'no whole-database backup even if backup.default is set (changes asking for one still get it)', commands: ['commit'] },
  {
    key: 'collections',
    flags: '--collections <names>',
    help: { backup: 'only these collections (comma-separated)', restore: 'restore only these collections of the backup (comma-separated)' },
    parse: parseNameList,
    commands: ['backup', 'restore'],
  },
  { key: 'includeTracker', flags: '--include-tracker', help: "also back up delta's history, audit log and lock (a restore puts them only in another database)", commands: ['backup'] },
  { key: 'toDb', flags: '--to-db <name>', help: 'restore into this database instead of the target database', commands: ['restore'] },
  { key: 'drop', flags: '--drop', help: 'replace collections that hold documents (dropped first)', commands: ['restore'] },
  { key: 'backupDir', flags: '--backup-dir <dir>', help: 'folder of backups (config backup.dir; default .delta/backups)', setting: 'backup.dir', commands: ['commit', 'backup', 'backups', 'restore'] },

  // Fleets.
  {
    key: 'targets',
    flags: '--targets <spec>',
    help: "run over many databases: names (a,b), a glob over listDatabases ('tenant_*'), @file (one per line), or @fleet.yaml (entries { uri?, db }); config targets",
    commands: FLEET,
  },
  {
    key: 'concurrency',
    flags: '--concurrency <n>',
    help: 'with --targets: targets run at once on each deployment (default 4; config fleet.concurrency)',
    parse: parsePositiveInteger,
    commands: FLEET,
  },
  {
    key: 'totalConcurrency',
    flags: '--total-concurrency <n>',
    help: 'with --targets: targets run at once over the whole fleet, all deployments together (default: no cap; config fleet.totalConcurrency)',
    parse: parsePositiveInteger,
    commands: FLEET,
  },
  { key: 'failFast', flags: '--fail-fast', help: 'with --targets: start no new target once one failed (config fleet.failFast)', commands: ['commit', 'rollback'] },
  {
    key: 'maxReplicationLagMs',
    flags: '--max-lag <duration>',
    help: "ctx.batches walks pause between batches while secondaries lag more than this (500ms, 2s); a walk's own throttle wins",
    parse: parseDuration,
    commands: ['commit', 'rollback'],
  },
  {
    key: 'waves',
    flags: '--waves <list>',
    help: 'with --targets: run in waves, each only after the one before succeeded: numbers of targets, shares (10%) or rest, e.g. 1,10%,rest (config fleet.waves)',
    parse: parseWaveSpec,
    commands: FLEET,
  },
  {
    key: 'maxFailureRate',
    flags: '--max-failure-rate <rate>',
    help: "with --waves: the share of a wave's targets that may fail before the next wave is not started (default 0; config fleet.maxFailureRate)",
    parse: parseMaxFailureRate,
    commands: ['commit', 'rollback'],
  },

  // The lock.
  { key: 'lockWaitMs', flags: '--lock-wait <duration>', help: 'wait this long for a held lock (30, 30s, 500ms; 0 = fail at once)', parse: parseDuration, setting: 'lock.waitMs', commands: LOCKED },
  {
    key: 'lockLeaseMs',
    flags: '--lock-lease <duration>',
    help: 'lease of the lock, renewed every third of it (default 60s)',
    parse: parseDuration,
    setting: 'lock.leaseMs',
    hidden: true,
    commands: LOCKED,
  },
  // A setting of createDelta({ flags }) only: no command line takes it, messages name it so.
  { key: 'connectTimeoutMs', flags: '--connect-timeout <ms>', help: 'time to wait for the deployment', parse: parseMilliseconds, setting: 'connectTimeoutMs', commands: [] },

  // create and sandbox.
  { key: 'js', flags: '--js', help: 'write JavaScript instead of TypeScript', commands: ['create'] },
  { key: 'yaml', flags: '--yaml', help: 'write a declarative YAML template', commands: ['create'] },
  { key: 'port', flags: '--port <port>', help: 'port to listen on (0 = any free port)', parse: parsePort, defaultValue: 27017, commands: ['sandbox'] },
  { key: 'data', flags: '--data <file>', help: 'load from this file on start and save to it on exit', commands: ['sandbox'] },
] as const satisfies readonly OptionEntry[];

type Entry = (typeof OPTIONS)[number];

/** The value an option gives: its parser's result, one of its choices, its text, or true/false for a switch. */
export type OptionValue<E> = E extends { readonly repeatable: true }
  ? readonly string[]
  : E extends { readonly parse: (text: string) => infer T }
    ? T
    : E extends { readonly choices: readonly (infer C)[] }
      ? C
      : E extends { readonly flags: `${string}<${string}>` }
        ? string
        : boolean;

/** The entries a command takes (`global`: the ones every command takes). */
type EntriesOf<C extends CommandName | 'global'> = Entry extends infer E
  ? E extends { readonly commands: infer Takers }
    ? Takers extends 'global'
      ? C extends 'global'
        ? E
        : never
      : Takers extends readonly (infer Name)[]
        ? C extends Name
          ? E
          : never
        : never
    : never
  : never;

/** Whether a command always has the option's value: it must be given, or it has a default. */
type RequiredIn<E, C> = E extends { readonly defaultValue: unknown } ? true : E extends { readonly requiredBy: readonly (infer Names)[] } ? (C extends Names ? true : false) : false;

/** The options every command takes, by value name. */
export type GlobalOptionValues = { readonly [E in EntriesOf<'global'> as E['key']]?: OptionValue<E> };

/** The values of one command's options (global ones included): what commander hands its action. */
export type OptionValues<C extends CommandName> = C extends CommandName
  ? GlobalOptionValues & { readonly [E in EntriesOf<C> as RequiredIn<E, C> extends true ? never : E['key']]?: OptionValue<E> } & {
      readonly [E in EntriesOf<C> as RequiredIn<E, C> extends true ? E['key'] : never]: OptionValue<E>;
    }
  : never;

type Setting = Extract<Entry, { readonly setting: string }>;
type Widened<T> = T extends string ? string : T;

/**
 * Values given on the command line (or to `createDelta({ flags })`); `undefined` means "not
 * given". Flags win over everything; each is checked as the configuration key it sets.
 */
export type ConfigFlags = { readonly config?: string | undefined } & { readonly [E in Setting as E['key']]?: Widened<OptionValue<E>> | undefined };

/** `--config` / DELTA_CONFIG: the configuration file itself. */
export const CONFIG_FILE: OptionEntry = OPTIONS[0];

/** The options that set configuration keys. */
export const SETTINGS: readonly (OptionEntry & { readonly setting: string })[] = OPTIONS.filter((entry): entry is Setting => 'setting' in entry);

/** The options a command takes (global ones excepted), in help order. */
export function optionsOf(command: CommandName): readonly OptionEntry[] {
  return OPTIONS.filter((entry) => entry.commands !== 'global' && (entry.commands as readonly CommandName[]).includes(command));
}

/** The options every command takes, in help order. */
export const GLOBAL_OPTIONS: readonly OptionEntry[] = OPTIONS.filter((entry) => entry.commands === 'global');

/** An option's help for a command: its text, then the variables that set it and its note. */
export function helpOf(entry: OptionEntry, command?: CommandName): string {
  const text = typeof entry.help === 'string' ? entry.help : ((command === undefined ? undefined : entry.help[command]) ?? '');
  const env = entry.env === undefined ? undefined : `env ${entry.env.join(' or ')}`;
  const parts = [env, entry.helpNote].filter((part) => part !== undefined);
  return parts.length === 0 ? text : `${text} (${parts.join('; ')})`;
}

/** The long flag that names an option in messages: `--lock-wait`, `--no-auto-rollback`. */
export function flagName(entry: OptionEntry): string {
  return /--[\w-]+/.exec(entry.flags)?.[0] ?? entry.flags;
}

/** The value of the first of an option's variables that is set and not blank, and its name. */
export function fromEnvironment(entry: OptionEntry, env: Readonly<Record<string, string | undefined>>): { readonly name: string; readonly value: string } | undefined {
  for (const name of entry.env ?? []) {
    const value = env[name];
    if (value !== undefined && value.trim() !== '') return { name, value };
  }
  return undefined;
}

/**
 * The ConfigFlags in a command's option values: the settings given, and the configuration file.
 * A `--no-x` switch counts only when given (commander sets it true by default).
 */
export function configFlagsOf(values: Readonly<Record<string, unknown>>): ConfigFlags {
  const flags: Record<string, unknown> = {};
  for (const entry of [CONFIG_FILE, ...SETTINGS]) {
    const value = values[entry.key];
    if (entry.flags.startsWith('--no-') ? value === false : value !== undefined) flags[entry.key] = value;
  }
  return flags as ConfigFlags;
}
