// The one mingo operator context the sandbox evaluates with: every operator mingo ships, plus the
// few the sandbox supplies where mingo's answer differs from mongod's:
// - an order-preserving `$project` (mingo appends `_id` last and follows the projection's field
//   order; mongod keeps `_id` first and the input document's order for included fields);
// - `$sort` with mongod's array rule (largest element when descending) and BSON type order;
// - `$type` over exact BSON types (mingo calls every integer an int and a long);
// - equality and `$in` on embedded documents and arrays, where mongod compares BSON exactly,
//   field order included (mingo ignores field order);
// - the operators of mingo-operators.ts ($sum's result type, $top/$bottom, $indexOfCP,
//   $toObjectId, $addFields/$set through arrays, $function for $setWindowFields' own closures).
import type { Document } from 'bson';
import { Context } from 'mingo/core';
import { Lazy } from 'mingo/lazy';
import type { Iterator as LazyIterator } from 'mingo/lazy';
import * as accumulatorOperators from 'mingo/operators/accumulator';
import * as expressionOperators from 'mingo/operators/expression';
import * as pipelineOperators from 'mingo/operators/pipeline';
import * as projectionOperators from 'mingo/operators/projection';
import * as queryOperators from 'mingo/operators/query';
import * as windowOperators from 'mingo/operators/window';
import type { Options, QueryOperator } from 'mingo/types';
import { $addFieldsThroughArrays, $bottomOne, $convertWithObjectId, $indexOfCP, $internalFunction, $queryViews, $toObjectId, $topOne, $toStringWithObjectId, $typedSum } from './mingo-operators.js';
import { bsonTypeOf, isPlainObject, leafValues, numberOf, numericTypeOf, valueKey } from './bson-values.js';
import type { BsonTypeName } from './bson-values.js';
import { CommandError } from './errors.js';
import { originalOf, sameBson } from './query-view.js';
import { sortDocuments } from './sort-order.js';

/** The $group accumulators the engine evaluates. */
export const ACCUMULATOR_NAMES: ReadonlySet<string> = new Set(Object.keys(accumulatorOperators).filter((name) => name.startsWith('$')));

export const ORDERED_PROJECT_STAGE = '$__deltaOrderedProject';
export const SORT_STAGE = '$__deltaSort';
export const ADD_FIELDS_STAGE = '$__deltaAddFields';
export const QUERY_VIEWS_STAGE = '$__deltaQueryViews';
export const TYPE_OPERATOR = '$__deltaType';
export const EQ_OPERATOR = '$__deltaEq';
export const IN_OPERATOR = '$__deltaIn';
export const MOD_OPERATOR = '$__deltaMod';

const TYPE_CODES: Readonly<Record<number, BsonTypeName>> = {
  1: 'double',
  2: 'string',
  3: 'object',
  4: 'array',
  5: 'binData',
  6: 'undefined',
  7: 'objectId',
  8: 'bool',
  9: 'date',
  10: 'null',
  11: 'regex',
  13: 'javascript',
  14: 'symbol',
  16: 'int',
  17: 'timestamp',
  18: 'long',
  19: 'decimal',
  [-1]: 'minKey',
  127: 'maxKey',
};
const TYPE_ALIASES = new Set<string>([...Object.values(TYPE_CODES), 'number', 'dbPointer', 'javascriptWithScope']);

/** Parses a `$type` operand into BSON type names (code 2 BadValue for unknown aliases). */
export function parseTypeOperand(operand: unknown): Set<string> {
  const list = Array.isArray(operand) ? operand : [operand];
  if (list.length === 0) throw new CommandError('FailedToParse', '$type must match at least one type');
  const types = new Set<string>();
  for (const item of list) {
    if (typeof item === 'string') {
      if (!TYPE_ALIASES.has(item)) throw new CommandError('BadValue', `Unknown type name alias: ${item}`);
      types.add(item);
    } else if (typeof item === 'number' && Number.isInteger(item) && TYPE_CODES[item] !== undefined) {
      types.add(TYPE_CODES[item]);
    } else {
      throw new CommandError('BadValue', `Invalid numerical type code: ${String(item)}`);
    }
  }
  return types;
}

function typeMatches(types: Set<string>, value: unknown): boolean {
  const type = bsonTypeOf(value);
  if (type === 'missing') return false;
  if (types.has(type)) return true;
  return types.has('number') && (type === 'int' || type === 'long' || type === 'double' || type === 'decimal');
}

function typeOperator(selector: string, operand: unknown): (document: Document) => boolean {
  const types = parseTypeOperand(operand);
  return (document) =>
    leafValues(originalOf(document), selector).some((leaf) => {
      if (!Array.isArray(leaf)) return typeMatches(types, leaf);
      return types.has('array') || leaf.some((item) => typeMatches(types, item));
    });
}

/** Whether any value at `selector` equals `expected` exactly (the value itself or an array element). */
function holdsExactly(document: Document, selector: string, expected: unknown): boolean {
  return leafValues(originalOf(document), selector).some((leaf) => sameBson(leaf, expected) || (Array.isArray(leaf) && leaf.some((item) => sameBson(item, expected))));
}

function eqOperator(selector: string, operand: unknown): (document: Document) => boolean {
  return (document) => holdsExactly(document, selector, operand);
}

function inOperator(selector: string, operand: unknown): (document: Document) => boolean {
  if (!Array.isArray(operand)) throw new CommandError('BadValue', '$in needs an array');
  // Exact BSON equality is equality of canonical keys: one set lookup per value instead of a
  // comparison with every entry (an updateMany by 2,000 _ids tests 2,000 documents).
  const keys = new Set<string>();
  const patterns: RegExp[] = [];
  let matchesNull = false;
  for (const entry of operand as unknown[]) {
    if (entry instanceof RegExp) patterns.push(entry);
    else if (entry === null) matchesNull = true;
    else keys.add(valueKey(entry));
  }
  const matches = (value: unknown): boolean => {
    if (value === null || value === undefined) return matchesNull;
    if (keys.has(valueKey(value))) return true;
    return typeof value === 'string' && patterns.some((pattern) => pattern.test(value));
  };
  return (document) => {
    for (const leaf of leafValues(originalOf(document), selector)) {
      if (matches(leaf)) return true;
      if (Array.isArray(leaf) && leaf.some(matches)) return true;
    }
    return false;
  };
}

/** `$mod` truncates the value, divisor and remainder toward zero (mingo does not truncate the value). */
export function parseModOperand(operand: unknown): [number, number] {
  if (!Array.isArray(operand)) throw new CommandError('BadValue', 'malformed mod, needs to be an array');
  if (operand.length < 2) throw new CommandError('BadValue', 'malformed mod, not enough elements');
  if (operand.length > 2) throw new CommandError('BadValue', 'malformed mod, too many elements');
  const [divisor, remainder] = operand.map((item) => numberOf(item));
  if (divisor === undefined || remainder === undefined) throw new CommandError('BadValue', 'malformed mod, divisor and remainder must be numbers');
  if (!Number.isFinite(divisor) || !Number.isFinite(remainder)) throw new CommandError('BadValue', 'malformed mod, divisor and remainder must be finite');
  if (Math.trunc(divisor) === 0) throw new CommandError('BadValue', 'divisor cannot be 0');
  return [Math.trunc(divisor), Math.trunc(remainder)];
}

function modOperator(selector: string, operand: unknown): (document: Document) => boolean {
  const [divisor, remainder] = parseModOperand(operand);
  const matches = (value: unknown): boolean => {
    const n = numericTypeOf(value) === undefined ? undefined : numberOf(value);
    return n !== undefined && Number.isFinite(n) && Math.trunc(n) % divisor === remainder;
  };
  return (document) => leafValues(originalOf(document), selector).some((leaf) => (Array.isArray(leaf) ? leaf.some(matches) : matches(leaf)));
}

function sortStage(collection: LazyIterator, spec: unknown, options: Options): LazyIterator {
  if (!isPlainObject(spec)) throw new CommandError('Location15974', '$sort key specification must be an object');
  return Lazy(sortDocuments(collection.collect<Document>(), spec, options.collation));
}

/** Puts projected fields back in the source document's field order, as mongod's projection does. */
export function reorderLike(source: Document, projected: Document): Document {
  const out: Document = {};
  for (const key of Object.keys(source)) {
    if (!Object.prototype.hasOwnProperty.call(projected, key)) continue;
    const value = projected[key];
    if (value === undefined) continue;
    const original = source[key];
    out[key] = isPlainObject(value) && isPlainObject(original) ? reorderLike(original, value) : value;
  }
  for (const key of Object.keys(projected)) {
    if (!Object.prototype.hasOwnProperty.call(out, key) && projected[key] !== undefined && !Object.prototype.hasOwnProperty.call(source, key)) {
      out[key] = projected[key];
    }
  }
  return out;
}

function orderedProject(collection: LazyIterator, expr: unknown, options: Options): LazyIterator {
  // $project maps one input to one output lazily, so the last input pulled is this output's source.
  let current: Document = {};
  const inputs = collection.map((document: Document) => {
    current = document;
    return document;
  });
  return pipelineOperators.$project(inputs, expr as Document, options).map((projected: Document) => reorderLike(current, projected));
}

export const MINGO_CONTEXT = Context.init({
  accumulator: { ...accumulatorOperators, $sum: $typedSum, $top: $topOne, $bottom: $bottomOne },
  expression: {
    ...expressionOperators,
    $indexOfCP,
    $toObjectId,
    $toString: $toStringWithObjectId,
    $convert: $convertWithObjectId,
    $function: $internalFunction,
  },
  pipeline: {
    ...pipelineOperators,
    [ORDERED_PROJECT_STAGE]: orderedProject,
    [SORT_STAGE]: sortStage,
    [ADD_FIELDS_STAGE]: $addFieldsThroughArrays,
    [QUERY_VIEWS_STAGE]: $queryViews,
  },
  projection: projectionOperators,
  query: {
    ...queryOperators,
    // mingo's operator type is an intersection of its own operators' signatures; these take the same arguments.
    [TYPE_OPERATOR]: typeOperator as unknown as QueryOperator,
    [EQ_OPERATOR]: eqOperator as unknown as QueryOperator,
    [IN_OPERATOR]: inOperator as unknown as QueryOperator,
    [MOD_OPERATOR]: modOperator as unknown as QueryOperator,
  },
  window: windowOperators,
});

/**
 * For mingo's updater, which copies the context it is given and adds the query, comparison and
 * boolean operators it needs on every call: an empty context keeps that copy cheap.
 */
export const UPDATE_CONTEXT = Context.init({});
