import type { ClientSession, CreateIndexesOptions, Db, IndexSpecification } from 'mongodb';
import type * as v from '../../config/schema-library.js';
import type { BuiltInArgs, Document } from './template-schema.js';
import { BUILT_IN_ARGS, decodeExtendedJson } from './template-schema.js';
import type { BuiltInOperationName, ChangeContext } from '../../vocabulary/index.js';

/**
 * Whether an operation can run inside the change's transaction. The runner's
 * transactions read at `snapshot`, and MongoDB creates collections and
 * indexes in a transaction only under read concern `local` (and never drops,
 * renames or modifies them there): so every DDL operation is `no`. `maybe`
 * (runCommand) depends on the command: run without one unless the file asks.
 */
export type TransactionFit = 'yes' | 'no' | 'maybe';

/** One built-in operation: its argument schema, how it runs, and its certain inverse, if any. */
export interface BuiltInOperation<A> {
  readonly args: v.GenericSchema<unknown, A>;
  readonly transaction: TransactionFit;
  /** A few words naming what it touches, for error messages: `orders.by_customer`. */
  describe(args: A): string;
  /**
   * Runs it with arguments whose Extended JSON is decoded. `tolerateMissing`
   * (derived rollbacks only) treats "already gone" as done, so that a derived
   * rollback can also compensate a commit that failed halfway.
   */
  run(context: ChangeContext, args: A, tolerateMissing: boolean): Promise<void>;
  /** The operation that certainly undoes this one; undefined when there is none. */
  inverse?(args: A): DerivedOperation | undefined;
}

/** An inverse: always a built-in operation run with `tolerateMissing`. */
export interface DerivedOperation {
  readonly name: BuiltInOperationName;
  readonly args: unknown;
}

/** MongoDB's codes for "nothing there": NamespaceNotFound, IndexNotFound. */
const MISSING_CODES = new Set([26, 27]);

async function unlessMissing(tolerate: boolean, work: () => Promise<unknown>): Promise<void> {
  try {
    await work();
  } catch (error) {
    if (tolerate && MISSING_CODES.has(Number((error as { code?: unknown }).code))) return;
    throw error;
  }
}

/** The name MongoDB and the driver give an index that has none: `email_1_createdAt_-1`. */
export function defaultIndexName(keys: Readonly<Record<string, unknown>>): string {
  return Object.entries(keys)
    .map(([field, direction]) => `${field}_${String(direction)}`)
    .join('_');
}

const withSession = (session: ClientSession | undefined, options: Document | undefined) => ({ ...options, session });
const collectionOf = (db: Db, name: string) => db.collection<Document>(name);

/** Each built-in's argument type is tied to its schema; the table is checked against every name. */
function builtIn<K extends BuiltInOperationName>(_name: K, operation: Omit<BuiltInOperation<BuiltInArgs[K]>, 'args'>): BuiltInOperation<BuiltInArgs[K]> {
  return { ...operation, args: BUILT_IN_ARGS[_name] as unknown as v.GenericSchema<unknown, BuiltInArgs[K]> };
}

export const BUILT_IN_OPERATION_TABLE = {
  createCollection: builtIn('createCollection', {
    transaction: 'no',
    describe: (args) => args.name,
    async run({ db, session }, args) {
      await db.createCollection(args.name, { ...args.options, ...(args.validator === undefined ? {} : { validator: args.validator }), session });
    },
    inverse: (args) => ({ name: 'dropCollection', args: { name: args.name } }),
  }),
  dropCollection: builtIn('dropCollection', {
    transaction: 'no',
    describe: (args) => args.name,
    async run({ db, session }, args, tolerateMissing) {
      await unlessMissing(tolerateMissing, () => db.dropCollection(args.name, { session }));
    },
  }),
  createIndex: builtIn('createIndex', {
    transaction: 'no',
    describe: (args) => `${args.collection}.${typeof args.options?.name === 'string' ? args.options.name : defaultIndexName(args.keys)}`,
    async run({ db, session }, args) {
      await collectionOf(db, args.collection).createIndex(args.keys as IndexSpecification, withSession(session, args.options) as CreateIndexesOptions);
    },
    inverse: (args) => ({
      name: 'dropIndex',
      args: { collection: args.collection, name: typeof args.options?.name === 'string' ? args.options.name : defaultIndexName(args.keys) },
    }),
  }),
  dropIndex: builtIn('dropIndex', {
    transaction: 'no',
    describe: (args) => `${args.collection}.${args.name}`,
    async run({ db, session }, args, tolerateMissing) {
      await unlessMissing(tolerateMissing, () => collectionOf(db, args.collection).dropIndex(args.name, { session }));
    },
  }),
  insertMany: builtIn('insertMany', {
    transaction: 'yes',
    describe: (args) => args.collection,
    async run({ db, session }, args) {
      await collectionOf(db, args.collection).insertMany(args.documents, withSession(session, args.options));
    },
  }),
  updateMany: builtIn('updateMany', {
    transaction: 'yes',
    describe: (args) => args.collection,
    async run({ db, session }, args) {
      await collectionOf(db, args.collection).updateMany(args.filter, args.update, withSession(session, args.options));
    },
  }),
  updateOne: builtIn('updateOne', {
    transaction: 'yes',
    describe: (args) => args.collection,
    async run({ db, session }, args) {
      await collectionOf(db, args.collection).updateOne(args.filter, args.update, withSession(session, args.options));
    },
  }),
  deleteMany: builtIn('deleteMany', {
    transaction: 'yes',
    describe: (args) => args.collection,
    async run({ db, session }, args) {
      await collectionOf(db, args.collection).deleteMany(args.filter, withSession(session, args.options));
    },
  }),
  renameCollection: builtIn('renameCollection', {
    transaction: 'no',
    describe: (args) => `${args.from} to ${args.to}`,
    async run({ db, session }, args, tolerateMissing) {
      await unlessMissing(tolerateMissing, () => db.renameCollection(args.from, args.to, { dropTarget: args.dropTarget ?? false, session }));
    },
    // With dropTarget the collection it replaced is gone: renaming back would not restore it.
    inverse: (args) => (args.dropTarget === true ? undefined : { name: 'renameCollection', args: { from: args.to, to: args.from } }),
  }),
  collMod: builtIn('collMod', {
    transaction: 'no',
    describe: (args) => args.collection,
    async run({ db, session }, args) {
      const { collection, options, ...changes } = args;
      await db.command({ collMod: collection, ...options, ...changes }, { session });
    },
  }),
  runCommand: builtIn('runCommand', {
    transaction: 'maybe',
    describe: (args) => Object.keys(args.command)[0] ?? '',
    async run({ db, session }, args) {
      await db.command(args.command, { session });
    },
  }),
} satisfies { readonly [K in BuiltInOperationName]: BuiltInOperation<BuiltInArgs[K]> };

/** A built-in operation bound to its checked arguments, ready to run. */
export function bindBuiltIn(
  name: BuiltInOperationName,
  args: unknown,
): { describe(): string; transaction: TransactionFit; inverse(): DerivedOperation | undefined; run(context: ChangeContext, tolerateMissing: boolean): Promise<void> } {
  const operation = BUILT_IN_OPERATION_TABLE[name] as unknown as BuiltInOperation<unknown>;
  return {
    describe: () => operation.describe(args),
    transaction: operation.transaction,
    inverse: () => operation.inverse?.(args),
    // Decoded afresh on every run: the driver adds `_id` to inserted documents in place,
    // and a change can run again (a retried transaction, commit after rollback).
    run: (context, tolerateMissing) => operation.run(context, decodeExtendedJson(args), tolerateMissing),
  };
}
