// insert, update, delete, find, getMore, killCursors, findAndModify, count, distinct.
import { Long } from 'bson';
import type { Document } from 'bson';
import { collatorFor, compareBson } from '../bson-order.js';
import { isPlainObject, valueKey } from '../bson-values.js';
import { DEFAULT_BATCH_SIZE } from '../cursors.js';
import { CommandError, ERROR_CODES, unknownFieldError } from '../errors.js';
import { runFind, validateProjection, validateSort } from '../find-engine.js';
import { compileFilter } from '../query-engine.js';
import { executeDelete, executeFindAndModify, executeUpdate, forEachSliced, insertDocument } from '../write-operations.js';
import { executePlan } from '../plan-executor.js';
import { planQuery } from '../query-planner.js';
import { TimeSlice } from '../time-slice.js';
import {
  assertTextIndex,
  collectionNameArgument,
  evaluationOptions,
  nonNegativeInteger,
  optionalArray,
  optionalBoolean,
  optionalDocument,
  optionalNumber,
  readViewOf,
  openCursorReply,
} from './command-context.js';
import type { CommandContext, CommandSpec } from './command-context.js';
import type { Collection } from '../collection.js';

const UPDATE_STATEMENT_FIELDS = new Set(['q', 'u', 'c', 'upsert', 'multi', 'arrayFilters', 'hint', 'collation', 'sort', 'upsertSupplied']);
const DELETE_STATEMENT_FIELDS = new Set(['q', 'limit', 'hint', 'collation']);

/** Turns a statement failure into a writeErrors entry, or rethrows it when the batch must fail as a whole. */
function asWriteError(error: unknown, index: number, context: CommandContext): Document {
  // Inside a transaction mongod fails the whole command on the first write error (and aborts).
  if (context.txn !== undefined || !(error instanceof CommandError)) throw error;
  // Interruptions (maxTimeMS) have always failed the whole batch rather than one statement.
  if (error.code === ERROR_CODES.MaxTimeMSExpired) throw error;
  return error.toWriteError(index);
}

function writeReply(base: Document, writeErrors: Document[]): Document {
  if (writeErrors.length > 0) base.writeErrors = writeErrors;
  base.ok = 1;
  return base;
}

/** Validates `hint` against the collection's indexes, as the query planner does (code 2). */
export function checkHint(collection: Collection | undefined, hint: unknown): void {
  if (hint === undefined || hint === null || collection === undefined) return;
  if (typeof hint === 'string') {
    if (collection.indexSpecs().some((spec) => spec.name === hint)) return;
  } else if (isPlainObject(hint)) {
    if (Object.keys(hint).length === 0) return;
    if (Object.prototype.hasOwnProperty.call(hint, '$natural')) return;
    const key = valueKey(hint);
    if (collection.indexSpecs().some((spec) => valueKey(spec.key) === key)) return;
  } else {
    throw new CommandError('FailedToParse', 'hint must be either a string or an object');
  }
  throw new CommandError('BadValue', 'error processing query: planner returned error :: caused by :: hint provided does not correspond to an existing index');
}

async function insertCommand(command: Document, context: CommandContext): Promise<Document> {
  const name = collectionNameArgument(command, 'insert', context.db);
  const documents = optionalArray(command, 'insert', 'documents');
  if (documents === undefined) throw new CommandError('Location40414', "BSON field 'insert.documents' is missing but a required field");
  if (documents.length === 0) throw new CommandError('InvalidLength', 'Write batch sizes must be between 1 and 100000. Got 0 operations.');
  if (documents.length > 100_000) {
    throw new CommandError('InvalidLength', `Write batch sizes must be between 1 and 100000. Got ${documents.length} operations.`);
  }
  for (const document of documents) {
    if (!isPlainObject(document)) throw new CommandError('TypeMismatch', "BSON field 'insert.documents' is the wrong type, expected type 'object'");
  }
  const ordered = optionalBoolean(command, 'insert', 'ordered') ?? true;
  const bypass = optionalBoolean(command, 'insert', 'bypassDocumentValidation') ?? false;
  const writeErrors: Document[] = [];
  let n = 0;
  for (let index = 0; index < documents.length; index++) {
    try {
      await insertDocument(context, name, documents[index], bypass);
      n++;
    } catch (error) {
      writeErrors.push(asWriteError(error, index, context));
      if (ordered) break;
    }
  }
  context.state.counters.opcounters.insert += n;
  return writeReply({ n }, writeErrors);
}

async function updateCommand(command: Document, context: CommandContext): Promise<Document> {
  const name = collectionNameArgument(command, 'update', context.db);
  const updates = optionalArray(command, 'update', 'updates');
  if (updates === undefined) throw new CommandError('Location40414', "BSON field 'update.updates' is missing but a required field");
  if (updates.length === 0) throw new CommandError('InvalidLength', 'Write batch sizes must be between 1 and 100000. Got 0 operations.');
  const ordered = optionalBoolean(command, 'update', 'ordered') ?? true;
  const bypass = optionalBoolean(command, 'update', 'bypassDocumentValidation') ?? false;
  const letVariables = optionalDocument(command, 'update', 'let');
  const writeErrors: Document[] = [];
  const upserted: Document[] = [];
  let n = 0;
  let nModified = 0;
  // The statements are parsed before anything runs: a malformed one fails the whole command.
  const statements = updates.map((statement) => {
    if (!isPlainObject(statement)) throw new CommandError('TypeMismatch', "BSON field 'update.updates' is the wrong type, expected type 'object'");
    for (const field of Object.keys(statement)) {
      if (!UPDATE_STATEMENT_FIELDS.has(field)) throw unknownFieldError('update.updates', field);
    }
    if (statement.q === undefined) throw new CommandError('Location40414', "BSON field 'update.updates.q' is missing but a required field");
    if (statement.u === undefined) throw new CommandError('Location40414', "BSON field 'update.updates.u' is missing but a required field");
    return statement;
  });
  for (let index = 0; index < statements.length; index++) {
    const statement = statements[index] as Document;
    try {
      const outcome = await executeUpdate(context, name, {
        q: statement.q,
        u: statement.u,
        multi: statement.multi === true,
        upsert: statement.upsert === true,
        arrayFilters: statement.arrayFilters as Document[] | undefined,
        collation: statement.collation as Document | undefined,
        sort: statement.sort,
        let: { ...letVariables, ...(isPlainObject(statement.c) ? statement.c : {}) },
        bypassValidation: bypass,
      });
      n += outcome.n;
      nModified += outcome.nModified;
      if (outcome.upsertedId !== undefined) upserted.push({ index, _id: outcome.upsertedId });
    } catch (error) {
      writeErrors.push(asWriteError(error, index, context));
      if (ordered) break;
    }
  }
  context.state.counters.opcounters.update += updates.length;
  const reply: Document = { n, nModified };
  if (upserted.length > 0) reply.upserted = upserted;
  return writeReply(reply, writeErrors);
}

async function deleteCommand(command: Document, context: CommandContext): Promise<Document> {
  const name = collectionNameArgument(command, 'delete', context.db);
  const deletes = optionalArray(command, 'delete', 'deletes');
  if (deletes === undefined) throw new CommandError('Location40414', "BSON field 'delete.deletes' is missing but a required field");
  if (deletes.length === 0) throw new CommandError('InvalidLength', 'Write batch sizes must be between 1 and 100000. Got 0 operations.');
  const ordered = optionalBoolean(command, 'delete', 'ordered') ?? true;
  const letVariables = optionalDocument(command, 'delete', 'let');
  const writeErrors: Document[] = [];
  let n = 0;
  // The statements are parsed before anything runs: a malformed one fails the whole command.
  const statements = deletes.map((statement) => {
    if (!isPlainObject(statement)) throw new CommandError('TypeMismatch', "BSON field 'delete.deletes' is the wrong type, expected type 'object'");
    for (const field of Object.keys(statement)) {
      if (!DELETE_STATEMENT_FIELDS.has(field)) throw unknownFieldError('delete.deletes', field);
    }
    if (statement.q === undefined) throw new CommandError('Location40414', "BSON field 'delete.deletes.q' is missing but a required field");
    const limit = optionalNumber(statement, 'delete.deletes', 'limit');
    if (limit === undefined) throw new CommandError('Location40414', "BSON field 'delete.deletes.limit' is missing but a required field");
    if (limit !== 0 && limit !== 1) throw new CommandError('FailedToParse', `The limit field in delete objects must be 0 or 1. Got ${limit}`);
    return { statement, limit };
  });
  for (let index = 0; index < statements.length; index++) {
    const { statement, limit } = statements[index] as { statement: Document; limit: number };
    try {
      const collection = context.state.storage.getCollection(context.db, name);
      checkHint(collection, statement.hint);
      n += await executeDelete(context, name, { q: statement.q, limit, collation: statement.collation as Document | undefined, let: letVariables });
    } catch (error) {
      writeErrors.push(asWriteError(error, index, context));
      if (ordered) break;
    }
  }
  context.state.counters.opcounters.delete += deletes.length;
  return writeReply({ n }, writeErrors);
}

async function findCommand(command: Document, context: CommandContext): Promise<Document> {
  const name = collectionNameArgument(command, 'find', context.db);
  const filterDocument = optionalDocument(command, 'find', 'filter') ?? {};
  const projection = validateProjection(optionalDocument(command, 'find', 'projection'));
  const sort = validateSort(optionalDocument(command, 'find', 'sort'));
  const skip = nonNegativeInteger(command, 'find', 'skip');
  const limit = nonNegativeInteger(command, 'find', 'limit');
  const batchSize = nonNegativeInteger(command, 'find', 'batchSize');
  const singleBatch = optionalBoolean(command, 'find', 'singleBatch') ?? false;
  const collation = optionalDocument(command, 'find', 'collation');
  const letVariables = optionalDocument(command, 'find', 'let');
  if (command.tailable === true) throw new CommandError('BadValue', 'error processing query: tailable cursor requested on non capped collection');
  for (const unsupported of ['min', 'max', 'returnKey', 'showRecordId'] as const) {
    if (command[unsupported] !== undefined && command[unsupported] !== false) {
      throw new CommandError('NotImplemented', `find option '${unsupported}' is not supported by the delta sandbox`);
    }
  }
  const namespace = `${context.db}.${name}`;
  context.state.counters.opcounters.query += 1;
  const collection = context.state.storage.getCollection(context.db, name);
  assertTextIndex(collection, filterDocument);
  const evaluation = evaluationOptions(context, { let: letVariables, collation });
  const filter = compileFilter(filterDocument, letVariables === undefined && collation === undefined ? undefined : evaluation);
  if (collection === undefined) {
    return { cursor: { firstBatch: [], id: Long.ZERO, ns: namespace }, ok: 1 };
  }
  checkHint(collection, command.hint);
  const plan = planQuery(collection, { filter: filterDocument, sort, limit: limit === undefined || limit === 0 ? undefined : limit + (skip ?? 0), hint: command.hint, collation });
  const documents = executePlan(collection, plan, filter, readViewOf(context), new TimeSlice());
  const stream = runFind(documents, filter, { projection, sort, skip, limit, prefiltered: true, presorted: plan.kind === 'ixscan' && plan.providesSort }, evaluation);
  // With a limit, mongod's first batch never exceeds it and the cursor closes once it is reached.
  const firstBatchSize = limit !== undefined && limit > 0 ? Math.min(limit, batchSize ?? DEFAULT_BATCH_SIZE) : (batchSize ?? DEFAULT_BATCH_SIZE);
  return openCursorReply(context, namespace, stream, { batchSize: firstBatchSize, singleBatch: singleBatch || (limit !== undefined && limit > 0 && limit <= firstBatchSize) });
}

async function getMoreCommand(command: Document, context: CommandContext): Promise<Document> {
  const raw = command.getMore;
  const id = typeof raw === 'number' ? raw : (raw as { _bsontype?: string } | null)?._bsontype === 'Long' ? Number(raw) : undefined;
  if (id === undefined) throw new CommandError('TypeMismatch', "BSON field 'getMore.getMore' is the wrong type, expected type 'long'");
  const collection = command.collection;
  if (typeof collection !== 'string') {
    throw new CommandError('TypeMismatch', "BSON field 'getMore.collection' is the wrong type, expected type 'string'");
  }
  const batchSize = nonNegativeInteger(command, 'getMore', 'batchSize') ?? 0;
  context.state.counters.opcounters.getmore += 1;
  const cursor = await context.state.cursors.getMore(id, `${context.db}.${collection}`, batchSize);
  return { cursor, ok: 1 };
}

function killCursorsCommand(command: Document, context: CommandContext): Document {
  collectionNameArgument(command, 'killCursors', context.db);
  const ids = optionalArray(command, 'killCursors', 'cursors');
  if (ids === undefined) throw new CommandError('Location40414', "BSON field 'killCursors.cursors' is missing but a required field");
  const killed: Long[] = [];
  const notFound: Long[] = [];
  for (const raw of ids) {
    const id = Number(raw);
    (context.state.cursors.kill(id) ? killed : notFound).push(Long.fromNumber(id));
  }
  return { cursorsKilled: killed, cursorsNotFound: notFound, cursorsAlive: [], cursorsUnknown: [], ok: 1 };
}

async function findAndModifyCommand(command: Document, context: CommandContext): Promise<Document> {
  const commandName = context.name;
  const name = collectionNameArgument(command, commandName, context.db);
  const remove = optionalBoolean(command, commandName, 'remove') ?? false;
  const update = command.update;
  const collection = context.state.storage.getCollection(context.db, name);
  checkHint(collection, command.hint);
  const outcome = await executeFindAndModify(context, name, {
    query: optionalDocument(command, commandName, 'query') ?? {},
    sort: optionalDocument(command, commandName, 'sort'),
    remove,
    update,
    returnNew: optionalBoolean(command, commandName, 'new') ?? false,
    fields: optionalDocument(command, commandName, 'fields'),
    upsert: optionalBoolean(command, commandName, 'upsert') ?? false,
    arrayFilters: command.arrayFilters,
    bypassValidation: optionalBoolean(command, commandName, 'bypassDocumentValidation') ?? false,
    collation: optionalDocument(command, commandName, 'collation'),
    let: optionalDocument(command, commandName, 'let'),
  });
  context.state.counters.opcounters[remove ? 'delete' : 'update'] += 1;
  return { lastErrorObject: outcome.lastErrorObject, value: outcome.value, ok: 1 };
}

async function countCommand(command: Document, context: CommandContext): Promise<Document> {
  const name = collectionNameArgument(command, 'count', context.db);
  const query = optionalDocument(command, 'count', 'query') ?? {};
  const skip = nonNegativeInteger(command, 'count', 'skip') ?? 0;
  const rawLimit = optionalNumber(command, 'count', 'limit') ?? 0;
  const limit = Math.abs(rawLimit);
  const collection = context.state.storage.getCollection(context.db, name);
  context.state.counters.opcounters.command += 1;
  if (collection === undefined) return { n: 0, ok: 1 };
  checkHint(collection, command.hint);
  assertTextIndex(collection, query);
  const view = readViewOf(context);
  const collation = optionalDocument(command, 'count', 'collation');
  const filter = compileFilter(query, collation === undefined ? undefined : evaluationOptions(context, { collation }));
  let n: number;
  if (Object.keys(query).length === 0) {
    n = collection.count(view);
  } else {
    n = 0;
    const plan = planQuery(collection, { filter: query, hint: command.hint, collation });
    await forEachSliced(context, collection, plan, filter, () => {
      n++;
    });
  }
  n = Math.max(0, n - skip);
  if (limit > 0) n = Math.min(n, limit);
  return { n, ok: 1 };
}

/** Values at a dotted path with arrays expanded, as distinct and multikey indexes see them. */
function valuesAtPath(value: unknown, parts: readonly string[], index: number, out: unknown[]): void {
  if (index === parts.length) {
    if (Array.isArray(value)) for (const item of value) out.push(item);
    else if (value !== undefined) out.push(value);
    return;
  }
  if (Array.isArray(value)) {
    const part = parts[index] as string;
    if (/^\d+$/.test(part) && Number(part) < value.length) valuesAtPath(value[Number(part)], parts, index + 1, out);
    for (const item of value) if (isPlainObject(item)) valuesAtPath(item, parts, index, out);
    return;
  }
  if (isPlainObject(value)) valuesAtPath(value[parts[index] as string], parts, index + 1, out);
}

async function distinctCommand(command: Document, context: CommandContext): Promise<Document> {
  const name = collectionNameArgument(command, 'distinct', context.db);
  const key = command.key;
  if (typeof key !== 'string') throw new CommandError('TypeMismatch', "BSON field 'distinct.key' is the wrong type, expected type 'string'");
  if (key === '') throw new CommandError('BadValue', 'FieldPath cannot be constructed with empty string');
  const query = optionalDocument(command, 'distinct', 'query') ?? {};
  const collection = context.state.storage.getCollection(context.db, name);
  context.state.counters.opcounters.command += 1;
  if (collection === undefined) return { values: [], ok: 1 };
  checkHint(collection, command.hint);
  assertTextIndex(collection, query);
  const filter = compileFilter(query);
  const seen = new Map<string, unknown>();
  const parts = key.split('.');
  const plan = planQuery(collection, { filter: query, hint: command.hint, collation: command.collation });
  await forEachSliced(context, collection, plan, filter, (document) => {
    const values: unknown[] = [];
    valuesAtPath(document, parts, 0, values);
    for (const value of values) {
      const k = valueKey(value);
      if (!seen.has(k)) seen.set(k, value);
    }
  });
  // mongod collects distinct values in a BSON-ordered set, so they come back sorted.
  const collator = collatorFor(command.collation);
  const values = [...seen.values()].sort((a, b) => compareBson(a, b, collator));
  return { values, ok: 1 };
}

export const CRUD_COMMANDS: Record<string, CommandSpec> = {
  insert: { handler: insertCommand, fields: ['insert', 'documents', 'ordered', 'bypassDocumentValidation'], inTransaction: true, retryableWrite: true },
  update: { handler: updateCommand, fields: ['update', 'updates', 'ordered', 'bypassDocumentValidation', 'let'], inTransaction: true, retryableWrite: true },
  delete: { handler: deleteCommand, fields: ['delete', 'deletes', 'ordered', 'let'], inTransaction: true, retryableWrite: true },
  find: {
    handler: findCommand,
    fields: [
      'find',
      'filter',
      'projection',
      'sort',
      'skip',
      'limit',
      'batchSize',
      'singleBatch',
      'hint',
      'collation',
      'min',
      'max',
      'returnKey',
      'showRecordId',
      'tailable',
      'oplogReplay',
      'noCursorTimeout',
      'awaitData',
      'allowPartialResults',
      'let',
      'allowDiskUse',
      'readOnce',
      'term',
      'ntoreturn',
      'rawData',
      'includeQueryStatsMetrics',
    ],
    inTransaction: true,
  },
  getMore: { handler: getMoreCommand, fields: ['getMore', 'collection', 'batchSize', 'term', 'lastKnownCommittedOpTime', 'includeQueryStatsMetrics'], inTransaction: true },
  killCursors: { handler: killCursorsCommand, fields: ['killCursors', 'cursors'], inTransaction: true },
  findAndModify: {
    handler: findAndModifyCommand,
    fields: ['findAndModify', 'query', 'sort', 'remove', 'update', 'new', 'fields', 'upsert', 'bypassDocumentValidation', 'arrayFilters', 'hint', 'collation', 'let'],
    inTransaction: true,
    retryableWrite: true,
  },
  findandmodify: {
    handler: findAndModifyCommand,
    fields: ['findandmodify', 'query', 'sort', 'remove', 'update', 'new', 'fields', 'upsert', 'bypassDocumentValidation', 'arrayFilters', 'hint', 'collation', 'let'],
    inTransaction: true,
    retryableWrite: true,
  },
  count: { handler: countCommand, fields: ['count', 'query', 'limit', 'skip', 'hint', 'collation', 'fields'] },
  distinct: { handler: distinctCommand, fields: ['distinct', 'key', 'query', 'collation', 'hint'], inTransaction: true },
};
