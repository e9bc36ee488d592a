import type { ChangeContext } from '../change-types.js';

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
