// The write statements shared by insert, update, delete, findAndModify and bulkWrite: each one
// matches, computes and applies synchronously (so it is atomic per document), and waits and
// retries when a non-transactional write meets a document locked by an open transaction.
import { ObjectId } from 'bson';
import type { Document } from 'bson';
import { isPlainObject, valueKey } from './bson-values.js';
import type { Collection, WriteScope } from './collection.js';
import { LockWait } from './doc-versions.js';
import { collectionForWrite, evaluationOptions, readViewOf } from './commands/command-context.js';
import type { CommandContext } from './commands/command-context.js';
import { CommandError } from './errors.js';
import { projectionQuery, projectOne, runFind, validateProjection, validateSort } from './find-engine.js';
import { compileFilter } from './query-engine.js';
import type { CompiledFilter, EvaluationOptions } from './query-engine.js';
import { applyUpdate, checkArrayFilters, parseUpdate } from './update-engine.js';
import { buildUpsertDocument } from './upsert-document.js';
import type { ParsedUpdate } from './update-engine.js';
import { assertStillReadable, executePlan, planDocuments } from './plan-executor.js';
import { planQuery } from './query-planner.js';
import type { QueryPlan } from './query-planner.js';
import { PAUSE, TimeSlice } from './time-slice.js';

/**
 * Runs `attempt` until it does not meet a transaction's lock. mongod makes a non-transactional
 * write that hits a write conflict with an open transaction retry until the transaction commits
 * or aborts (bounded by maxTimeMS); transactions themselves never wait, they get WriteConflict.
 */
export async function withLockRetry<T>(context: CommandContext, attempt: () => T): Promise<T> {
  for (;;) {
    try {
      return attempt();
    } catch (error) {
      if (!(error instanceof LockWait)) throw error;
      const remaining = context.deadline - Date.now();
      if (remaining <= 0) throw new CommandError('MaxTimeMSExpired', 'operation exceeded time limit');
      let timer: NodeJS.Timeout | undefined;
      const timedOut = new Promise<'timeout'>((resolve) => {
        timer = setTimeout(() => resolve('timeout'), remaining);
      });
      const outcome = await Promise.race([error.owner.finished.then(() => 'done' as const), timedOut]);
      clearTimeout(timer);
      if (outcome === 'timeout') throw new CommandError('MaxTimeMSExpired', 'operation exceeded time limit');
    }
  }
}

export function writeScope(context: CommandContext, bypassValidation = false): WriteScope {
  return { txn: context.txn, bypassValidation };
}

function checkFieldNames(document: Document): void {
  for (const key of Object.keys(document)) {
    if (key.startsWith('$')) {
      throw new CommandError('BadValue', `Document can't have $ prefixed field names: ${key}`);
    }
  }
}

/** Validates a document to insert and gives it an `_id` (first), as mongod does. */
export function prepareInsert(raw: unknown): Document {
  if (!isPlainObject(raw)) throw new CommandError('TypeMismatch', 'Each document to insert must be an object');
  checkFieldNames(raw);
  if (!Object.prototype.hasOwnProperty.call(raw, '_id')) return { _id: new ObjectId(), ...raw };
  const id = raw._id;
  if (Array.isArray(id)) throw new CommandError('InvalidIdField', "The '_id' value cannot be of type array");
  if (id instanceof RegExp) throw new CommandError('InvalidIdField', "The '_id' value cannot be of type regex");
  if (id === undefined) throw new CommandError('InvalidIdField', "The '_id' value cannot be of type undefined");
  if (isPlainObject(id)) {
    for (const key of Object.keys(id)) {
      if (key.startsWith('$')) throw new CommandError('DollarPrefixedFieldName', `_id fields may not contain '$'-prefixed fields: ${key} is not valid for storage.`);
    }
  }
  const keys = Object.keys(raw);
  if (keys[0] === '_id') return raw;
  const ordered: Document = { _id: id };
  for (const key of keys) if (key !== '_id') ordered[key] = raw[key];
  return ordered;
}

export async function insertDocument(context: CommandContext, collectionName: string, raw: unknown, bypassValidation = false): Promise<void> {
  const document = prepareInsert(raw);
  await withLockRetry(context, () => {
    const collection = collectionForWrite(context, collectionName);
    collection.insert(document, writeScope(context, bypassValidation));
  });
  context.noteWrite();
}

export interface UpdateStatement {
  readonly q: unknown;
  readonly u: unknown;
  readonly multi?: boolean;
  readonly upsert?: boolean;
  readonly arrayFilters?: Document[];
  readonly collation?: Document;
  readonly sort?: unknown;
  readonly let?: Document;
  readonly bypassValidation?: boolean;
}

export interface UpdateOutcome {
  readonly n: number;
  readonly nModified: number;
  readonly upsertedId?: unknown;
}

function firstMatch(collection: Collection | undefined, filter: CompiledFilter, context: CommandContext, sort: Document | undefined, evaluation: EvaluationOptions): Document | undefined {
  if (collection === undefined) return undefined;
  const plan = planQuery(collection, { filter: filter.filter, sort, limit: 1, collation: evaluation.collation });
  const documents = planDocuments(collection, plan, filter, readViewOf(context));
  const presorted = plan.kind === 'ixscan' && plan.providesSort;
  const stream = runFind(documents, filter, { sort, limit: 1, prefiltered: true, presorted }, sort === undefined ? undefined : evaluation);
  return stream.next();
}

/**
 * Calls `each` for every document the plan finds (until it answers 'stop'), giving the event loop a turn every time slice.
 * After a pause the operation stops if its transaction ended or the collection was dropped.
 */
export async function forEachSliced(context: CommandContext, collection: Collection, plan: QueryPlan, filter: CompiledFilter, each: (document: Document) => 'stop' | void): Promise<void> {
  const slice = new TimeSlice();
  for (const item of executePlan(collection, plan, filter, readViewOf(context), slice)) {
    if (item === PAUSE) {
      await slice.resume();
      assertStillReadable(collection, context.state.storage.getCollection(collection.database, collection.name), context.txn);
      continue;
    }
    if (each(item) === 'stop') return;
  }
}

/** Every match (its `_id` key and the version matched), found first so that documents a write moves are not met twice. */
async function matchingKeys(collection: Collection, filter: CompiledFilter, context: CommandContext, collation: Document | undefined): Promise<Array<[string, Document]>> {
  const matches: Array<[string, Document]> = [];
  const plan = planQuery(collection, { filter: filter.filter, collation });
  await forEachSliced(context, collection, plan, filter, (document) => {
    matches.push([valueKey(document._id), document]);
  });
  return matches;
}

/**
 * Applies `write` to each matched document that still matches, one at a time, yielding between
 * time slices. A document is re-read at its turn and re-matched unless it is still the version
 * matched (versions are immutable): another operation may have changed or deleted it during a
 * yield. A multi-document write is atomic per document, as in mongod.
 */
async function forEachMatchSliced(
  context: CommandContext,
  collection: Collection,
  filter: CompiledFilter,
  matches: ReadonlyArray<[string, Document]>,
  write: (idKey: string, current: Document) => void,
): Promise<void> {
  const slice = new TimeSlice();
  for (const [idKey, matched] of matches) {
    if (slice.expired()) {
      await slice.resume();
      assertStillReadable(collection, context.state.storage.getCollection(collection.database, collection.name), context.txn);
    }
    await withLockRetry(context, () => {
      const current = collection.getByKey(idKey, readViewOf(context));
      if (current === null || (current !== matched && !filter.test(current))) return;
      write(idKey, current);
    });
  }
}

function validateArrayFilters(arrayFilters: unknown): Document[] | undefined {
  if (arrayFilters === undefined || arrayFilters === null) return undefined;
  if (!Array.isArray(arrayFilters)) throw new CommandError('TypeMismatch', "BSON field 'arrayFilters' is the wrong type, expected type 'array'");
  for (const item of arrayFilters) {
    if (!isPlainObject(item)) throw new CommandError('TypeMismatch', 'arrayFilters entries must be objects');
  }
  return arrayFilters as Document[];
}

/** One `updates[]` statement of the update command (also used by bulkWrite). */
export async function executeUpdate(context: CommandContext, collectionName: string, statement: UpdateStatement): Promise<UpdateOutcome> {
  const evaluation = evaluationOptions(context, { let: statement.let, collation: statement.collation });
  const filter = compileFilter(statement.q ?? {}, evaluation);
  const parsed = parseUpdate(statement.u);
  const arrayFilters = validateArrayFilters(statement.arrayFilters);
  checkArrayFilters(parsed, arrayFilters, statement.u);
  const sort = validateSort(statement.sort);
  if (statement.multi === true && parsed.kind === 'replacement') {
    throw new CommandError('FailedToParse', 'multi update is not supported for replacement-style update');
  }
  if (statement.multi === true && sort !== undefined) {
    throw new CommandError('FailedToParse', 'Cannot specify sort with multi=true');
  }
  const updateContext = { query: filter.filter, arrayFilters, evaluation };
  const scope = writeScope(context, statement.bypassValidation);
  const storage = context.state.storage;
  let n = 0;
  let nModified = 0;

  const applyTo = (collection: Collection, current: Document): void => {
    const applied = applyUpdate(current, parsed, updateContext);
    if (applied.changed) {
      collection.replace(valueKey(current._id), current, applied.document, scope);
      nModified++;
      context.noteWrite();
    }
    n++;
  };

  if (statement.multi === true) {
    const collection = storage.getCollection(context.db, collectionName);
    if (collection !== undefined) {
      const matches = await matchingKeys(collection, filter, context, statement.collation);
      await forEachMatchSliced(context, collection, filter, matches, (_idKey, current) => applyTo(collection, current));
    }
  } else {
    const matched = await withLockRetry(context, () => {
      const collection = storage.getCollection(context.db, collectionName);
      const current = firstMatch(collection, filter, context, sort, evaluation);
      if (collection === undefined || current === undefined) return false;
      applyTo(collection, current);
      return true;
    });
    if (matched) return { n, nModified };
  }
  if (n > 0 || statement.upsert !== true) return { n, nModified };
  const upserted = await withLockRetry(context, () => {
    const document = buildUpsertDocument(filter.filter, parsed, updateContext);
    const collection = collectionForWrite(context, collectionName);
    collection.insert(document, scope);
    return document._id;
  });
  context.noteWrite();
  return { n: 1, nModified: 0, upsertedId: upserted };
}

export interface DeleteStatement {
  readonly q: unknown;
  readonly limit: number;
  readonly collation?: Document;
  readonly let?: Document;
}

/** One `deletes[]` statement (limit 0 = all matches, 1 = the first). */
export async function executeDelete(context: CommandContext, collectionName: string, statement: DeleteStatement): Promise<number> {
  const evaluation = evaluationOptions(context, { let: statement.let, collation: statement.collation });
  const filter = compileFilter(statement.q ?? {}, evaluation);
  const collection = context.state.storage.getCollection(context.db, collectionName);
  if (collection === undefined) return 0;
  const scope = writeScope(context);
  if (statement.limit === 1) {
    const removed = await withLockRetry(context, () => {
      const current = firstMatch(collection, filter, context, undefined, evaluation);
      if (current === undefined) return 0;
      collection.remove(valueKey(current._id), scope);
      return 1;
    });
    if (removed > 0) context.noteWrite();
    return removed;
  }
  let n = 0;
  const matches = await matchingKeys(collection, filter, context, statement.collation);
  await forEachMatchSliced(context, collection, filter, matches, (idKey) => {
    collection.remove(idKey, scope);
    n++;
  });
  if (n > 0) context.noteWrite();
  return n;
}

export interface FindAndModifyRequest {
  readonly query: unknown;
  readonly sort: unknown;
  readonly remove: boolean;
  readonly update: unknown;
  readonly returnNew: boolean;
  readonly fields: unknown;
  readonly upsert: boolean;
  readonly arrayFilters: unknown;
  readonly bypassValidation: boolean;
  readonly collation?: Document;
  readonly let?: Document;
}

export interface FindAndModifyOutcome {
  readonly value: Document | null;
  readonly lastErrorObject: Document;
}

/** findAndModify: one document, matched, changed and returned atomically. */
export async function executeFindAndModify(context: CommandContext, collectionName: string, request: FindAndModifyRequest): Promise<FindAndModifyOutcome> {
  const evaluation = evaluationOptions(context, { let: request.let, collation: request.collation });
  const filter = compileFilter(request.query ?? {}, evaluation);
  const sort = validateSort(request.sort);
  const projection = validateProjection(request.fields);
  const arrayFilters = validateArrayFilters(request.arrayFilters);
  if (request.remove && request.update !== undefined) {
    throw new CommandError('FailedToParse', 'Cannot specify both an update and remove=true');
  }
  if (!request.remove && request.update === undefined) {
    throw new CommandError('FailedToParse', 'Either an update or remove=true must be specified');
  }
  if (request.remove && request.upsert) throw new CommandError('FailedToParse', 'Cannot specify both upsert=true and remove=true');
  if (request.remove && request.returnNew) throw new CommandError('FailedToParse', "Cannot specify both new=true and remove=true; 'remove' always returns the deleted document");
  const parsed: ParsedUpdate | undefined = request.remove ? undefined : parseUpdate(request.update);
  if (parsed !== undefined) checkArrayFilters(parsed, arrayFilters, request.update);
  const updateContext = { query: filter.filter, arrayFilters, evaluation };
  const scope = writeScope(context, request.bypassValidation);
  const storage = context.state.storage;
  const shape = (document: Document | null): Document | null => {
    if (document === null || projection === undefined) return document;
    return projectOne(projectionQuery(evaluation), document, projection);
  };

  const outcome = await withLockRetry(context, (): FindAndModifyOutcome | undefined => {
    const collection = storage.getCollection(context.db, collectionName);
    const current = firstMatch(collection, filter, context, sort, evaluation);
    if (collection === undefined || current === undefined) return undefined;
    const idKey = valueKey(current._id);
    if (parsed === undefined) {
      collection.remove(idKey, scope);
      context.noteWrite();
      return { value: shape(current), lastErrorObject: { n: 1 } };
    }
    const applied = applyUpdate(current, parsed, updateContext);
    if (applied.changed) {
      collection.replace(idKey, current, applied.document, scope);
      context.noteWrite();
    }
    return { value: shape(request.returnNew ? applied.document : current), lastErrorObject: { n: 1, updatedExisting: true } };
  });
  if (outcome !== undefined) return outcome;
  if (parsed === undefined || !request.upsert) {
    return { value: null, lastErrorObject: parsed === undefined ? { n: 0 } : { n: 0, updatedExisting: false } };
  }
  const inserted = await withLockRetry(context, () => {
    const document = buildUpsertDocument(filter.filter, parsed, updateContext);
    collectionForWrite(context, collectionName).insert(document, scope);
    return document;
  });
  context.noteWrite();
  return {
    value: request.returnNew ? shape(inserted) : null,
    lastErrorObject: { n: 1, updatedExisting: false, upserted: inserted._id },
  };
}
