// The one schema of delta's configuration: a configuration file, `createDelta()`'s input, and the
// values flags and environment variables give (validated as the part of a configuration they set).
// valibot, because it loads in about a tenth of zod's time (README, "Libraries and why"): every
// command validates its flags and environment with it.
import * as v from './schema-library.js';
import type { BetweenWavesHook, ChangeFormat, DeltaHooks, HookName, OperationRegistration, ServicesFactory } from '../vocabulary/index.js';
import {
  BUILT_IN_OPERATIONS,
  DATABASE_NAME_PATTERN,
  METADATA_NAME_PATTERN,
  OPERATION_NAME_PATTERN,
  STAGE_NAME_PATTERN,
  TRANSACTION_MODES,
  idPatternProblem,
  isOperationRegistration,
  parseWaves,
} from '../vocabulary/index.js';
export type { TransactionMode } from '../vocabulary/index.js';
export { DEFAULT_STAGE_CONCURRENCY, TRANSACTION_MODES } from '../vocabulary/index.js';

/** The shortest lease (`lock.leaseMs`, `--lock-lease`): its heartbeat beats every third of it. */
export const MIN_LEASE_MS = 1000;

// Every message is what follows the key in `tracker.db must be ...`; describeIssue adds the key.
const MONGO_URI = /^mongodb(\+srv)?:\/\//i;
const mongoUri = v.pipe(v.string(), v.regex(MONGO_URI, 'must be a mongodb:// or mongodb+srv:// connection string'));
/** A tracker's store: a MongoDB connection string, or a SQLite file (`sqlite:./.delta/delta.sqlite`). */
const trackerUri = v.pipe(
  v.string(),
  v.check((value) => MONGO_URI.test(value) || /^sqlite:.+/i.test(value), 'must be a mongodb:// or mongodb+srv:// connection string, or sqlite:<path of a file>'),
);
const nonEmptyString = v.pipe(v.string(), v.minLength(1));
const databaseName = v.pipe(v.string(), v.minLength(1), v.maxLength(63), v.regex(DATABASE_NAME_PATTERN, 'must be a database name without /\\. "$*<>:|? or spaces'));
const collectionName = v.pipe(
  v.string(),
  v.minLength(1),
  v.check((value) => !value.includes('$') && !value.startsWith('system.'), "must be a collection name without '$' and not starting with 'system.'"),
);
const environmentName = v.pipe(v.string(), v.regex(METADATA_NAME_PATTERN, 'must be an environment name of letters, digits, _ . : - (no spaces or commas)'));
const oneOf = <const T extends readonly string[]>(values: T) => v.picklist(values, `must be one of ${values.map((value) => JSON.stringify(value)).join(', ')}`);
const transactionMode = oneOf(TRANSACTION_MODES);
const integerAtLeast = (min: number) => v.pipe(v.number(), v.integer(), v.minValue(min));
const positiveInteger = v.pipe(v.number(), v.integer(), v.gtValue(0));
const isFunction = (value: unknown): boolean => typeof value === 'function';
// valibot's object and record schemas take arrays too (their keys are indexes): not here.
const isPlainObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);
const anObject = v.custom<Record<string, unknown>>(isPlainObject, 'must be an object');
/** A strict object (an unknown key is an error) that is not an array. */
const object = <const E extends v.ObjectEntries>(entries: E) => v.pipe(anObject, v.strictObject(entries));

/**
 * An item of a `targets` list: a name or glob, or databases on a deployment of their own. The
 * uri is checked once its `${VARIABLES}` are known (src/fleet/target-file.ts).
 */
const targetEntry = v.union(
  [nonEmptyString, object({ uri: v.optional(nonEmptyString), db: v.union([nonEmptyString, v.pipe(v.array(nonEmptyString), v.minLength(1))], 'must be a name or glob, or a list of them') })],
  'must be a name or glob, or { uri?, db } (db: a name, a glob or a list of them)',
);

/** Custom template operations: a function, or `{ run, args?, transactional? }` (code configuration only). */
const operations = v.pipe(
  anObject,
  v.record(
    v.string(),
    v.custom<OperationRegistration>(
      isOperationRegistration,
      'must be a function (context, args) => ..., or { run(context, args), args?: a schema (valibot, zod or any Standard Schema), transactional?: boolean }',
    ),
  ),
  v.rawCheck(({ dataset, addIssue }) => {
    if (!dataset.typed) return;
    for (const name of Object.keys(dataset.value)) {
      const path = [{ type: 'object', origin: 'value', input: dataset.value, key: name, value: dataset.value[name] }] as const;
      if ((BUILT_IN_OPERATIONS as readonly string[]).includes(name)) addIssue({ message: 'is a built-in operation; choose another name', path: [...path] });
      else if (!OPERATION_NAME_PATTERN.test(name)) addIssue({ message: 'must be a name of letters, digits and _ that does not start with a digit', path: [...path] });
    }
  }),
);

/** Extra change formats (code configuration only): matched before the built-in ones. */
const runners = v.array(
  v.custom<ChangeFormat>(
    (value) =>
      typeof value === 'object' &&
      value !== null &&
      typeof (value as ChangeFormat).name === 'string' &&
      /^[a-z][a-z0-9-]*$/.test((value as ChangeFormat).name) &&
      typeof (value as ChangeFormat).match === 'function' &&
      typeof (value as ChangeFormat).load === 'function' &&
      typeof (value as ChangeFormat).paired === 'boolean',
    'must be a runner: { name (lower-case letters, digits, -), paired: boolean, match(fileName), load(file, context) }',
  ),
);

/** Programs for shell-command changes, by extension: `{ '.py': 'python3', '.sh': ['bash', '-e'] }`. */
const programs = v.pipe(
  anObject,
  v.record(
    v.pipe(v.string(), v.regex(/^\.[A-Za-z0-9_-]+$/, 'must be a file extension with its dot, e.g. .py')),
    v.union([nonEmptyString, v.pipe(v.array(nonEmptyString), v.minLength(1))], 'must be a program name or an array [program, ...arguments]'),
  ),
);

const hookFunction = <N extends HookName>() => v.optional(v.custom<NonNullable<DeltaHooks[N]>>(isFunction, 'must be a function (context) => ...'));

/** Hooks around a run and its changes (code configuration only). */
const hooks = object({
  beforeAll: hookFunction<'beforeAll'>(),
  beforeEach: hookFunction<'beforeEach'>(),
  afterEach: hookFunction<'afterEach'>(),
  onError: hookFunction<'onError'>(),
  afterAll: hookFunction<'afterAll'>(),
});

const stageName = v.pipe(v.string(), v.regex(STAGE_NAME_PATTERN, 'must be a name of letters, digits, _ . - (no spaces or slashes) that starts with a letter or digit'));

/** One stage: a name (its folder under `path`), or the name with options. */
const stage = v.union(
  [
    stageName,
    object({
      name: stageName,
      /** The stage's folder, relative to `path` (default: the name; '.' for the change folder itself). */
      path: v.optional(nonEmptyString),
      transaction: v.optional(transactionMode),
      timeoutMs: v.optional(v.pipe(v.number(), v.gtValue(0))),
      parallel: v.optional(v.boolean()),
      concurrency: v.optional(positiveInteger),
    }),
  ],
  'must be a stage name or { name, path?, transaction?, timeoutMs?, parallel?, concurrency? }',
);

const stages = v.pipe(
  v.array(stage),
  v.minLength(1),
  v.rawCheck(({ dataset, addIssue }) => {
    if (!dataset.typed) return;
    const seen = new Set<string>();
    for (const [index, entry] of dataset.value.entries()) {
      const name = typeof entry === 'string' ? entry : entry.name;
      if (seen.has(name)) addIssue({ message: `names stage ${JSON.stringify(name)} a second time`, path: [{ type: 'array', origin: 'value', input: dataset.value, key: index, value: entry }] });
      seen.add(name);
    }
  }),
);

/** The shape of a configuration file (and of `createDelta()`'s input). */
export const configFileSchema = object({
  uri: v.optional(mongoUri),
  db: v.optional(databaseName),
  path: v.optional(nonEmptyString),
  stages: v.optional(stages),
  /** The environment this run is for: changes with `environments` run only where it is one of them. */
  env: v.optional(environmentName),
  tracker: v.optional(
    object({
      uri: v.optional(trackerUri),
      db: v.optional(databaseName),
      collections: v.optional(
        object({
          migrations: v.optional(collectionName),
          audit: v.optional(collectionName),
          lock: v.optional(collectionName),
        }),
      ),
    }),
  ),
  transaction: v.optional(transactionMode),
  autoRollback: v.optional(v.boolean()),
  /** Let commands change MongoDB's own databases (admin, local, config); refused otherwise. */
  allowSystemDb: v.optional(v.boolean()),
  groupTransactions: v.optional(v.boolean()),
  lock: v.optional(
    object({
      waitMs: v.optional(integerAtLeast(0)),
      leaseMs: v.optional(integerAtLeast(MIN_LEASE_MS)),
      scope: v.optional(nonEmptyString),
    }),
  ),
  connectTimeoutMs: v.optional(positiveInteger),
  backup: v.optional(
    object({
      /** Folder of backups; relative to the configuration file. */
      dir: v.optional(nonEmptyString),
      /** Back up the whole target database before every commit run with work (`commit --backup`). */
      default: v.optional(v.boolean()),
      /** Backups of this many runs are kept; older ones are pruned after a successful run (0 keeps all). */
      keep: v.optional(integerAtLeast(0)),
      /** `backup: true` on a database larger than this (dbStats dataSize) emits a `backup:warning` event. */
      warnAboveBytes: v.optional(integerAtLeast(0)),
    }),
  ),
  /**
   * The databases a fleet run (`--targets`) goes over: a comma list of names and globs
   * (`tenant_*`), `@file` (one name per line, or a YAML/JSON fleet file, relative to the
   * configuration file), or a list of names, globs and `{ uri?, db }` entries (databases on a
   * deployment of their own; `uri` may name environment variables: `${EU_URI}`).
   */
  targets: v.optional(v.union([nonEmptyString, v.pipe(v.array(targetEntry), v.minLength(1))], 'must be a string (names, globs or @file) or a list of names, globs and { uri?, db } entries')),
  fleet: v.optional(
    object({
      /** Targets run at once on each deployment (default 4). */
      concurrency: v.optional(positiveInteger),
      /** Targets run at once over the whole fleet, all deployments together (default: no cap beyond concurrency). */
      totalConcurrency: v.optional(positiveInteger),
      /** Start no new target once one failed. */
      failFast: v.optional(v.boolean()),
      /** Waves (`1,10%,rest`): each starts only when the one before finished within maxFailureRate and betweenWaves did not throw. */
      waves: v.optional(
        v.pipe(
          v.string(),
          v.check(
            (spec) => !('problem' in parseWaves(spec)),
            (issue) => {
              const parsed = parseWaves(String(issue.input));
              return 'problem' in parsed ? `must be a wave list: ${parsed.problem}` : '';
            },
          ),
        ),
      ),
      /** The share of a wave's targets (0 to 1) that may fail with the next wave still started (default 0). */
      maxFailureRate: v.optional(v.pipe(v.number(), v.minValue(0), v.maxValue(1))),
      /** Called between waves (code configuration only); throwing halts the fleet. */
      betweenWaves: v.optional(v.custom<BetweenWavesHook>(isFunction, 'must be a function ({ wave, waves, finished, next }) => ...')),
    }),
  ),
  operations: v.optional(operations),
  runners: v.optional(runners),
  programs: v.optional(programs),
  /** Names (or `PREFIX_*` patterns) of delta's environment a shell-command change's program also gets. */
  shellEnv: v.optional(v.array(v.pipe(v.string(), v.regex(/^[A-Za-z_][A-Za-z0-9_]*\*?$/, 'must be an environment variable name, or a prefix ending in * (AWS_*)')))),
  /** What a YAML/JSON template may do beyond data operations (both off by default). */
  templates: v.optional(object({ allowRunCommand: v.optional(v.boolean()), allowServerJavaScript: v.optional(v.boolean()) })),
  /**
   * Keep migrate-mongo's changelog as migrate-mongo writes it, for teammates or scripts that still
   * run `migrate-mongo up` (written by `delta import migrate-mongo --keep-changelog`).
   */
  migrateMongo: v.optional(
    object({
      changelog: collectionName,
      fileExtension: v.optional(v.pipe(v.string(), v.regex(/^\.[A-Za-z0-9]+$/, "must be a file extension starting with a dot, such as '.js'"))),
      useFileHash: v.optional(v.boolean()),
    }),
  ),
  /** How `delta create` names new changes (written by `delta import` to follow the project's files). */
  create: v.optional(
    object({
      id: v.optional(
        v.pipe(
          v.string(),
          v.check(
            (pattern) => idPatternProblem(pattern) === undefined,
            (issue) => idPatternProblem(String(issue.input)) ?? '',
          ),
        ),
      ),
    }),
  ),
  hooks: v.optional(hooks),
  services: v.optional(v.custom<ServicesFactory>(isFunction, 'must be a function (context) => ({ ...services }), async or not')),
});

export type DeltaConfigInput = v.InferOutput<typeof configFileSchema>;

/** The keys a configuration (file or `createDelta({ config })`) may hold. */
export const CONFIG_KEYS: readonly string[] = Object.keys(configFileSchema.pipe[1].entries);

/** What a value of the wrong kind must be, when the schema gives no message of its own. */
function expectation(issue: v.BaseIssue<unknown>): string {
  const atLeast = (what: string) => (Array.isArray(issue.input) ? 'must be a non-empty list' : what);
  switch (issue.type) {
    case 'string':
      return 'must be a string';
    case 'number':
      return 'must be a number';
    case 'boolean':
      return 'must be a boolean';
    case 'array':
      return 'must be an array';
    case 'object':
    case 'strict_object':
      // A required key left out (valibot expects the key: `"db"`).
      return issue.input === undefined && issue.expected?.startsWith('"') === true ? 'is missing' : 'must be an object';
    case 'record':
      return 'must be an object';
    case 'integer':
      return 'must be an integer';
    case 'min_length':
      return atLeast('must be a non-empty string');
    case 'max_length':
      return `must be at most ${String(issue.requirement)} characters`;
    case 'min_value':
      return `must be at least ${String(issue.requirement)}`;
    case 'gt_value':
      return `must be greater than ${String(issue.requirement)}`;
    default:
      return `must be ${issue.expected ?? 'valid'}`;
  }
}

/** The first problem with a configuration, or undefined when it is valid. */
export function configProblem(input: unknown): { readonly value: DeltaConfigInput } | { readonly path: string; readonly problem: string } {
  const result = v.safeParse(configFileSchema, input, { message: expectation });
  if (result.success) return { value: result.output };
  const [issue] = result.issues;
  return describeIssue(issue);
}

/**
 * The key an issue is about and what it says, in delta's words: `{ path: 'tracker.db', problem:
 * 'must be a string' }`; an unknown key gives `problem: "unknown key 'tracker.colection'"`. A
 * union names the alternative the value was meant for: the first that did not fail on the
 * value's type (a stage object with an unknown key is reported as that key, not as "not a stage").
 */
export function describeIssue(issue: v.BaseIssue<unknown>, prefix: readonly string[] = []): { readonly path: string; readonly problem: string } {
  const keys = [...prefix, ...(issue.path ?? []).map((item) => String(item.key))];
  const path = keys.join('.');
  if (issue.type === 'strict_object' && issue.path !== undefined && issue.expected === 'never') return { path, problem: `unknown key '${path}'` };
  if (issue.type === 'union' && issue.issues !== undefined) {
    const meant = issue.issues.find((inner) => !(inner.kind === 'schema' && inner.path === undefined));
    if (meant !== undefined) return describeIssue(meant, keys);
  }
  return { path, problem: issue.message };
}
