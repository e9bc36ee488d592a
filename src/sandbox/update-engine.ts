// Applies the `u` of an update (operator document, replacement or pipeline) to one document, with
// mongod's validation: mingo evaluates the operators, this module refuses what mongod refuses.
import { update as mingoUpdate } from 'mingo/updater';
import type { Document } from 'bson';
import { bsonTypeOf, cloneDocument, isPlainObject, renderValue, valueKey } from './bson-values.js';
import { restoreWrappers } from './query-view.js';
import { CommandError } from './errors.js';
import { UPDATE_CONTEXT } from './mingo-context.js';
import { resolveTypedOperators } from './typed-update-operators.js';
import { runUpdatePipeline, validatePipeline } from './pipeline-engine.js';
import { mingoOptions, translateMingoError } from './query-engine.js';
import type { EvaluationOptions } from './query-engine.js';

const UPDATE_OPERATORS = new Set(['$set', '$unset', '$inc', '$mul', '$rename', '$setOnInsert', '$min', '$max', '$currentDate', '$push', '$pull', '$pullAll', '$pop', '$addToSet', '$bit']);

const UPDATE_PIPELINE_STAGES = new Set(['$addFields', '$set', '$project', '$unset', '$replaceRoot', '$replaceWith']);

export type ParsedUpdate =
  | { readonly kind: 'replacement'; readonly replacement: Document }
  | { readonly kind: 'operators'; readonly modifier: Document; readonly setOnInsert: Document | undefined; readonly positional: boolean }
  | { readonly kind: 'pipeline'; readonly pipeline: Document[] };

export interface UpdateContext {
  /** The statement's filter, for the positional `$` operator and upsert seeding. */
  readonly query: Document;
  readonly arrayFilters?: Document[];
  readonly evaluation?: EvaluationOptions;
}

export interface AppliedUpdate {
  readonly document: Document;
  readonly changed: boolean;
}

function isNumeric(value: unknown): boolean {
  const type = bsonTypeOf(value);
  return type === 'int' || type === 'long' || type === 'double' || type === 'decimal';
}

function compact(field: string, value: unknown): string {
  return `{${field}: ${renderValue(value)}}`;
}

/** Parses and validates an update specification once per statement. */
export function parseUpdate(update: unknown): ParsedUpdate {
  if (Array.isArray(update)) {
    const pipeline = validatePipeline(update, 'update');
    for (const stage of pipeline) {
      const name = Object.keys(stage)[0] as string;
      if (!UPDATE_PIPELINE_STAGES.has(name)) {
        throw new CommandError('InvalidOptions', `${name} is not allowed to be used within an update`);
      }
    }
    return { kind: 'pipeline', pipeline };
  }
  if (!isPlainObject(update)) throw new CommandError('FailedToParse', 'Update argument must be either an object or an array');
  const keys = Object.keys(update);
  const first = keys[0];
  if (first === undefined || !first.startsWith('$')) {
    for (const key of keys) {
      if (key.startsWith('$')) {
        throw new CommandError(
          'DollarPrefixedFieldName',
          `The dollar ($) prefixed field '${key}' in '${key}' is not allowed in the context of an update's replacement document. Consider using an aggregation pipeline with $replaceWith.`,
        );
      }
    }
    return { kind: 'replacement', replacement: update };
  }
  const modifier: Document = {};
  let setOnInsert: Document | undefined;
  const paths: Array<[string, string]> = [];
  let positional = false;
  for (const op of keys) {
    if (!UPDATE_OPERATORS.has(op)) {
      throw new CommandError('FailedToParse', `Unknown modifier: ${op}. Expected a valid update modifier or pipeline-style update specified as an array`);
    }
    const args = update[op];
    if (!isPlainObject(args)) {
      throw new CommandError('FailedToParse', `Modifiers operate on fields but we found type ${bsonTypeOf(args)} instead. For example: {$mod: {<field>: ...}} not {${op}: ${renderValue(args)}}`);
    }
    for (const path of Object.keys(args)) {
      if (path === '' || path.split('.').some((part) => part === '')) {
        throw new CommandError('EmptyFieldName', `An update path '${path}' contains an empty field name, which is not allowed.`);
      }
      if (path.includes('$')) positional = true;
      paths.push([path, op]);
      const value = args[path];
      if ((op === '$inc' || op === '$mul') && !isNumeric(value)) {
        const verb = op === '$inc' ? 'increment' : 'multiply';
        throw new CommandError('TypeMismatch', `Cannot ${verb} with non-numeric argument: ${compact(path, value)}`);
      }
      if (op === '$rename') {
        if (typeof value !== 'string') throw new CommandError('BadValue', `The 'to' field for $rename must be a string: ${path}: ${renderValue(value)}`);
        if (value === path) throw new CommandError('BadValue', `The source and target field for $rename must differ: ${path}: ${JSON.stringify(value)}`);
        if (value.startsWith(`${path}.`) || path.startsWith(`${value}.`)) {
          throw new CommandError('BadValue', `The source and target field for $rename must not be on the same path: ${path}: ${JSON.stringify(value)}`);
        }
        paths.push([value, op]);
      }
      if (op === '$pop' && value !== 1 && value !== -1) {
        throw new CommandError('FailedToParse', `$pop expects 1 or -1, found: ${renderValue(value)}`);
      }
      if (op === '$currentDate' && !(value === true || (isPlainObject(value) && (value.$type === 'date' || value.$type === 'timestamp')))) {
        throw new CommandError('BadValue', `${renderValue(value)} is not valid type for $currentDate. Please use a boolean ('true') or a $type expression ({$type: 'timestamp/date'}).`);
      }
    }
    if (op === '$setOnInsert') setOnInsert = args;
    else modifier[op] = args;
  }
  checkPathConflicts(paths);
  return { kind: 'operators', modifier, setOnInsert, positional };
}

/** Two operators touching the same path or a path and its prefix conflict (code 40). */
function checkPathConflicts(paths: Array<[string, string]>): void {
  const sorted = paths.map(([path]) => path.replace(/\.\$(\[[^\]]*\])?/g, '')).sort();
  for (let i = 1; i < sorted.length; i++) {
    const previous = sorted[i - 1] as string;
    const current = sorted[i] as string;
    if (current === previous || current.startsWith(`${previous}.`)) {
      throw new CommandError('ConflictingUpdateOperators', `Updating the path '${current}' would create a conflict at '${previous}'`);
    }
  }
}

/**
 * mingo skips operators whose target has the wrong type; mongod refuses them. This walks each
 * plain (non-positional) path of the current document and raises mongod's error first.
 */
function precheckOperators(document: Document, modifier: Document): void {
  for (const op of Object.keys(modifier)) {
    const args = modifier[op] as Document;
    for (const path of Object.keys(args)) {
      const parts = path.split('.');
      let container: unknown = document;
      let reached = true;
      for (let i = 0; i < parts.length - 1; i++) {
        const part = parts[i] as string;
        if (part.startsWith('$')) {
          reached = false;
          break;
        }
        const next: unknown = Array.isArray(container) ? (/^\d+$/.test(part) ? container[Number(part)] : undefined) : (container as Document)[part];
        if (next === undefined) {
          reached = false;
          break;
        }
        const nextPart = parts[i + 1] as string;
        const traversable = isPlainObject(next) || (Array.isArray(next) && (/^\d+$/.test(nextPart) || nextPart.startsWith('$')));
        if (!traversable) {
          if (op === '$unset' || op === '$pull' || op === '$pullAll' || op === '$pop') {
            reached = false;
            break;
          }
          throw new CommandError('PathNotViable', `Cannot create field '${nextPart}' in element ${compact(part, next)}`);
        }
        container = next;
      }
      const last = parts[parts.length - 1] as string;
      if (!reached || last.startsWith('$') || container === null || typeof container !== 'object') continue;
      const current: unknown = Array.isArray(container) ? (/^\d+$/.test(last) ? container[Number(last)] : undefined) : (container as Document)[last];
      if (current === undefined) continue;
      const idText = renderValue({ _id: document._id }).replace(/^\{ /, '{').replace(/ \}$/, '}');
      switch (op) {
        case '$inc':
        case '$mul':
          if (!isNumeric(current)) {
            throw new CommandError('TypeMismatch', `Cannot apply ${op} to a value of non-numeric type. ${idText} has the field '${last}' of non-numeric type ${bsonTypeOf(current)}`);
          }
          break;
        case '$push':
        case '$addToSet':
          if (!Array.isArray(current)) {
            throw new CommandError('BadValue', `The field '${path}' must be an array but is of type ${bsonTypeOf(current)} in document ${idText}`);
          }
          break;
        case '$pop':
          if (!Array.isArray(current)) throw new CommandError('TypeMismatch', `Path '${path}' contains an element of non-array type '${bsonTypeOf(current)}'`);
          break;
        case '$pull':
        case '$pullAll':
          if (!Array.isArray(current)) throw new CommandError('BadValue', `Cannot apply ${op} to a non-array value`);
          break;
        case '$bit':
          if (bsonTypeOf(current) !== 'int' && bsonTypeOf(current) !== 'long') {
            throw new CommandError('BadValue', `Cannot apply $bit to a value of non-integral type.${idText} has the field ${last} of non-integer type ${bsonTypeOf(current)}`);
          }
          break;
        default:
          break;
      }
    }
  }
}

/** The paths an operator update names (the `$rename` targets included). */
function operatorPaths(parsed: Extract<ParsedUpdate, { kind: 'operators' }>): string[] {
  const paths = updatePaths(parsed.modifier);
  if (parsed.setOnInsert !== undefined) paths.push(...Object.keys(parsed.setOnInsert));
  return paths;
}

const FILTERED_POSITIONAL = /\$\[([^\]]*)\]/g;

/**
 * Checks `arrayFilters` against the update once per statement, as mongod's update parser does:
 * every `$[<id>]` needs a filter (code 2), every filter must be used (code 9), and no identifier
 * may have two filters (code 9).
 */
export function checkArrayFilters(parsed: ParsedUpdate, arrayFilters: readonly Document[] | undefined, update: unknown): void {
  if (parsed.kind !== 'operators') return;
  const filtered = new Set<string>();
  for (const filter of arrayFilters ?? []) {
    const identifier = Object.keys(filter)[0]?.split('.')[0];
    if (identifier === undefined || identifier === '') throw new CommandError('FailedToParse', 'Cannot use an expression without a top-level field name in arrayFilters');
    if (filtered.has(identifier)) throw new CommandError('FailedToParse', `Found multiple array filters with the same top-level field name ${identifier}`);
    filtered.add(identifier);
  }
  const used = new Set<string>();
  for (const path of operatorPaths(parsed)) {
    for (const [, identifier] of path.matchAll(FILTERED_POSITIONAL)) {
      if (identifier === undefined || identifier === '') continue;
      if (!filtered.has(identifier)) throw new CommandError('BadValue', `No array filter found for identifier '${identifier}' in path '${path}'`);
      used.add(identifier);
    }
  }
  for (const identifier of filtered) {
    if (!used.has(identifier)) {
      throw new CommandError('FailedToParse', `The array filter for identifier '${identifier}' was not used in the update ${renderValue(update)}`);
    }
  }
}

/**
 * `$[]` and `$[<id>]` need the array before them to exist (and be an array) in the document;
 * mingo silently skips such a path, mongod refuses the update (code 2).
 */
function assertArraysForPositionals(document: Document, paths: readonly string[]): void {
  for (const path of paths) {
    const parts = path.split('.');
    const at = parts.findIndex((part) => part.startsWith('$'));
    // Only a leading plain prefix is checked; a path under `$` is resolved by mingo.
    if (at <= 0 || !(parts[at] as string).startsWith('$[')) continue;
    let current: unknown = document;
    for (const part of parts.slice(0, at)) {
      current = Array.isArray(current) && /^\d+$/.test(part) ? current[Number(part)] : isPlainObject(current) ? current[part] : undefined;
      if (current === undefined) break;
    }
    if (current === undefined) {
      throw new CommandError('BadValue', `The path '${parts.slice(0, at).join('.')}' must exist in the document in order to apply array updates.`);
    }
    if (!Array.isArray(current)) {
      throw new CommandError('BadValue', `Cannot apply array updates to non-array element ${parts[at - 1] as string}: ${renderValue(current)}`);
    }
  }
}

function assertIdUnchanged(before: Document, after: Document): void {
  if (before._id === undefined || valueKey(before._id) === valueKey(after._id)) return;
  throw new CommandError('ImmutableField', "Performing an update on the path '_id' would modify the immutable field '_id'");
}

/** mongod (5.0+) orders field names created by an update lexicographically, numeric names numerically. */
function compareFieldNames(a: string, b: string): number {
  if (/^\d+$/.test(a) && /^\d+$/.test(b)) return Number(a) - Number(b) || (a < b ? -1 : a > b ? 1 : 0);
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * Puts the fields an operator update created where mongod puts them: existing fields keep their
 * place, new ones follow in lexicographic order. A new object given whole as a value keeps its
 * own order; one created by dotted paths is ordered like the top level.
 */
function orderCreatedFields(before: unknown, after: unknown, prefix: string, paths: readonly string[]): unknown {
  if (!isPlainObject(after)) return after;
  const previous = isPlainObject(before) ? before : {};
  const out: Document = {};
  for (const key of Object.keys(previous)) {
    if (Object.prototype.hasOwnProperty.call(after, key)) out[key] = orderCreatedFields(previous[key], after[key], `${prefix}${key}.`, paths);
  }
  const created = Object.keys(after)
    .filter((key) => !Object.prototype.hasOwnProperty.call(previous, key))
    .sort(compareFieldNames);
  for (const key of created) {
    const nested = `${prefix}${key}.`;
    out[key] = paths.some((path) => path.startsWith(nested)) ? orderCreatedFields(undefined, after[key], nested, paths) : after[key];
  }
  return out;
}

function updatePaths(modifier: Document): string[] {
  const paths: string[] = [];
  for (const op of Object.keys(modifier)) {
    const args = modifier[op] as Document;
    for (const path of Object.keys(args)) {
      paths.push(path);
      if (op === '$rename' && typeof args[path] === 'string') paths.push(args[path] as string);
    }
  }
  return paths;
}

/** Only `$set`/`$unset` of top-level fields (no dots, no `$`, not `_id`): applied without mingo. */
function isTopLevelSetUnset(modifier: Document): boolean {
  for (const op of Object.keys(modifier)) {
    if (op !== '$set' && op !== '$unset') return false;
    for (const field of Object.keys(modifier[op] as Document)) {
      if (field === '_id' || field.includes('.') || field.startsWith('$')) return false;
    }
  }
  return true;
}

/** `$set: { _id: <same value> }` is a no-op for mongod (mingo refuses any `_id` path). */
function withoutNoOpIdSet(modifier: Document, current: Document): Document {
  const set = modifier.$set as Document | undefined;
  if (set === undefined || !Object.prototype.hasOwnProperty.call(set, '_id') || current._id === undefined) return modifier;
  if (valueKey(set._id) !== valueKey(current._id)) {
    throw new CommandError('ImmutableField', "Performing an update on the path '_id' would modify the immutable field '_id'");
  }
  const { _id: _same, ...rest } = set;
  const copy: Document = { ...modifier, $set: rest };
  if (Object.keys(rest).length === 0) delete copy.$set;
  return copy;
}

/** Puts `_id` first, where mongod always stores it. */
export function withIdFirst(document: Document): Document {
  const keys = Object.keys(document);
  if (keys[0] === '_id' || !Object.prototype.hasOwnProperty.call(document, '_id')) return document;
  const out: Document = { _id: document._id };
  for (const key of keys) if (key !== '_id') out[key] = document[key];
  return out;
}

/** Applies a parsed update to `current` (never mutated); `isInsert` for an upsert's new document. */
export function applyUpdate(current: Document, parsed: ParsedUpdate, context: UpdateContext, isInsert = false): AppliedUpdate {
  let after: Document;
  // Set by the top-level $set/$unset paths, which know which fields they touched.
  let changed: boolean | undefined;
  switch (parsed.kind) {
    case 'replacement': {
      const replacement = cloneDocument(parsed.replacement);
      if (replacement._id !== undefined && current._id !== undefined && valueKey(replacement._id) !== valueKey(current._id)) {
        throw new CommandError('ImmutableField', `After applying the update, the (immutable) field '_id' was found to have been altered to _id: ${renderValue(replacement._id)}`);
      }
      after = current._id !== undefined ? withIdFirst({ ...replacement, _id: current._id }) : replacement;
      break;
    }
    case 'pipeline': {
      try {
        // mingo computes over the query view; values it did not change keep their BSON types.
        after = restoreWrappers(current, runUpdatePipeline(cloneDocument(current), parsed.pipeline, context.evaluation)) as Document;
      } catch (error) {
        throw translateMingoError(error);
      }
      if (!isInsert) assertIdUnchanged(current, after);
      after = withIdFirst(after);
      break;
    }
    case 'operators': {
      after = cloneDocument(current);
      let modifier = isInsert && parsed.setOnInsert !== undefined ? { ...parsed.modifier, $set: { ...(parsed.modifier.$set as Document | undefined), ...parsed.setOnInsert } } : parsed.modifier;
      // An upsert's new document takes its _id from the update when the filter gave none (mongod does).
      const setId = (modifier.$set as Document | undefined)?._id;
      if (isInsert && current._id === undefined && setId !== undefined) after._id = setId;
      modifier = withoutNoOpIdSet(modifier, after);
      if (isTopLevelSetUnset(modifier)) {
        // The common case (records, flags, counters reset): plain top-level $set/$unset need no
        // operator engine, only mongod's field order for what they create.
        changed = applyTopLevel(current, after, modifier);
        after = withIdFirst(orderCreatedFields(current, after, '', updatePaths(modifier)) as Document);
        break;
      }
      assertArraysForPositionals(after, updatePaths(modifier));
      precheckOperators(after, modifier);
      modifier = resolveTypedOperators(after, modifier, context.evaluation?.now ?? new Date());
      if (isTopLevelSetUnset(modifier)) {
        // $inc/$mul/$min/$max on top-level fields resolved to a plain $set: no operator engine
        // (mingo's update costs tens of microseconds per document in setup alone).
        changed = applyTopLevel(current, after, modifier);
        after = withIdFirst(orderCreatedFields(current, after, '', updatePaths(modifier)) as Document);
        break;
      }
      if (Object.keys(modifier).length > 0) {
        try {
          mingoUpdate(after, modifier, context.arrayFilters, parsed.positional && !isInsert ? context.query : undefined, {
            cloneMode: 'deep',
            queryOptions: { ...mingoOptions(context.evaluation === undefined ? undefined : { variables: context.evaluation.variables }), context: UPDATE_CONTEXT },
          });
        } catch (error) {
          throw translateMingoError(error);
        }
      }
      if (!isInsert) assertIdUnchanged(current, after);
      after = withIdFirst(orderCreatedFields(current, after, '', updatePaths(modifier)) as Document);
      break;
    }
  }
  return { document: after, changed: isInsert || (changed ?? valueKey(after) !== valueKey(current)) };
}

/**
 * Applies top-level $set/$unset to `after` (a copy of `current`); returns whether a value
 * changed. Comparing the touched fields spares two canonical keys of the whole document.
 */
function applyTopLevel(current: Document, after: Document, modifier: Document): boolean {
  let changed = false;
  for (const [field, value] of Object.entries((modifier.$set as Document | undefined) ?? {})) {
    after[field] = cloneDocument({ value }).value;
    if (!changed && (!Object.prototype.hasOwnProperty.call(current, field) || valueKey(current[field]) !== valueKey(value))) changed = true;
  }
  for (const field of Object.keys((modifier.$unset as Document | undefined) ?? {})) {
    if (Object.prototype.hasOwnProperty.call(current, field)) changed = true;
    delete after[field];
  }
  return changed;
}
