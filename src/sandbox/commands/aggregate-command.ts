// aggregate: pipelines run lazily through mingo over the command's read view; $out and $merge
// (final stage) are executed here so that writes go through the sandbox's storage rules.
import { Long, ObjectId } from 'bson';
import type { Document } from 'bson';
import { isPlainObject, valueKey } from '../bson-values.js';
import { Collection } from '../collection.js';
import { CommandError } from '../errors.js';
import { runPipeline, validatePipeline } from '../pipeline-engine.js';
import { compileFilter } from '../query-engine.js';
import type { DocumentStream } from '../find-engine.js';
import type { CompiledFilter } from '../query-engine.js';
import { planDocuments } from '../plan-executor.js';
import { explainPlan } from '../query-explain.js';
import { planQuery } from '../query-planner.js';
import type { QueryPlan } from '../query-planner.js';
import { validateCollectionName, validateDatabaseName } from '../storage.js';
import { applyUpdate, withIdFirst } from '../update-engine.js';
import { forEachSliced, withLockRetry } from '../write-operations.js';
import { waitForExclusive } from './catalog-commands.js';
import { assertTextIndex, collectionForWrite, evaluationOptions, optionalBoolean, optionalDocument, readViewOf, openCursorReply } from './command-context.js';
import type { CommandContext, CommandSpec } from './command-context.js';

// Stages that may start an `{ aggregate: 1 }` (database-level) pipeline.
const DATABASE_LEVEL_STAGES = new Set(['$documents', '$currentOp', '$listLocalSessions', '$changeStream']);

interface OutputTarget {
  readonly db: string;
  readonly coll: string;
}

function outputTarget(value: unknown, defaultDb: string, stage: string): OutputTarget {
  if (typeof value === 'string') return { db: defaultDb, coll: validateCollectionName(defaultDb, value) };
  if (isPlainObject(value) && typeof value.coll === 'string') {
    const db = typeof value.db === 'string' ? value.db : defaultDb;
    validateDatabaseName(db);
    return { db, coll: validateCollectionName(db, value.coll) };
  }
  throw new CommandError('FailedToParse', `${stage} requires a collection name or a document with 'coll' (and optionally 'db')`);
}

function drain(stream: DocumentStream): Document[] {
  const out: Document[] = [];
  for (let next = stream.next(); next !== undefined; next = stream.next()) out.push(next);
  return out;
}

async function runOut(context: CommandContext, results: Document[], target: OutputTarget, bypassValidation: boolean): Promise<void> {
  const { storage, cursors } = context.state;
  const existing = storage.getCollection(target.db, target.coll);
  if (existing !== undefined) await waitForExclusive(context, existing);
  const current = storage.getCollection(target.db, target.coll);
  // mongod writes $out results into a temporary collection that replaces the target atomically,
  // keeping the target's options and indexes; a duplicate _id fails the stage and leaves it intact.
  validateDatabaseName(target.db);
  const replacement = new Collection(storage, target.db, target.coll, current === undefined ? {} : { ...current.options });
  for (const spec of current?.indexSpecs().slice(1) ?? []) replacement.addIndex({ ...spec });
  for (const raw of results) {
    const document = raw._id === undefined ? withIdFirst({ ...raw, _id: new ObjectId() }) : raw;
    replacement.insert(document, { txn: undefined, bypassValidation });
  }
  if (current !== undefined) {
    storage.detach(current);
    cursors.killNamespace(current.namespace);
  }
  storage.attach(replacement);
  context.noteWrite();
}

async function runMerge(context: CommandContext, results: Document[], spec: Document, bypassValidation: boolean): Promise<void> {
  const target = outputTarget(spec.into, context.db, '$merge');
  const on = spec.on === undefined ? ['_id'] : Array.isArray(spec.on) ? (spec.on as unknown[]) : [spec.on];
  if (!on.every((field): field is string => typeof field === 'string')) throw new CommandError('TypeMismatch', "$merge 'on' must be a string or an array of strings");
  const whenMatched = spec.whenMatched ?? 'merge';
  const whenNotMatched = spec.whenNotMatched ?? 'insert';
  if (!Array.isArray(whenMatched) && !['replace', 'keepExisting', 'merge', 'fail'].includes(String(whenMatched))) {
    throw new CommandError('BadValue', `Enumeration value '${String(whenMatched)}' for field 'whenMatched' is not a valid value.`);
  }
  if (!['insert', 'discard', 'fail'].includes(String(whenNotMatched))) {
    throw new CommandError('BadValue', `Enumeration value '${String(whenNotMatched)}' for field 'whenNotMatched' is not a valid value.`);
  }
  const mergeContext: CommandContext = target.db === context.db ? context : { ...context, db: target.db };
  const storage = context.state.storage;
  const existing = storage.getCollection(target.db, target.coll);
  const onIsId = on.length === 1 && on[0] === '_id';
  if (!onIsId && existing !== undefined) {
    const covered = existing.indexes.some((index) => index.unique && index.fields.length === on.length && index.fields.every(([field]) => on.includes(field)));
    if (!covered) throw CommandError.withCode(51183, 'Cannot find index to verify that join fields will be unique');
  }
  const scope = { txn: context.txn, bypassValidation };
  const letSpec = isPlainObject(spec.let) ? spec.let : undefined;
  for (const result of results) {
    const key: Document = {};
    for (const field of on) {
      const value = result[field];
      if (value === undefined && field !== '_id') throw CommandError.withCode(51132, `$merge write error: 'on' field '${field}' cannot be missing, null, undefined or an array`);
      key[field] = value;
    }
    await withLockRetry(mergeContext, () => {
      const collection = collectionForWrite(mergeContext, target.coll);
      const view = readViewOf(mergeContext);
      let matched: Document | undefined;
      if (key._id !== undefined || !onIsId) {
        const filter = compileFilter(key);
        matched = planDocuments(collection, planQuery(collection, { filter: key }), filter, view).next().value ?? undefined;
      }
      if (matched === undefined) {
        if (whenNotMatched === 'discard') return;
        if (whenNotMatched === 'fail') {
          throw CommandError.withCode(13113, '$merge could not find a matching document in the target collection for at least one document in the source collection');
        }
        const document = result._id === undefined ? withIdFirst({ ...result, _id: new ObjectId() }) : result;
        collection.insert(document, scope);
        return;
      }
      let next: Document;
      if (Array.isArray(whenMatched)) {
        const variables: Document = { ...evaluationOptions(mergeContext).variables };
        if (letSpec === undefined) variables.new = result;
        else for (const name of Object.keys(letSpec)) variables[name] = letSpec[name] === '$$ROOT' ? result : letSpec[name];
        next = applyUpdate(matched, { kind: 'pipeline', pipeline: whenMatched as Document[] }, { query: key, evaluation: { variables } }).document;
      } else if (whenMatched === 'keepExisting') {
        return;
      } else if (whenMatched === 'fail') {
        throw new CommandError('DuplicateKey', `$merge failed: a document in the target collection ${target.db}.${target.coll} matched (whenMatched: 'fail')`);
      } else if (whenMatched === 'replace') {
        next = withIdFirst({ ...result, _id: matched._id });
      } else {
        next = { ...matched, ...result, _id: matched._id };
      }
      if (valueKey(next) !== valueKey(matched)) collection.replace(valueKey(matched._id), matched, next, scope);
    });
  }
  context.noteWrite();
}

async function aggregateCommand(command: Document, context: CommandContext): Promise<Document> {
  const target = command.aggregate;
  const pipeline = validatePipeline(command.pipeline);
  const explain = optionalBoolean(command, 'aggregate', 'explain') ?? false;
  const cursorOptions = optionalDocument(command, 'aggregate', 'cursor');
  if (cursorOptions === undefined && !explain) {
    throw new CommandError('FailedToParse', "The 'cursor' option is required, except for aggregate with the explain argument");
  }
  const collation = optionalDocument(command, 'aggregate', 'collation');
  const letVariables = optionalDocument(command, 'aggregate', 'let');
  const bypassValidation = optionalBoolean(command, 'aggregate', 'bypassDocumentValidation') ?? false;
  const last = pipeline[pipeline.length - 1];
  const lastName = last === undefined ? undefined : Object.keys(last)[0];
  const writes = lastName === '$out' || lastName === '$merge';
  if (writes && context.txn !== undefined) {
    throw new CommandError('OperationNotSupportedInTransaction', `${lastName} cannot be used in a transaction`);
  }
  const readStages = writes ? pipeline.slice(0, -1) : pipeline;
  const evaluation = evaluationOptions(context, { let: letVariables, collation });

  let namespace: string;
  let source: Iterable<Document>;
  if (target === 1 || target === 1.0) {
    const first = pipeline[0] === undefined ? undefined : Object.keys(pipeline[0])[0];
    if (first === undefined || !DATABASE_LEVEL_STAGES.has(first)) {
      throw new CommandError('InvalidNamespace', `{aggregate: 1} is not valid for '${first ?? 'an empty pipeline'}'; a collection is required.`);
    }
    namespace = `${context.db}.$cmd.aggregate`;
    source = [];
  } else {
    if (typeof target !== 'string') throw new CommandError('InvalidNamespace', 'collection name has invalid type');
    const name = validateCollectionName(context.db, target);
    namespace = `${context.db}.${name}`;
    const collection = context.state.storage.getCollection(context.db, name);
    if (collection === undefined) {
      source = [];
    } else {
      const firstStage = readStages[0];
      if (firstStage !== undefined && isPlainObject(firstStage.$match)) assertTextIndex(collection, firstStage.$match);
      const prefix = plannedPrefix(readStages);
      const plan = planQuery(collection, { filter: prefix.filter, sort: prefix.sort, limit: prefix.limit, hint: command.hint, collation });
      if (explain) return aggregateExplain(namespace, readStages, plan, prefix);
      // The planned documents are gathered first, in time slices; the stages (the $match and
      // $sort included, which then change nothing) run over them lazily.
      source = await collectSliced(context, collection, plan, compileFilter(prefix.filter, evaluation), prefix.limit);
    }
  }
  if (explain) return aggregateExplain(namespace, readStages, undefined, undefined);
  context.state.counters.opcounters.command += 1;
  const stream = runPipeline(source, readStages, evaluation);
  if (writes && last !== undefined) {
    const results = drain(stream);
    if (lastName === '$out') await runOut(context, results, outputTarget(last.$out, context.db, '$out'), bypassValidation);
    else await runMerge(context, results, isPlainObject(last.$merge) ? last.$merge : { into: last.$merge }, bypassValidation);
    return { cursor: { firstBatch: [], id: Long.ZERO, ns: namespace }, ok: 1 };
  }
  const batchSize = typeof cursorOptions?.batchSize === 'number' ? cursorOptions.batchSize : 101;
  return openCursorReply(context, namespace, stream, { batchSize, singleBatch: false });
}

interface PlannedPrefix {
  readonly filter: Document;
  readonly sort: Document | undefined;
  /** A $limit right after the planned stages (with a sort the index provides, nothing more is read). */
  readonly limit: number | undefined;
}

/** The leading $match and/or $sort of a pipeline, which the query planner answers. */
function plannedPrefix(stages: readonly Document[]): PlannedPrefix {
  let i = 0;
  let filter: Document = {};
  let sort: Document | undefined;
  const first = stages[0];
  if (first !== undefined && isPlainObject(first.$match)) {
    filter = first.$match;
    i++;
  }
  const next = stages[i];
  if (next !== undefined && isPlainObject(next.$sort)) {
    sort = next.$sort;
    i++;
  }
  const after = stages[i]?.$limit;
  const limit = typeof after === 'number' && Number.isInteger(after) && after > 0 ? after : undefined;
  return { filter, sort, limit };
}

async function collectSliced(context: CommandContext, collection: Collection, plan: QueryPlan, filter: CompiledFilter, limit: number | undefined): Promise<Document[]> {
  const documents: Document[] = [];
  // Without a provided sort, a following $limit applies to sorted documents: everything is needed.
  const enough = limit !== undefined && (plan.sort === undefined || (plan.kind === 'ixscan' && plan.providesSort)) ? limit : Number.POSITIVE_INFINITY;
  await forEachSliced(context, collection, plan, filter, (document) => {
    documents.push(document);
    return documents.length >= enough ? 'stop' : undefined;
  });
  return documents;
}

function aggregateExplain(namespace: string, stages: readonly Document[], plan: QueryPlan | undefined, prefix: PlannedPrefix | undefined): Document {
  const winningPlan = plan === undefined ? { stage: 'COLLSCAN', direction: 'forward' } : explainPlan(plan, prefix?.filter ?? {}, { sort: prefix?.sort, limit: prefix?.limit });
  return { explainVersion: '1', queryPlanner: { namespace, parsedQuery: prefix?.filter ?? {}, winningPlan, rejectedPlans: [] }, stages, ok: 1 };
}

export const AGGREGATE_COMMANDS: Record<string, CommandSpec> = {
  aggregate: {
    handler: aggregateCommand,
    fields: [
      'aggregate',
      'pipeline',
      'cursor',
      'explain',
      'allowDiskUse',
      'bypassDocumentValidation',
      'hint',
      'collation',
      'let',
      'fromMongos',
      'needsMerge',
      'isMapReduceCommand',
      'exchange',
      'searchQueryMetadata',
    ],
    inTransaction: true,
  },
};
