// createIndexes, listIndexes, dropIndexes with mongod's conflict rules and replies.
import type { Document } from 'bson';
import { isPlainObject, renderValue, valueKey } from '../bson-values.js';
import { CommandError } from '../errors.js';
import { normalizeIndexSpec, sameIndexOptions, sameKeyPattern } from '../index-catalog.js';
import { cursorReply, waitForExclusive } from './catalog-commands.js';
import { collectionForWrite, collectionNameArgument, optionalArray, optionalDocument } from './command-context.js';
import type { CommandContext, CommandSpec } from './command-context.js';

function conflictMessage(requested: Document, existing: Document): string {
  return `An existing index has the same name as the requested index. When index names are not specified, they are auto generated and can cause conflicts. Please refer to our documentation. Requested index: ${renderValue(requested)}, existing index: ${renderValue(existing)}`;
}

/** Distinguishing options: indexes on the same keys may coexist when these differ. */
function distinguishing(spec: Document): string {
  return valueKey({ partialFilterExpression: spec.partialFilterExpression ?? null, collation: spec.collation ?? null });
}

async function createIndexes(command: Document, context: CommandContext): Promise<Document> {
  const name = collectionNameArgument(command, 'createIndexes', context.db);
  const rawIndexes = optionalArray(command, 'createIndexes', 'indexes');
  if (rawIndexes === undefined) throw new CommandError('Location40414', "BSON field 'createIndexes.indexes' is missing but a required field");
  if (rawIndexes.length === 0) throw new CommandError('BadValue', 'Must specify at least one index to create');
  const { storage } = context.state;
  const namespace = `${context.db}.${name}`;
  const specs = rawIndexes.map((raw) => normalizeIndexSpec(raw, namespace));
  const existed = storage.getCollection(context.db, name);
  if (context.txn !== undefined && existed !== undefined && !context.txn.createdCollections.includes(existed)) {
    throw new CommandError('OperationNotSupportedInTransaction', `Cannot create new indexes on existing collection ${namespace} in a multi-document transaction.`);
  }
  if (existed !== undefined) await waitForExclusive(context, existed);
  const collection = existed ?? collectionForWrite(context, name);
  const numIndexesBefore = collection.indexes.length + 1;
  const toBuild: Document[] = [];
  for (const spec of specs) {
    const all = [...collection.indexSpecs(), ...toBuild];
    const sameName = all.find((existing) => existing.name === spec.name);
    if (sameName !== undefined) {
      if (!sameKeyPattern(sameName.key as Document, spec.key as Document) || distinguishing(sameName) !== distinguishing(spec)) {
        throw new CommandError('IndexKeySpecsConflict', conflictMessage(spec, sameName));
      }
      if (sameName.name === '_id_' || sameIndexOptions(sameName, spec)) continue;
      throw new CommandError(
        'IndexOptionsConflict',
        `An equivalent index already exists with the same name but different options. Requested index: ${renderValue(spec)}, existing index: ${renderValue(sameName)}`,
      );
    }
    const sameKeys = all.find((existing) => sameKeyPattern(existing.key as Document, spec.key as Document) && distinguishing(existing) === distinguishing(spec));
    if (sameKeys !== undefined) {
      if (sameKeys.name === '_id_' && spec.unique === undefined) continue;
      if (sameIndexOptions(sameKeys, spec)) throw new CommandError('IndexOptionsConflict', `Index already exists with a different name: ${sameKeys.name as string}`);
      throw new CommandError(
        'IndexOptionsConflict',
        `An equivalent index already exists with a different name and options. Requested index: ${renderValue(spec)}, existing index: ${renderValue(sameKeys)}`,
      );
    }
    if (isPlainObject(spec.key) && Object.keys(spec.key).length === 1 && spec.key._id !== undefined && spec.unique === true) {
      throw new CommandError('InvalidIndexSpecificationOption', "The field 'unique' is not valid for an _id index specification.");
    }
    toBuild.push(spec);
  }
  const created = [];
  try {
    for (const spec of toBuild) created.push(collection.addIndex(spec));
  } catch (error) {
    for (const entry of created) collection.dropIndex(entry.name);
    throw error;
  }
  const reply: Document = {
    numIndexesBefore,
    numIndexesAfter: collection.indexes.length + 1,
    createdCollectionAutomatically: existed === undefined,
  };
  if (toBuild.length === 0) reply.note = 'all indexes already exist';
  else context.noteWrite();
  reply.ok = 1;
  return reply;
}

function listIndexes(command: Document, context: CommandContext): Document {
  const name = collectionNameArgument(command, 'listIndexes', context.db);
  const collection = context.state.storage.getCollection(context.db, name);
  if (collection === undefined) throw new CommandError('NamespaceNotFound', `ns does not exist: ${context.db}.${name}`);
  return cursorReply(context, `${context.db}.$cmd.listIndexes.${name}`, collection.indexSpecs(), optionalDocument(command, 'listIndexes', 'cursor'));
}

async function dropIndexes(command: Document, context: CommandContext): Promise<Document> {
  const name = collectionNameArgument(command, context.name, context.db);
  const { storage } = context.state;
  const found = storage.getCollection(context.db, name);
  if (found === undefined) throw new CommandError('NamespaceNotFound', `ns not found ${context.db}.${name}`);
  await waitForExclusive(context, found);
  const collection = storage.getCollection(context.db, name);
  if (collection === undefined) throw new CommandError('NamespaceNotFound', `ns not found ${context.db}.${name}`);
  const nIndexesWas = collection.indexes.length + 1;
  const target = command.index;
  const names: string[] = [];
  if (target === '*') {
    for (const entry of collection.indexes) names.push(entry.name);
    for (const indexName of names) collection.dropIndex(indexName);
    context.noteWrite();
    return { nIndexesWas, msg: 'non-_id indexes dropped for collection', ok: 1 };
  }
  const requested = Array.isArray(target) ? target : [target];
  for (const item of requested) {
    if (typeof item === 'string') {
      if (item === '_id_') throw new CommandError('InvalidOptions', 'cannot drop _id index');
      if (!collection.indexes.some((entry) => entry.name === item)) {
        throw new CommandError('IndexNotFound', `index not found with name [${item}]`);
      }
      names.push(item);
    } else if (isPlainObject(item)) {
      const matches = collection.indexes.filter((entry) => sameKeyPattern(entry.key, item));
      if (Object.keys(item).length === 1 && item._id !== undefined) throw new CommandError('InvalidOptions', 'cannot drop _id index');
      if (matches.length === 0) throw new CommandError('IndexNotFound', `can't find index with key: ${renderValue(item)}`);
      if (matches.length > 1) {
        throw new CommandError(
          'AmbiguousIndexKeyPattern',
          `${matches.length} indexes found for key: ${renderValue(item)}, identify by name instead. Conflicting indexes: ${matches.map((m) => renderValue(m.spec)).join(', ')}`,
        );
      }
      names.push((matches[0] as { name: string }).name);
    } else {
      throw new CommandError('TypeMismatch', "BSON field 'dropIndexes.index' is the wrong type, expected type 'string, array or object'");
    }
  }
  for (const indexName of names) collection.dropIndex(indexName);
  context.noteWrite();
  return { nIndexesWas, ok: 1 };
}

export const INDEX_COMMANDS: Record<string, CommandSpec> = {
  createIndexes: { handler: createIndexes, fields: ['createIndexes', 'indexes', 'commitQuorum', 'ignoreUnknownIndexOptions', 'isTimeseriesNamespace'], inTransaction: true },
  listIndexes: { handler: listIndexes, fields: ['listIndexes', 'cursor', 'includeBuildUUIDs', 'includeIndexBuildInfo'] },
  dropIndexes: { handler: dropIndexes, fields: ['dropIndexes', 'index'] },
  deleteIndexes: { handler: dropIndexes, fields: ['deleteIndexes', 'index'] },
};
