import type { ClientSession, Db, MongoClient } from 'mongodb';

/**
 * Where each driver method takes its options, the argument that `{ session }` joins: the
 * position of `options` in the method's signature (driver 7). Every call through a bound
 * object carries the change's session, whether or not the author passed one.
 */
const COLLECTION_OPTIONS: Readonly<Record<string, number>> = {
  insertOne: 1,
  insertMany: 1,
  bulkWrite: 1,
  updateOne: 2,
  updateMany: 2,
  replaceOne: 2,
  deleteOne: 1,
  deleteMany: 1,
  find: 1,
  findOne: 1,
  findOneAndDelete: 1,
  findOneAndReplace: 2,
  findOneAndUpdate: 2,
  aggregate: 1,
  countDocuments: 1,
  distinct: 2,
  createIndexes: 1,
  dropIndex: 1,
  dropIndexes: 0,
  drop: 0,
  rename: 1,
  initializeOrderedBulkOp: 0,
  initializeUnorderedBulkOp: 0,
};

const DB_OPTIONS: Readonly<Record<string, number>> = {
  command: 1,
  aggregate: 1,
  createCollection: 1,
  createIndex: 2,
  dropCollection: 1,
  dropDatabase: 0,
  renameCollection: 2,
  runCursorCommand: 1,
};

const ADMIN_OPTIONS: Readonly<Record<string, number>> = { command: 1 };
const CLIENT_OPTIONS: Readonly<Record<string, number>> = { bulkWrite: 1 };

// Catalog reads (listIndexes, listCollections, count, collection options) stay unbound on
// purpose: MongoDB refuses them inside a transaction (OperationNotSupportedInTransaction, 263),
// and, being reads, they cannot leave anything behind. They see what is committed.

/** Methods whose result is a collection (or collections) to bind in turn. */
const RETURNS_COLLECTION = new Set(['collection', 'createCollection', 'renameCollection', 'rename']);

/** Thrown when a change passes an operation a session that is not its own. */
export class ForeignSessionError extends Error {
  override get name(): string {
    return 'ForeignSessionError';
  }
}

/**
 * A transactional change's view of the driver: `db` and `client` whose every operation joins
 * `session` (the change's transaction), so a forgotten `{ session }` cannot leak a write out of
 * the transaction. `client.startSession()` and `client.withSession()` hand out the change's own
 * session, whose `withTransaction(fn)` runs `fn` inside the change's transaction (migrate-mongo
 * files that open their own transaction join delta's instead). A session from anywhere else is
 * refused with ForeignSessionError.
 */
export function bindToSession(db: Db, client: MongoClient, session: ClientSession): { db: Db; client: MongoClient } {
  const joined = joinedSession(session);
  const accepted = new Set<unknown>([session, joined]);

  const withSession = (method: string, args: unknown[], position: number): unknown[] => {
    const copy = [...args];
    while (copy.length <= position) copy.push(undefined);
    const given = copy[position];
    if (given === undefined || given === null) {
      copy[position] = { session };
      return copy;
    }
    if (typeof given !== 'object') return copy;
    const own = (given as { session?: unknown }).session;
    if (own !== undefined && !accepted.has(own)) {
      throw new ForeignSessionError(
        `${method}() was given a session that is not the change's: in a transactional change every operation through ctx.db and ctx.client joins the change's transaction; pass ctx.session or no session`,
      );
    }
    copy[position] = { ...(given as object), session };
    return copy;
  };

  const bindObject = <T extends object>(target: T, table: Readonly<Record<string, number>>, label: string, special: (name: string, value: unknown) => unknown): T =>
    new Proxy(target, {
      get(object, property, receiver) {
        const value: unknown = Reflect.get(object, property, receiver);
        if (typeof property !== 'string') return value;
        const replaced = special(property, value);
        if (replaced !== undefined) return replaced;
        if (typeof value !== 'function') return value;
        const fn = value as (...args: unknown[]) => unknown;
        const position = table[property];
        return (...args: unknown[]) => {
          const call = position === undefined ? args : property === 'createIndex' && label === 'collection' ? createIndexArgs(args) : withSession(`${label}.${property}`, args, position);
          const result = fn.apply(object, call);
          return RETURNS_COLLECTION.has(property) ? bindResult(result) : result;
        };
      },
    });

  // Collection.createIndex(spec, options) or (spec, indexOptions, commandOptions): the session
  // goes with the command's options, wherever the caller put them.
  const createIndexArgs = (args: unknown[]): unknown[] => (args[2] === undefined || args[2] === null ? withSession('collection.createIndex', args, 1) : withSession('collection.createIndex', args, 2));

  const bindCollection = <T extends object>(collection: T): T =>
    bindObject(collection, { ...COLLECTION_OPTIONS, createIndex: 1 }, 'collection', (name) => (name === 'client' ? boundClient : undefined));

  const bindResult = (result: unknown): unknown => {
    if (result instanceof Promise) return result.then(bindResult);
    if (Array.isArray(result)) return result.map((item) => (typeof item === 'object' && item !== null ? bindCollection(item as object) : item));
    return typeof result === 'object' && result !== null ? bindCollection(result) : result;
  };

  const bindDb = (target: Db): Db =>
    bindObject(target, DB_OPTIONS, 'db', (name, value) => {
      if (name === 'client') return boundClient;
      if (name === 'admin') return () => bindObject((value as () => object).call(target), ADMIN_OPTIONS, 'admin', () => undefined);
      if (name === 'collections') return async (...args: unknown[]) => ((await (value as (...a: unknown[]) => Promise<object[]>).apply(target, args)) as object[]).map(bindCollection);
      return undefined;
    });

  const boundClient: MongoClient = bindObject(client, CLIENT_OPTIONS, 'client', (name, value) => {
    if (name === 'db') return (...args: unknown[]) => bindDb((value as (...a: unknown[]) => Db).apply(client, args));
    if (name === 'startSession') return () => joined;
    if (name === 'withSession') {
      return async (...args: unknown[]) => {
        const executor = args.find((arg): arg is (session: ClientSession) => Promise<unknown> => typeof arg === 'function');
        return executor?.(joined);
      };
    }
    return undefined;
  });

  return { db: bindDb(db), client: boundClient };
}

/**
 * The change's session as code that opens its own transaction sees it: starting, committing and
 * ending are no-ops (the change's transaction commits with its record), `withTransaction(fn)`
 * runs `fn` in the change's transaction, and aborting fails the change so that nothing of it stays.
 */
function joinedSession(session: ClientSession): ClientSession {
  const joined: ClientSession = new Proxy(session, {
    get(target, property, receiver) {
      switch (property) {
        case 'startTransaction':
          return () => undefined;
        case 'commitTransaction':
        case 'endSession':
          return async () => undefined;
        case 'abortTransaction':
          return async () => {
            throw new Error('the change aborted its transaction (session.abortTransaction()): nothing of it is applied');
          };
        case 'withTransaction':
          return async (fn: (s: ClientSession) => Promise<unknown>) => fn(joined);
        default: {
          const value: unknown = Reflect.get(target, property, receiver);
          return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
        }
      }
    },
  });
  return joined;
}
