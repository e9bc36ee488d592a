import type { ShellInstanceState } from '@mongosh/shell-api';
import type {
  AggregateOptions,
  AggregationCursor,
  AnyBulkWriteOperation,
  AnyClientBulkWriteModel,
  BulkWriteOptions,
  BulkWriteResult,
  ChangeStream,
  ChangeStreamOptions,
  ClientBulkWriteOptions,
  ClientBulkWriteResult,
  ClientSession,
  ClientSessionOptions,
  Collection,
  CountDocumentsOptions,
  CountOptions,
  CreateCollectionOptions,
  CreateIndexesOptions,
  Db,
  DbOptions,
  DeleteOptions,
  DeleteResult,
  DistinctOptions,
  Document,
  DropCollectionOptions,
  DropDatabaseOptions,
  EstimatedDocumentCountOptions,
  FindCursor,
  FindOneAndDeleteOptions,
  FindOneAndReplaceOptions,
  FindOneAndUpdateOptions,
  FindOptions,
  InsertManyResult,
  InsertOneOptions,
  InsertOneResult,
  ListCollectionsOptions,
  ListDatabasesOptions,
  ListIndexesOptions,
  MongoClient,
  MongoClientOptions,
  OrderedBulkOperation,
  ReadConcern,
  ReadPreference as ReadPreferenceType,
  ReadPreferenceFromOptions,
  ReadPreferenceLike,
  RenameOptions,
  ReplaceOptions,
  RunCommandCursor,
  RunCommandOptions,
  RunCursorCommandOptions,
  SearchIndexDescription,
  UnorderedBulkOperation,
  UpdateOptions,
  UpdateResult,
  WriteConcern,
} from 'mongodb';
import { BSON, ReadPreference } from 'mongodb';

/** The interface `@mongosh/shell-api` drives: readable, writable, admin and closable operations. */
export type ServiceProvider = ShellInstanceState['initialServiceProvider'];
type ConnectionInfo = Awaited<ReturnType<ServiceProvider['getConnectionInfo']>>;

/** What a mongosh script may not do in delta, and why, in the words of the error it gets. */
export class MongoshUnsupportedError extends Error {
  override get name(): string {
    return 'MongoshUnsupportedError';
  }
}

const unsupported = (what: string, why: string) => new MongoshUnsupportedError(`${what} is not supported in delta's mongosh runner: ${why}`);

/** mongosh's defaults for every operation: functions are stored as Code, 64-bit integers stay Long. */
const SHELL_OPTIONS = { serializeFunctions: true, promoteLongs: false } as const;

interface Closeable {
  readonly closed: boolean;
  close(): Promise<void>;
}

/**
 * The ServiceProvider `@mongosh/shell-api` runs a script through, as a thin
 * adapter over delta's own MongoClient: each method is the driver call it
 * names. Delta's session (the change's transaction) joins every operation
 * that does not bring a session of its own, so the script's writes commit or
 * abort with the change and its record. Catalog reads (listCollections,
 * listIndexes, listDatabases) never join it: MongoDB refuses them inside a
 * transaction (OperationNotSupportedInTransaction, 263), so they see what is
 * committed. Nothing here opens or closes a connection: the client is
 * delta's, and what the script opened (cursors, its own sessions) is closed
 * by `dispose()`.
 */
export class DeltaServiceProvider implements ServiceProvider {
  readonly platform = 'CLI' as const;
  readonly bsonLibrary = BSON;
  readonly initialDb: string;
  readonly #client: MongoClient;
  readonly #session: ClientSession | undefined;
  readonly #opened = new Set<Closeable>();
  readonly #sessions = new Set<ClientSession>();
  #connectionInfo: Promise<ConnectionInfo> | undefined;

  constructor(client: MongoClient, initialDb: string, session: ClientSession | undefined) {
    this.#client = client;
    this.initialDb = initialDb;
    this.#session = session;
  }

  /** Closes the cursors and sessions the script left open; delta's client and session stay as they are. */
  async dispose(): Promise<void> {
    const open = [...this.#opened].filter((cursor) => !cursor.closed);
    this.#opened.clear();
    await Promise.all(open.map((cursor) => cursor.close().catch(() => undefined)));
    const sessions = [...this.#sessions];
    this.#sessions.clear();
    await Promise.all(sessions.map((session) => session.endSession().catch(() => undefined)));
  }

  #db(name: string, dbOptions?: DbOptions): Db {
    return this.#client.db(name, dbOptions);
  }

  /** The shell's defaults, the script's options, and delta's session unless the script brought one. */
  #options<T extends object>(options: T | undefined): T & typeof SHELL_OPTIONS & { session?: ClientSession } {
    const given = (options ?? {}) as T & { session?: ClientSession };
    return { ...SHELL_OPTIONS, ...given, session: given.session ?? this.#session };
  }

  /** Options for a catalog read: outside any transaction (see the class comment). */
  #catalogOptions<T extends object>(options: T | undefined): T & typeof SHELL_OPTIONS {
    const { session: _ignored, ...rest } = (options ?? {}) as T & { session?: ClientSession };
    return { ...SHELL_OPTIONS, ...(rest as T) };
  }

  #track<C extends Closeable>(cursor: C): C {
    this.#opened.add(cursor);
    return cursor;
  }

  // Readable

  aggregate(database: string, collection: string, pipeline: Document[], options?: AggregateOptions, dbOptions?: DbOptions): AggregationCursor {
    return this.#track(this.#db(database, dbOptions).collection(collection).aggregate(pipeline, this.#options(options)));
  }

  aggregateDb(database: string, pipeline: Document[], options?: AggregateOptions, dbOptions?: DbOptions): AggregationCursor {
    return this.#track(this.#db(database, dbOptions).aggregate(pipeline, this.#options(options)));
  }

  hasUnifiedAggregateOptions(): boolean {
    return true;
  }

  count(database: string, collection: string, query?: Document, options?: CountOptions, dbOptions?: DbOptions): Promise<number> {
    return this.#db(database, dbOptions).collection(collection).count(query, this.#options(options));
  }

  countDocuments(database: string, collection: string, filter?: Document, options?: CountDocumentsOptions, dbOptions?: DbOptions): Promise<number> {
    return this.#db(database, dbOptions).collection(collection).countDocuments(filter, this.#options(options));
  }

  distinct(database: string, collection: string, fieldName: string, filter?: Document, options?: DistinctOptions, dbOptions?: DbOptions): Promise<Document> {
    return this.#db(database, dbOptions)
      .collection(collection)
      .distinct(fieldName, filter ?? {}, this.#options(options));
  }

  estimatedDocumentCount(database: string, collection: string, options?: EstimatedDocumentCountOptions, dbOptions?: DbOptions): Promise<number> {
    return this.#db(database, dbOptions).collection(collection).estimatedDocumentCount(this.#options(options));
  }

  find(database: string, collection: string, filter?: Document, options?: FindOptions, dbOptions?: DbOptions): FindCursor {
    return this.#track(
      this.#db(database, dbOptions)
        .collection(collection)
        .find(filter ?? {}, this.#options(options)),
    );
  }

  getTopologyDescription(): undefined {
    return undefined;
  }

  getIndexes(database: string, collection: string, options: ListIndexesOptions, dbOptions?: DbOptions): Promise<Document[]> {
    return this.#db(database, dbOptions).collection(collection).listIndexes(this.#catalogOptions(options)).toArray();
  }

  listCollections(database: string, filter?: Document, options?: ListCollectionsOptions, dbOptions?: DbOptions): Promise<Document[]> {
    return this.#db(database, dbOptions)
      .listCollections(filter ?? {}, this.#catalogOptions(options))
      .toArray();
  }

  readPreferenceFromOptions(options?: Omit<ReadPreferenceFromOptions, 'session'>): ReadPreferenceLike | undefined {
    return ReadPreference.fromOptions(options);
  }

  watch(pipeline: Document[], options: ChangeStreamOptions, dbOptions?: DbOptions, db?: string, coll?: string): ChangeStream {
    const withSession = this.#options(options);
    if (db === undefined) return this.#track(this.#client.watch(pipeline, withSession));
    if (coll === undefined) return this.#track(this.#db(db, dbOptions).watch(pipeline, withSession));
    return this.#track(this.#db(db, dbOptions).collection(coll).watch(pipeline, withSession));
  }

  getSearchIndexes(database: string, collection: string, indexName?: string, options?: Document, dbOptions?: DbOptions): Promise<Document[]> {
    const target = this.#db(database, dbOptions).collection(collection);
    return (indexName === undefined ? target.listSearchIndexes(options) : target.listSearchIndexes(indexName, options)).toArray();
  }

  // Writable

  runCommand(db: string, spec: Document, options: RunCommandOptions, dbOptions?: DbOptions): Promise<Document> {
    return this.#db(db, dbOptions).command(spec, this.#options(options));
  }

  /** The driver already throws on `ok: 0`; mongosh's check is the same call. */
  runCommandWithCheck(db: string, spec: Document, options: RunCommandOptions, dbOptions?: DbOptions): Promise<Document> {
    return this.runCommand(db, spec, options, dbOptions);
  }

  runCursorCommand(db: string, spec: Document, options: RunCursorCommandOptions, dbOptions?: DbOptions): RunCommandCursor {
    return this.#track(this.#db(db, dbOptions).runCursorCommand(spec, this.#options(options)));
  }

  async dropDatabase(database: string, options: DropDatabaseOptions, dbOptions?: DbOptions): Promise<Document> {
    const dropped = await this.#db(database, dbOptions).dropDatabase(this.#options(options));
    return dropped ? { ok: 1, dropped: database } : { ok: 0 };
  }

  bulkWrite(database: string, collection: string, requests: AnyBulkWriteOperation[], options: BulkWriteOptions, dbOptions?: DbOptions): Promise<BulkWriteResult> {
    return this.#db(database, dbOptions).collection(collection).bulkWrite(requests, this.#options(options));
  }

  clientBulkWrite(models: AnyClientBulkWriteModel<Document>[], options: ClientBulkWriteOptions): Promise<ClientBulkWriteResult> {
    return this.#client.bulkWrite(models, this.#options(options));
  }

  deleteMany(database: string, collection: string, filter: Document, options: DeleteOptions, dbOptions?: DbOptions): Promise<DeleteResult> {
    return this.#db(database, dbOptions).collection(collection).deleteMany(filter, this.#options(options));
  }

  deleteOne(database: string, collection: string, filter: Document, options: DeleteOptions, dbOptions?: DbOptions): Promise<DeleteResult> {
    return this.#db(database, dbOptions).collection(collection).deleteOne(filter, this.#options(options));
  }

  // The shell reads `.value` of findAndModify's whole result (ModifyResult), hence includeResultMetadata.
  findOneAndDelete(database: string, collection: string, filter: Document, options: FindOneAndDeleteOptions, dbOptions?: DbOptions): Promise<Document | null> {
    return this.#db(database, dbOptions)
      .collection(collection)
      .findOneAndDelete(filter, { ...this.#options(options), includeResultMetadata: true });
  }

  findOneAndReplace(database: string, collection: string, filter: Document, replacement: Document, options: FindOneAndReplaceOptions, dbOptions?: DbOptions): Promise<Document> {
    return this.#db(database, dbOptions)
      .collection(collection)
      .findOneAndReplace(filter, replacement, { ...this.#options(options), includeResultMetadata: true });
  }

  findOneAndUpdate(database: string, collection: string, filter: Document, update: Document | Document[], options: FindOneAndUpdateOptions, dbOptions?: DbOptions): Promise<Document> {
    return this.#db(database, dbOptions)
      .collection(collection)
      .findOneAndUpdate(filter, update, { ...this.#options(options), includeResultMetadata: true });
  }

  insertMany(database: string, collection: string, docs: Document[], options: BulkWriteOptions, dbOptions?: DbOptions): Promise<InsertManyResult> {
    return this.#db(database, dbOptions).collection(collection).insertMany(docs, this.#options(options));
  }

  insertOne(database: string, collection: string, doc: Document, options: InsertOneOptions, dbOptions?: DbOptions): Promise<InsertOneResult> {
    return this.#db(database, dbOptions).collection(collection).insertOne(doc, this.#options(options));
  }

  replaceOne(database: string, collection: string, filter: Document, replacement: Document, options?: ReplaceOptions, dbOptions?: DbOptions): Promise<UpdateResult> {
    return this.#db(database, dbOptions).collection(collection).replaceOne(filter, replacement, this.#options(options));
  }

  updateMany(database: string, collection: string, filter: Document, update: Document, options?: UpdateOptions, dbOptions?: DbOptions): Promise<UpdateResult> {
    return this.#db(database, dbOptions).collection(collection).updateMany(filter, update, this.#options(options));
  }

  updateOne(database: string, collection: string, filter: Document, update: Document, options?: UpdateOptions & { sort?: Document }, dbOptions?: DbOptions): Promise<UpdateResult> {
    return this.#db(database, dbOptions).collection(collection).updateOne(filter, update, this.#options(options));
  }

  createIndexes(database: string, collection: string, indexSpecs: Document[], options?: CreateIndexesOptions, dbOptions?: DbOptions): Promise<string[]> {
    return this.#db(database, dbOptions)
      .collection(collection)
      .createIndexes(indexSpecs as Parameters<Collection['createIndexes']>[0], this.#options(options));
  }

  dropCollection(database: string, collection: string, options: DropCollectionOptions, dbOptions?: DbOptions): Promise<boolean> {
    return this.#db(database, dbOptions).collection(collection).drop(this.#options(options));
  }

  renameCollection(database: string, oldName: string, newName: string, options?: RenameOptions, dbOptions?: DbOptions): Promise<Collection> {
    return this.#db(database, dbOptions).renameCollection(oldName, newName, this.#options(options));
  }

  async initializeBulkOp(dbName: string, collName: string, ordered: boolean, options?: BulkWriteOptions, dbOptions?: DbOptions): Promise<OrderedBulkOperation | UnorderedBulkOperation> {
    const target = this.#db(dbName, dbOptions).collection(collName);
    return ordered ? target.initializeOrderedBulkOp(this.#options(options)) : target.initializeUnorderedBulkOp(this.#options(options));
  }

  createSearchIndexes(database: string, collection: string, descriptions: SearchIndexDescription[], dbOptions?: DbOptions): Promise<string[]> {
    return this.#db(database, dbOptions).collection(collection).createSearchIndexes(descriptions);
  }

  dropSearchIndex(database: string, collection: string, index: string, dbOptions?: DbOptions): Promise<void> {
    return this.#db(database, dbOptions).collection(collection).dropSearchIndex(index);
  }

  updateSearchIndex(database: string, collection: string, index: string, definition: Document, dbOptions?: DbOptions): Promise<void> {
    return this.#db(database, dbOptions).collection(collection).updateSearchIndex(index, definition);
  }

  // Closable: the client is delta's, so the shell's close() leaves it open (dispose() cleans up).

  close(): Promise<void> {
    return Promise.resolve();
  }

  suspend(): Promise<() => Promise<void>> {
    return Promise.reject(unsupported('Suspending the connection', 'the connection is the one delta runs the change on'));
  }

  // Admin

  listDatabases(database: string, options?: ListDatabasesOptions): Promise<Document> {
    return this.#db(database).admin().listDatabases(this.#catalogOptions(options));
  }

  getNewConnection(): Promise<ServiceProvider> {
    return Promise.reject(unsupported('Opening another connection (new Mongo(), connect())', 'a change runs on the connection delta opened for it; use db.getSiblingDB(name) for another database'));
  }

  getURI(): undefined {
    // Never the real URI: the script has no use for the credentials in it.
    return undefined;
  }

  /** Server facts the shell asks for now and then (buildInfo), read once, outside any transaction. */
  getConnectionInfo(): Promise<ConnectionInfo> {
    this.#connectionInfo ??= this.#client
      .db('admin')
      .command({ buildInfo: 1 })
      .catch(() => null)
      .then((buildInfo) => ({ buildInfo, extraInfo: null }));
    return this.#connectionInfo;
  }

  authenticate(): Promise<{ ok: number }> {
    return Promise.reject(unsupported('db.auth()', 'delta connects with the configured credentials'));
  }

  async createCollection(dbName: string, collName: string, options: CreateCollectionOptions, dbOptions?: DbOptions): Promise<{ ok: number }> {
    await this.#db(dbName, dbOptions).createCollection(collName, this.#options(options));
    return { ok: 1 };
  }

  getReadPreference(): ReadPreferenceType {
    return this.#client.readPreference;
  }

  getReadConcern(): ReadConcern | undefined {
    return this.#client.readConcern;
  }

  getWriteConcern(): WriteConcern | undefined {
    return this.#client.writeConcern;
  }

  resetConnectionOptions(_options: MongoClientOptions): Promise<void> {
    return Promise.reject(
      unsupported('Changing the connection options (setReadPref, setReadConcern, setWriteConcern on the connection)', 'pass readPreference, readConcern or writeConcern to the operation instead'),
    );
  }

  /** A session of the script's own, only where delta's transaction is not running: it could not join it. */
  startSession(options: ClientSessionOptions): ClientSession {
    if (this.#session !== undefined) {
      throw unsupported("Starting a session inside the change's transaction", "the script already runs in delta's transaction; declare // delta:transaction=never to manage sessions yourself");
    }
    const session = this.#client.startSession(options);
    this.#sessions.add(session);
    return session;
  }

  getRawClient(): MongoClient {
    return this.#client;
  }
}
