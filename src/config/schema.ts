import { z } from 'zod';
import type { StringRule } from './rules.js';
import { DATABASE_NAME, ENVIRONMENT_NAME, MIN_LEASE_MS, MONGO_URI, TRACKER_URI } from './rules.js';
import type { ChangeFormat, DeltaHooks, HookName, OperationRegistration, ServicesFactory } from '../vocabulary/index.js';
import { BUILT_IN_OPERATIONS, OPERATION_NAME_PATTERN, STAGE_NAME_PATTERN, TRANSACTION_MODES, isOperationRegistration } from '../vocabulary/index.js';
export type { TransactionMode } from '../vocabulary/index.js';
export { DEFAULT_STAGE_CONCURRENCY, TRANSACTION_MODES } from '../vocabulary/index.js';


const rule = (checked: StringRule) => z.string().refine(checked.test, { message: checked.message });
const mongoUri = rule(MONGO_URI);
const trackerUri = rule(TRACKER_URI);

const collectionName = z
  .string()
  .min(1)
  .refine((value) => !value.includes('$') && !value.startsWith('system.'), {
    message: "must be a collection name without '$' and not starting with 'system.'",
  });

const databaseName = z.string().min(1).max(63).refine(DATABASE_NAME.test, { message: DATABASE_NAME.message });

/** Custom template operations: a function, or `{ run, args?, transactional? }` (code configuration only). */
const operations = z
  .record(
    z.string(),
    z.custom<OperationRegistration>(isOperationRegistration, {
      error: 'must be a function (context, args) => ..., or { run(context, args), args?: a schema (zod or any Standard Schema), transactional?: boolean }',
    }),
  )
  .superRefine((registered, context) => {
    for (const name of Object.keys(registered)) {
      if ((BUILT_IN_OPERATIONS as readonly string[]).includes(name)) context.addIssue({ code: 'custom', path: [name], message: 'is a built-in operation; choose another name' });
      else if (!OPERATION_NAME_PATTERN.test(name)) context.addIssue({ code: 'custom', path: [name], message: 'must be a name of letters, digits and _ that does not start with a digit' });
    }
  });

const isFunction = (value: unknown): boolean => typeof value === 'function';

/** Extra change runners (code configuration only): matched before the built-in ones. */
const runners = z.array(
  z.custom<ChangeFormat>(
    (value) =>
      typeof value === 'object' &&
      value !== null &&
      typeof (value as ChangeFormat).name === 'string' &&
      /^[a-z][a-z0-9-]*$/.test((value as ChangeFormat).name) &&
      typeof (value as ChangeFormat).match === 'function' &&
      typeof (value as ChangeFormat).load === 'function' &&
      typeof (value as ChangeFormat).paired === 'boolean',
    { error: 'must be a runner: { name (lower-case letters, digits, -), paired: boolean, match(fileName), load(file, context) }' },
  ),
);

/** Programs for shell-command changes, by extension: `{ '.py': 'python3', '.sh': ['bash', '-e'] }`. */
const programs = z.record(
  z.string().regex(/^\.[A-Za-z0-9_-]+$/, { message: 'must be a file extension with its dot, e.g. .py' }),
  z.union([z.string().min(1), z.array(z.string().min(1)).min(1)], { error: 'must be a program name or an array [program, ...arguments]' }),
);
const hookFunction = <N extends HookName>() => z.custom<NonNullable<DeltaHooks[N]>>(isFunction, { error: 'must be a function (context) => ...' }).optional();

/** Hooks around a run and its changes (code configuration only). */
const hooks = z.strictObject({
  beforeAll: hookFunction<'beforeAll'>(),
  beforeEach: hookFunction<'beforeEach'>(),
  afterEach: hookFunction<'afterEach'>(),
  onError: hookFunction<'onError'>(),
  afterAll: hookFunction<'afterAll'>(),
});

const stageName = z.string().regex(STAGE_NAME_PATTERN, { message: 'must be a name of letters, digits, _ . - (no spaces or slashes) that starts with a letter or digit' });

/** One stage: a name (its folder under `path`), or the name with options. */
const stage = z.union([
  stageName,
  z.strictObject({
    name: stageName,
    /** The stage's folder, relative to `path` (default: the name; '.' for the change folder itself). */
    path: z.string().min(1).optional(),
    transaction: z.enum(TRANSACTION_MODES).optional(),
    timeoutMs: z.number().positive().optional(),
    parallel: z.boolean().optional(),
    concurrency: z.number().int().positive().optional(),
  }),
]);

const stages = z
  .array(stage)
  .min(1)
  .superRefine((list, context) => {
    const seen = new Set<string>();
    for (const [index, entry] of list.entries()) {
      const name = typeof entry === 'string' ? entry : entry.name;
      if (seen.has(name)) context.addIssue({ code: 'custom', path: [index], message: `names stage ${JSON.stringify(name)} a second time` });
      seen.add(name);
    }
  });

/** The shape of a configuration file (and of `createDelta()`'s input). */
export const configFileSchema = z.strictObject({
  uri: mongoUri.optional(),
  db: databaseName.optional(),
  path: z.string().min(1).optional(),
  stages: stages.optional(),
  /** The environment this run is for: changes with `environments` run only where it is one of them. */
  env: rule(ENVIRONMENT_NAME).optional(),
  tracker: z
    .strictObject({
      uri: trackerUri.optional(),
      db: databaseName.optional(),
      collections: z
        .strictObject({
          migrations: collectionName.optional(),
          audit: collectionName.optional(),
          lock: collectionName.optional(),
        })
        .optional(),
    })
    .optional(),
  transaction: z.enum(TRANSACTION_MODES).optional(),
  autoRollback: z.boolean().optional(),
  groupTransactions: z.boolean().optional(),
  lock: z
    .strictObject({
      waitMs: z.number().int().nonnegative().optional(),
      leaseMs: z.number().int().min(MIN_LEASE_MS).optional(),
      scope: z.string().min(1).optional(),
    })
    .optional(),
  connectTimeoutMs: z.number().int().positive().optional(),
  backup: z
    .strictObject({
      /** Folder of backups; relative to the configuration file. */
      dir: z.string().min(1).optional(),
      /** Back up the whole target database before every commit run with work (`commit --backup`). */
      default: z.boolean().optional(),
      /** Backups of this many runs are kept; older ones are pruned after a successful run (0 keeps all). */
      keep: z.number().int().nonnegative().optional(),
      /** `backup: true` on a database larger than this (dbStats dataSize) emits a `backup:warning` event. */
      warnAboveBytes: z.number().int().nonnegative().optional(),
    })
    .optional(),
  /**
   * The databases a fleet run (`--targets`) goes over: a comma list of names and globs
   * (`tenant_*`), `@file` (one name per line, relative to the configuration file), or a list.
   */
  targets: z.union([z.string().min(1), z.array(z.string().min(1)).min(1)]).optional(),
  fleet: z
    .strictObject({
      /** Targets run at once (default 4). */
      concurrency: z.number().int().positive().optional(),
      /** Start no new target once one failed. */
      failFast: z.boolean().optional(),
    })
    .optional(),
  operations: operations.optional(),
  runners: runners.optional(),
  programs: programs.optional(),
  hooks: hooks.optional(),
  services: z.custom<ServicesFactory>(isFunction, { error: 'must be a function (context) => ({ ...services }), async or not' }).optional(),
});

export type DeltaConfigInput = z.infer<typeof configFileSchema>;

/** Human wording for a schema issue: `tracker.db must be a string`. */
export function describeIssue(issue: z.core.$ZodIssue): string {
  const path = issue.path.map(String).join('.');
  const at = (key: string) => (path === '' ? key : `${path}.${key}`);
  switch (issue.code) {
    case 'unrecognized_keys':
      return issue.keys.map((key) => `unknown key '${at(key)}'`).join(', ');
    case 'invalid_type':
      return `${path || 'the configuration'} must be ${article(issue.expected)}`;
    case 'invalid_value':
      return `${path} must be one of ${issue.values.map((v) => JSON.stringify(v)).join(', ')}`;
    case 'too_small':
      if (issue.origin === 'string') return `${path} must be a non-empty string`;
      return `${path} must be ${issue.inclusive === false ? `greater than ${String(issue.minimum)}` : `at least ${String(issue.minimum)}`}`;
    case 'invalid_union': {
      // Name the branch the value was meant for: the first that did not fail on the value's type.
      const meant = issue.errors.find((branch) => branch[0] !== undefined && !(branch[0].code === 'invalid_type' && branch[0].path.length === 0))?.[0];
      if (meant !== undefined) return describeIssue({ ...meant, path: [...issue.path, ...meant.path] });
      return `${path} ${issue.message}`;
    }
    case 'too_big':
      return `${path} must be at most ${String(issue.maximum)}${issue.origin === 'string' ? ' characters' : ''}`;
    default:
      return `${path} ${issue.message}`;
  }
}

function article(expected: string): string {
  if (expected === 'object') return 'an object';
  if (expected === 'int') return 'an integer';
  if (expected === 'array') return 'an array';
  return `a ${expected}`;
}
