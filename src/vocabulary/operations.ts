// Template operations as configurations register them: the types, and the built-in names a
// custom one may not shadow. No runtime imports, so the configuration schema can check
// registrations without loading the loader.
import type { ChangeContext } from './change.js';

/**
 * The Standard Schema interface (standardschema.dev), copied as its authors
 * recommend: zod (3.24+ and 4), valibot and arktype schemas all satisfy it,
 * so a custom operation's `args` can be written with any of them.
 */
export interface StandardSchemaV1<Input = unknown, Output = Input> {
  readonly '~standard': StandardSchemaProps<Input, Output>;
}

export interface StandardSchemaProps<Input = unknown, Output = Input> {
  readonly version: 1;
  readonly vendor: string;
  readonly validate: (value: unknown) => StandardResult<Output> | Promise<StandardResult<Output>>;
  readonly types?: { readonly input: Input; readonly output: Output } | undefined;
}

export type StandardResult<Output> = { readonly value: Output; readonly issues?: undefined } | { readonly issues: readonly StandardIssue[] };

export interface StandardIssue {
  readonly message: string;
  readonly path?: readonly (PropertyKey | { readonly key: PropertyKey })[] | undefined;
}

/** A custom operation given as a bare function: its arguments are not checked. */
export type OperationFunction = (context: ChangeContext, args: unknown) => Promise<void> | void;

/** A custom operation with a schema for its arguments. */
export interface OperationDefinition<Args = unknown> {
  /**
   * Checks the operation's arguments when the template is loaded, before
   * anything runs (after Extended JSON is decoded); its output is what `run`
   * receives. Omitted: the arguments are passed as written.
   */
  readonly args?: StandardSchemaV1<unknown, Args>;
  /** Runs the operation; pass `{ session: context.session }` to every driver call. */
  run(context: ChangeContext, args: Args): Promise<void> | void;
  /**
   * `false` when the operation runs commands MongoDB refuses inside a
   * transaction (DDL): templates using it then run without one. Default `true`.
   */
  readonly transactional?: boolean;
}

/** What the configuration's `operations` map holds: a function, or a definition with an argument schema. */
export type OperationRegistration = OperationFunction | OperationDefinition;

/** Custom operations by name, as given in the configuration. */
export type OperationRegistry = Readonly<Record<string, OperationRegistration>>;

/**
 * Gives a custom operation its types: `run`'s `args` is inferred from the
 * `args` schema. Returns its argument unchanged.
 */
export function defineOperation<Args>(definition: OperationDefinition<Args>): OperationDefinition<Args> {
  return definition;
}

/*
 * What the configuration's `operations` may hold. Free of runtime imports so
 * that the configuration schema can check registrations (and refuse names
 * that would shadow a built-in operation) without loading the loader.
 */

/** The built-in template operations, in the order the README documents them. */
export const BUILT_IN_OPERATIONS = [
  'createCollection',
  'dropCollection',
  'createIndex',
  'dropIndex',
  'insertMany',
  'updateMany',
  'updateOne',
  'deleteMany',
  'renameCollection',
  'collMod',
  'runCommand',
] as const;

export type BuiltInOperationName = (typeof BUILT_IN_OPERATIONS)[number];

/** A custom operation's name is a key in YAML and JSON templates: keep it a plain identifier. */
export const OPERATION_NAME_PATTERN = /^[A-Za-z_][A-Za-z0-9_]*$/;

const DEFINITION_KEYS = new Set(['args', 'run', 'transactional']);

/** A function, or `{ run, args?, transactional? }` whose `args` is a Standard Schema (zod, valibot...). */
export function isOperationRegistration(value: unknown): value is OperationRegistration {
  if (typeof value === 'function') return true;
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const record = value as Record<string, unknown>;
  if (Object.keys(record).some((key) => !DEFINITION_KEYS.has(key))) return false;
  if (typeof record.run !== 'function') return false;
  if (record.transactional !== undefined && typeof record.transactional !== 'boolean') return false;
  if (record.args === undefined) return true;
  const standard = (record.args as Record<string, unknown> | null | undefined)?.['~standard'] as Record<string, unknown> | undefined;
  return typeof standard?.validate === 'function';
}

/** What a configuration allows templates (`templates: { allowRunCommand, allowServerJavaScript }`). */
export interface TemplatePermissions {
  readonly allowRunCommand?: boolean | undefined;
  readonly allowServerJavaScript?: boolean | undefined;
  /** delta's own collection names (the tracker's configured ones); default delta_migrations, delta_audit, delta_lock. */
  readonly ownCollections?: readonly string[] | undefined;
}
