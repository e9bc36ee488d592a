// Databases and collections: listDatabases, listCollections, create, drop, dropDatabase,
// renameCollection, collMod, dbStats, collStats, validate.
import type { Document } from 'bson';
import { approximateSize, isPlainObject, renderValue, valueKey } from '../bson-values.js';
import type { Collection } from '../collection.js';
import { LockWait } from '../doc-versions.js';
import { CommandError, unknownFieldError } from '../errors.js';
import { DocumentValidator, VALIDATION_ACTIONS as ACTIONS, VALIDATION_LEVELS as LEVELS } from '../document-validator.js';
import { compileFilter } from '../query-engine.js';
import { validateCollectionName, validateDatabaseName } from '../storage.js';
import { withLockRetry } from '../write-operations.js';
import { collectionNameArgument, optionalBoolean, optionalDocument, openCursorReply } from './command-context.js';
import type { CommandContext, CommandSpec } from './command-context.js';

/** Databases a replica-set member always has, as listDatabases shows them. */
const SYSTEM_DATABASES = ['admin', 'config', 'local'];

const VALIDATION_LEVELS: ReadonlySet<string> = new Set(LEVELS);
const VALIDATION_ACTIONS: ReadonlySet<string> = new Set(ACTIONS);

const CREATE_OPTION_FIELDS = new Set([
  'create',
  'capped',
  'size',
  'max',
  'validator',
  'validationLevel',
  'validationAction',
  'collation',
  'viewOn',
  'pipeline',
  'timeseries',
  'clusteredIndex',
  'changeStreamPreAndPostImages',
  'expireAfterSeconds',
  'storageEngine',
  'indexOptionDefaults',
  'idIndex',
  'encryptedFields',
  'autoIndexId',
  'flags',
  'temp',
  'recordIdsReplicated',
]);

/** mongod stores a collation with every default spelled out. */
export function normalizeCollation(collation: unknown): Document | undefined {
  if (collation === undefined) return undefined;
  if (!isPlainObject(collation)) throw new CommandError('TypeMismatch', "BSON field 'collation' is the wrong type, expected type 'object'");
  if (typeof collation.locale !== 'string') throw new CommandError('FailedToParse', "Missing required field 'locale'");
  if (collation.locale === 'simple') return undefined;
  return {
    locale: collation.locale,
    caseLevel: collation.caseLevel ?? false,
    caseFirst: collation.caseFirst ?? 'off',
    strength: collation.strength ?? 3,
    numericOrdering: collation.numericOrdering ?? false,
    alternate: collation.alternate ?? 'non-ignorable',
    maxVariable: collation.maxVariable ?? 'punct',
    normalization: collation.normalization ?? false,
    backwards: collation.backwards ?? false,
    version: '57.1',
  };
}

/** Validates validator/validationLevel/validationAction the way create and collMod do. */
function validatorOptions(command: Document, target: Document): void {
  if (command.validator !== undefined) {
    if (!isPlainObject(command.validator)) throw new CommandError('TypeMismatch', "BSON field 'validator' is the wrong type, expected type 'object'");
    for (const key of ['$near', '$nearSphere', '$text', '$where'] as const) {
      if (key in command.validator) throw new CommandError('QueryFeatureNotAllowed', `${key} is not allowed in collection validators`);
    }
    // Compiled as the collection will compile it, so that a bad one is refused here.
    DocumentValidator.of({ validator: command.validator });
    target.validator = command.validator;
  }
  if (command.validationLevel !== undefined) {
    if (typeof command.validationLevel !== 'string' || !VALIDATION_LEVELS.has(command.validationLevel)) {
      throw new CommandError('BadValue', `Enumeration value '${String(command.validationLevel)}' for field 'validationLevel' is not a valid value.`);
    }
    target.validationLevel = command.validationLevel;
  }
  if (command.validationAction !== undefined) {
    if (typeof command.validationAction !== 'string' || !VALIDATION_ACTIONS.has(command.validationAction)) {
      throw new CommandError('BadValue', `Enumeration value '${String(command.validationAction)}' for field 'validationAction' is not a valid value.`);
    }
    target.validationAction = command.validationAction;
  }
}

function sortedKeys(document: Document): Document {
  const out: Document = {};
  for (const key of Object.keys(document).sort()) out[key] = document[key];
  return out;
}

/** Waits until no open transaction holds uncommitted writes in `collection` (DDL needs its exclusive lock). */
export async function waitForExclusive(context: CommandContext, collection: Collection): Promise<void> {
  await withLockRetry(context, () => {
    const owners = collection.lockingTransactions().filter((owner) => owner !== context.txn);
    if (owners[0] !== undefined) throw new LockWait(owners[0]);
  });
}

function listDatabases(command: Document, context: CommandContext): Document {
  const nameOnly = optionalBoolean(command, 'listDatabases', 'nameOnly') ?? false;
  const filterDocument = optionalDocument(command, 'listDatabases', 'filter');
  const filter = filterDocument === undefined ? undefined : compileFilter(filterDocument);
  const { storage } = context.state;
  const names = new Set([...SYSTEM_DATABASES, ...storage.databases.keys()]);
  let totalSize = 0;
  const databases: Document[] = [];
  for (const name of [...names].sort()) {
    const collections = storage.collectionsOf(name);
    let sizeOnDisk = 4096;
    for (const collection of collections) sizeOnDisk += 4096 * (1 + collection.indexes.length) + collection.liveCount * 64;
    const entry: Document = nameOnly ? { name } : { name, sizeOnDisk, empty: false };
    if (filter !== undefined && !filter.test({ name, sizeOnDisk, empty: false })) continue;
    totalSize += sizeOnDisk;
    databases.push(entry);
  }
  const reply: Document = { databases };
  if (!nameOnly) {
    reply.totalSize = totalSize;
    reply.totalSizeMb = Math.floor(totalSize / 1048576);
  }
  reply.ok = 1;
  return reply;
}

function collectionInfo(collection: Collection, nameOnly: boolean): Document {
  if (nameOnly) return { name: collection.name, type: 'collection' };
  return {
    name: collection.name,
    type: 'collection',
    options: { ...collection.options },
    info: { readOnly: false, uuid: collection.uuid },
    idIndex: { v: 2, key: { _id: 1 }, name: '_id_' },
  };
}

function listCollections(command: Document, context: CommandContext): Document {
  const nameOnly = optionalBoolean(command, 'listCollections', 'nameOnly') ?? false;
  const filterDocument = optionalDocument(command, 'listCollections', 'filter');
  const cursorOptions = optionalDocument(command, 'listCollections', 'cursor');
  const filter = filterDocument === undefined ? undefined : compileFilter(filterDocument);
  const infos: Document[] = [];
  const collections = context.state.storage.collectionsOf(context.db).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const collection of collections) {
    // The filter sees the full document even with nameOnly (mongod only trims the output).
    if (filter !== undefined && !filter.test(collectionInfo(collection, false))) continue;
    infos.push(collectionInfo(collection, nameOnly));
  }
  return cursorReply(context, `${context.db}.$cmd.listCollections`, infos, cursorOptions);
}

/** A cursor reply over an in-memory list (listCollections, listIndexes). */
export function cursorReply(context: CommandContext, namespace: string, documents: Document[], cursorOptions: Document | undefined): Document {
  const batchSize = typeof cursorOptions?.batchSize === 'number' ? cursorOptions.batchSize : 101;
  let index = 0;
  const stream = { next: (): Document | undefined => documents[index++] };
  return openCursorReply(context, namespace, stream, { batchSize, singleBatch: false });
}

function createCommand(command: Document, context: CommandContext): Document {
  const name = collectionNameArgument(command, 'create', context.db);
  for (const field of Object.keys(command)) {
    if (
      !CREATE_OPTION_FIELDS.has(field) &&
      !field.startsWith('$') &&
      !['lsid', 'txnNumber', 'autocommit', 'startTransaction', 'readConcern', 'writeConcern', 'maxTimeMS', 'comment', 'apiVersion', 'apiStrict', 'apiDeprecationErrors'].includes(field)
    ) {
      throw unknownFieldError('create', field);
    }
  }
  if (command.viewOn !== undefined || command.pipeline !== undefined) throw new CommandError('NotImplemented', 'views are not supported by the delta sandbox');
  if (command.timeseries !== undefined) throw new CommandError('NotImplemented', 'time-series collections are not supported by the delta sandbox');
  if (command.capped === true) throw new CommandError('NotImplemented', 'capped collections are not supported by the delta sandbox');
  if (command.clusteredIndex !== undefined) throw new CommandError('NotImplemented', 'clustered collections are not supported by the delta sandbox');
  const { storage } = context.state;
  validateDatabaseName(context.db);
  const options: Document = {};
  validatorOptions(command, options);
  const collation = normalizeCollation(command.collation);
  if (collation !== undefined) options.collation = collation;
  if (command.changeStreamPreAndPostImages !== undefined) options.changeStreamPreAndPostImages = command.changeStreamPreAndPostImages;
  if (command.storageEngine !== undefined) options.storageEngine = command.storageEngine;
  if (command.indexOptionDefaults !== undefined) options.indexOptionDefaults = command.indexOptionDefaults;
  const existing = storage.getCollection(context.db, name);
  if (existing !== undefined) {
    // Since 7.0, creating an existing collection with identical options succeeds and does nothing.
    if (valueKey(sortedKeys(existing.options)) === valueKey(sortedKeys(options))) return { ok: 1 };
    throw new CommandError('NamespaceExists', `namespace ${existing.namespace} already exists, but with different options: ${renderValue({ uuid: existing.uuid, ...existing.options })}`);
  }
  const collection = storage.createCollection(context.db, name, options);
  context.txn?.createdCollections.push(collection);
  context.noteWrite();
  return { ok: 1 };
}

async function dropCommand(command: Document, context: CommandContext): Promise<Document> {
  const name = collectionNameArgument(command, 'drop', context.db);
  const { storage, cursors } = context.state;
  const collection = storage.getCollection(context.db, name);
  // Since 7.0 dropping a collection that does not exist succeeds.
  if (collection === undefined) return { ok: 1 };
  await waitForExclusive(context, collection);
  const current = storage.getCollection(context.db, name);
  if (current === undefined) return { ok: 1 };
  const nIndexesWas = current.indexes.length + 1;
  storage.detach(current);
  cursors.killNamespace(current.namespace);
  context.noteWrite();
  return { nIndexesWas, ns: current.namespace, ok: 1 };
}

async function dropDatabaseCommand(_command: Document, context: CommandContext): Promise<Document> {
  const { storage, cursors } = context.state;
  for (const collection of storage.collectionsOf(context.db)) await waitForExclusive(context, collection);
  const collections = storage.collectionsOf(context.db);
  if (collections.length === 0) return { ok: 1 };
  for (const collection of collections) {
    storage.detach(collection);
    cursors.killNamespace(collection.namespace);
  }
  context.noteWrite();
  return { dropped: context.db, ok: 1 };
}

function splitNamespace(value: unknown, field: string): [string, string] {
  if (typeof value !== 'string') throw new CommandError('TypeMismatch', `BSON field 'renameCollection.${field}' is the wrong type, expected type 'string'`);
  const dot = value.indexOf('.');
  if (dot <= 0 || dot === value.length - 1) throw new CommandError('InvalidNamespace', `Invalid ${field} namespace: ${value}`);
  const database = value.slice(0, dot);
  validateDatabaseName(database);
  return [database, validateCollectionName(database, value.slice(dot + 1))];
}

async function renameCollectionCommand(command: Document, context: CommandContext): Promise<Document> {
  const [sourceDb, sourceName] = splitNamespace(command.renameCollection, 'renameCollection');
  const [targetDb, targetName] = splitNamespace(command.to, 'to');
  const dropTarget = optionalBoolean(command, 'renameCollection', 'dropTarget') ?? false;
  const { storage, cursors } = context.state;
  if (sourceDb === targetDb && sourceName === targetName) {
    throw new CommandError('IllegalOperation', "Can't rename a collection to itself");
  }
  const source = storage.getCollection(sourceDb, sourceName);
  if (source === undefined) throw new CommandError('NamespaceNotFound', `Source collection ${sourceDb}.${sourceName} does not exist`);
  await waitForExclusive(context, source);
  const target = storage.getCollection(targetDb, targetName);
  if (target !== undefined) {
    if (!dropTarget) throw new CommandError('NamespaceExists', 'target namespace exists');
    await waitForExclusive(context, target);
  }
  const liveSource = storage.getCollection(sourceDb, sourceName);
  if (liveSource === undefined) throw new CommandError('NamespaceNotFound', `Source collection ${sourceDb}.${sourceName} does not exist`);
  const liveTarget = storage.getCollection(targetDb, targetName);
  if (liveTarget !== undefined) {
    if (!dropTarget) throw new CommandError('NamespaceExists', 'target namespace exists');
    storage.detach(liveTarget);
    cursors.killNamespace(liveTarget.namespace);
  }
  storage.detach(liveSource);
  cursors.killNamespace(liveSource.namespace);
  liveSource.database = targetDb;
  liveSource.name = targetName;
  storage.attach(liveSource);
  context.noteWrite();
  return { ok: 1 };
}

const COLL_MOD_FIELDS = new Set([
  'collMod',
  'validator',
  'validationLevel',
  'validationAction',
  'index',
  'viewOn',
  'pipeline',
  'expireAfterSeconds',
  'changeStreamPreAndPostImages',
  'cappedSize',
  'cappedMax',
  'timeseries',
  'dryRun',
  'recordIdsReplicated',
]);

async function collModCommand(command: Document, context: CommandContext): Promise<Document> {
  const name = collectionNameArgument(command, 'collMod', context.db);
  for (const field of Object.keys(command)) {
    if (!COLL_MOD_FIELDS.has(field) && !field.startsWith('$') && !['lsid', 'txnNumber', 'writeConcern', 'maxTimeMS', 'comment', 'apiVersion', 'apiStrict', 'apiDeprecationErrors'].includes(field)) {
      throw unknownFieldError('collMod', field);
    }
  }
  const { storage } = context.state;
  const collection = storage.getCollection(context.db, name);
  if (collection === undefined) throw new CommandError('NamespaceNotFound', `ns does not exist: ${context.db}.${name}`);
  if (command.viewOn !== undefined || command.pipeline !== undefined) throw new CommandError('InvalidOptions', `ns ${collection.namespace} is a collection, not a view`);
  await waitForExclusive(context, collection);
  const options: Document = { ...collection.options };
  validatorOptions(command, options);
  if (command.validator !== undefined && Object.keys(command.validator as Document).length === 0) delete options.validator;
  const reply: Document = {};
  if (command.index !== undefined) {
    const spec = optionalDocument(command, 'collMod', 'index') as Document;
    const index = collection.indexes.find((entry) =>
      typeof spec.name === 'string' ? entry.name === spec.name : isPlainObject(spec.keyPattern) && JSON.stringify(entry.key) === JSON.stringify(spec.keyPattern),
    );
    if (index === undefined) throw new CommandError('IndexNotFound', `cannot find index ${JSON.stringify(spec.name ?? spec.keyPattern)} for ns ${collection.namespace}`);
    if (spec.expireAfterSeconds !== undefined) {
      reply.expireAfterSeconds_old = index.spec.expireAfterSeconds;
      reply.expireAfterSeconds_new = spec.expireAfterSeconds;
      index.spec.expireAfterSeconds = spec.expireAfterSeconds;
    }
    if (spec.hidden !== undefined) {
      reply.hidden_old = index.spec.hidden === true;
      reply.hidden_new = spec.hidden === true;
      if (spec.hidden === true) index.spec.hidden = true;
      else delete index.spec.hidden;
    }
  }
  if (command.changeStreamPreAndPostImages !== undefined) options.changeStreamPreAndPostImages = command.changeStreamPreAndPostImages;
  collection.setOptions(options);
  context.noteWrite();
  reply.ok = 1;
  return reply;
}

function collectionSizes(collection: Collection): { count: number; size: number } {
  let size = 0;
  let count = 0;
  for (const document of collection.committedDocuments()) {
    size += approximateSize(document);
    count++;
  }
  return { count, size };
}

function dbStats(command: Document, context: CommandContext): Document {
  const scale = typeof command.scale === 'number' && command.scale > 0 ? command.scale : 1;
  const collections = context.state.storage.collectionsOf(context.db);
  let objects = 0;
  let dataSize = 0;
  let indexes = 0;
  for (const collection of collections) {
    const sizes = collectionSizes(collection);
    objects += sizes.count;
    dataSize += sizes.size;
    indexes += collection.indexes.length + 1;
  }
  return {
    db: context.db,
    collections: collections.length,
    views: 0,
    objects,
    avgObjSize: objects === 0 ? 0 : dataSize / objects,
    dataSize: dataSize / scale,
    storageSize: dataSize / scale,
    indexes,
    indexSize: (indexes * 4096) / scale,
    totalSize: (dataSize + indexes * 4096) / scale,
    scaleFactor: scale,
    fsUsedSize: 0,
    fsTotalSize: 0,
    ok: 1,
  };
}

function collStats(command: Document, context: CommandContext): Document {
  const name = collectionNameArgument(command, 'collStats', context.db);
  const collection = context.state.storage.getCollection(context.db, name);
  if (collection === undefined) throw new CommandError('NamespaceNotFound', `Collection [${context.db}.${name}] not found.`);
  const { count, size } = collectionSizes(collection);
  const indexSizes: Document = {};
  for (const spec of collection.indexSpecs()) indexSizes[spec.name as string] = 4096;
  return {
    ns: collection.namespace,
    size,
    count,
    avgObjSize: count === 0 ? 0 : Math.round(size / count),
    storageSize: size,
    nindexes: collection.indexes.length + 1,
    totalIndexSize: 4096 * (collection.indexes.length + 1),
    indexSizes,
    capped: false,
    ok: 1,
  };
}

function validateCommand(command: Document, context: CommandContext): Document {
  const name = collectionNameArgument(command, 'validate', context.db);
  const collection = context.state.storage.getCollection(context.db, name);
  if (collection === undefined) throw new CommandError('NamespaceNotFound', `Collection '${context.db}.${name}' does not exist to validate.`);
  return { ns: collection.namespace, nrecords: collection.liveCount, nIndexes: collection.indexes.length + 1, valid: true, repaired: false, warnings: [], errors: [], ok: 1 };
}

export const CATALOG_COMMANDS: Record<string, CommandSpec> = {
  listDatabases: { handler: listDatabases, adminOnly: true, fields: ['listDatabases', 'nameOnly', 'filter', 'authorizedDatabases'] },
  listCollections: { handler: listCollections, fields: ['listCollections', 'filter', 'nameOnly', 'authorizedCollections', 'cursor', 'includePendingDrops'] },
  create: { handler: createCommand, inTransaction: true },
  drop: { handler: dropCommand, fields: ['drop'] },
  dropDatabase: { handler: dropDatabaseCommand, fields: ['dropDatabase'] },
  renameCollection: { handler: renameCollectionCommand, adminOnly: true, fields: ['renameCollection', 'to', 'dropTarget', 'stayTemp'] },
  collMod: { handler: collModCommand },
  dbStats: { handler: dbStats, fields: ['dbStats', 'scale', 'freeStorage'] },
  dbstats: { handler: dbStats, fields: ['dbstats', 'scale', 'freeStorage'] },
  collStats: { handler: collStats, fields: ['collStats', 'scale', 'verbose'] },
  validate: { handler: validateCommand, fields: ['validate', 'full', 'repair', 'background', 'metadata', 'checkBSONConformance', 'enforceFastCount', 'fixMultikey'] },
};
