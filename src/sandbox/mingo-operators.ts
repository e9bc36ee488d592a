// The operators the sandbox writes itself because mingo 7 lacks them or answers differently from
// mongod. mingo-context.ts registers them next to mingo's own; each one is small and delegates
// to mingo wherever mingo is right:
// - `$sum` as an accumulator keeps mongod's result type (int → long → double widening);
// - `$top` / `$bottom` return the single output value (mingo returns a one-element array);
// - `$indexOfCP`, `$toObjectId`, and ObjectId conversions in `$toString` / `$convert`;
// - `$addFields` / `$set` with dotted paths through arrays and nested field specifications;
// - `$function`, only for the closures mingo's own `$setWindowFields` builds (client JavaScript
//   never runs: BSON cannot carry a JS function, and `scriptEnabled` stays false).
import { Decimal128, Double, Long, ObjectId } from 'bson';
import type { Document } from 'bson';
import { evalExpr } from 'mingo/core';
import type { Iterator as LazyIterator } from 'mingo/lazy';
import { $bottom, $push, $sum, $top } from 'mingo/operators/accumulator';
import { $convert, $toString } from 'mingo/operators/expression';
import type { AnyObject, Options } from 'mingo/types';
import { bsonTypeOf, isPlainObject, NUMERIC_RANK, numberOf, numericTypeOf } from './bson-values.js';
import type { NumericType } from './bson-values.js';
import { CommandError } from './errors.js';
import { originalOf, queryView } from './query-view.js';

// ---- $sum ------------------------------------------------------------------------------------

const INT32_MIN = -(2n ** 31n);
const INT32_MAX = 2n ** 31n - 1n;
const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

/** The stored value at a plain field path (no array traversal), or undefined. */
function storedAt(document: unknown, path: string): unknown {
  let current: unknown = originalOf(document);
  for (const part of path.split('.')) {
    if (!isPlainObject(current)) return undefined;
    current = current[part];
  }
  return current;
}

/** `value` (computed by mingo over query views) with the BSON type it was stored with, when known. */
function typedValue(value: unknown, document: unknown, path: string | undefined): unknown {
  if (typeof value !== 'number' || path === undefined) return value;
  const stored = storedAt(document, path);
  const n = numberOf(stored);
  return n !== undefined && (n === value || (Number.isNaN(n) && Number.isNaN(value))) ? stored : value;
}

/**
 * Adds numbers as mongod's `$sum` does: the result has the widest input type, an int sum that
 * overflows becomes a long and a long sum that overflows a double; non-numbers are ignored.
 */
export function sumTyped(values: readonly unknown[]): unknown {
  let rank = NUMERIC_RANK.int;
  let exact = 0n;
  let approximate = 0;
  for (const value of values) {
    const type: NumericType | undefined = numericTypeOf(value);
    if (type === undefined) continue;
    rank = Math.max(rank, NUMERIC_RANK[type]);
    const n = numberOf(value) as number;
    approximate += n;
    if (rank <= NUMERIC_RANK.long) exact += type === 'long' ? BigInt(String(value)) : BigInt(n);
  }
  if (rank === NUMERIC_RANK.decimal) return Decimal128.fromString(String(approximate));
  if (rank === NUMERIC_RANK.int && exact >= INT32_MIN && exact <= INT32_MAX) return Number(exact);
  if (rank <= NUMERIC_RANK.long && exact >= INT64_MIN && exact <= INT64_MAX) return Long.fromBigInt(exact);
  // A double that would otherwise be sent as an int32 keeps its type in a wrapper.
  return Number.isInteger(approximate) && bsonTypeOf(approximate) === 'int' ? new Double(approximate) : approximate;
}

/** `$sum` as a `$group` / window accumulator, typed from the stored values of a field path. */
export function $typedSum(collection: AnyObject[], expr: unknown, options: Options): unknown {
  // `{ $sum: [a, b] }` in an expression and `$sum: <constant>` (counting) stay mingo's.
  if (expr === null || expr === undefined || typeof expr === 'number') return $sum(collection, expr, options);
  const path = typeof expr === 'string' && expr.startsWith('$') && !expr.startsWith('$$') ? expr.slice(1) : undefined;
  const values = $push(collection, expr, options);
  return sumTyped(values.map((value, i) => typedValue(value, collection[i], path)));
}

// ---- $top / $bottom ----------------------------------------------------------------------------

type TopSpec = Parameters<typeof $top>[1];

export function $topOne(collection: AnyObject[], expr: TopSpec, options: Options): unknown {
  return ($top(collection, expr, options) as unknown[])[0] ?? null;
}

export function $bottomOne(collection: AnyObject[], expr: TopSpec, options: Options): unknown {
  return ($bottom(collection, expr, options) as unknown[])[0] ?? null;
}

// ---- string and conversion expressions ----------------------------------------------------------

function nonNegativeInteger(value: unknown, code: number, what: string): number {
  const n = numberOf(value);
  if (n === undefined || !Number.isInteger(n)) throw CommandError.withCode(code, `$indexOfCP requires an integral ${what}, found a value of type: ${bsonTypeOf(value)}`);
  if (n < 0) throw CommandError.withCode(code + 1, `$indexOfCP requires a nonnegative ${what}, found: ${n}`);
  return n;
}

/** `$indexOfCP: [string, substring, start?, end?]`: the code-point index of the first occurrence, or -1. */
export function $indexOfCP(obj: unknown, expr: unknown, options: Options): unknown {
  if (!Array.isArray(expr) || expr.length < 2 || expr.length > 4) {
    throw CommandError.withCode(16020, `Expression $indexOfCP takes at least 2 arguments, and at most 4, but ${Array.isArray(expr) ? expr.length : 1} were passed in.`);
  }
  const [input, token, start, end] = evalExpr(obj, expr, options) as unknown[];
  if (input === null || input === undefined) return null;
  if (typeof input !== 'string') throw CommandError.withCode(40093, `$indexOfCP requires a string as the first argument, found: ${bsonTypeOf(input)}`);
  if (typeof token !== 'string') throw CommandError.withCode(40094, `$indexOfCP requires a string as the second argument, found: ${bsonTypeOf(token)}`);
  const points = Array.from(input);
  const needle = Array.from(token);
  const from = start === undefined ? 0 : nonNegativeInteger(start, 40096, 'starting index');
  const to = Math.min(end === undefined ? points.length : nonNegativeInteger(end, 40098, 'ending index'), points.length);
  for (let i = from; i + needle.length <= to; i++) {
    if (needle.every((point, j) => points[i + j] === point)) return i;
  }
  return -1;
}

const CONVERSION_FAILURE = 241;

function conversionFailure(message: string): CommandError {
  return CommandError.withCode(CONVERSION_FAILURE, message, 'ConversionFailure');
}

/** mongod's `$convert` to objectId: a 24-hex-digit string or an ObjectId; null stays null. */
function toObjectId(value: unknown): unknown {
  if (value === null || value === undefined) return null;
  if (value instanceof ObjectId) return value;
  if (typeof value !== 'string') throw conversionFailure(`Unsupported conversion from ${bsonTypeOf(value)} to objectId in $convert with no onError value`);
  if (value.length !== 24) {
    throw conversionFailure(`Failed to parse objectId '${value}' in $convert with no onError value: Invalid string length for parsing to OID, expected 24 but found ${value.length}`);
  }
  if (!/^[0-9a-fA-F]{24}$/.test(value)) throw conversionFailure(`Failed to parse objectId '${value}' in $convert with no onError value: Invalid character found in hex string`);
  return ObjectId.createFromHexString(value);
}

export function $toObjectId(obj: unknown, expr: unknown, options: Options): unknown {
  return toObjectId(evalExpr(obj, expr, options));
}

/** `$toString`, which also renders an ObjectId as its hex string. */
export function $toStringWithObjectId(obj: unknown, expr: unknown, options: Options): unknown {
  const value = evalExpr(obj, expr, options);
  if (value instanceof ObjectId) return value.toHexString();
  return $toString(obj as Document, { $literal: value }, options);
}

/** `$convert`, which also converts to and from objectId. */
export function $convertWithObjectId(obj: unknown, expr: unknown, options: Options): unknown {
  if (!isPlainObject(expr)) return $convert(obj as Document, expr as Parameters<typeof $convert>[1], options);
  const to = evalExpr(obj, expr.to, options);
  const input = evalExpr(obj, expr.input, options);
  if (to === 'objectId' || to === 7) {
    if (input === null || input === undefined) return expr.onNull === undefined ? null : evalExpr(obj, expr.onNull, options);
    try {
      return toObjectId(input);
    } catch (error) {
      if (expr.onError === undefined) throw error;
      return evalExpr(obj, expr.onError, options);
    }
  }
  if (input instanceof ObjectId && (to === 'string' || to === 2)) return input.toHexString();
  return $convert(obj as Document, expr as Parameters<typeof $convert>[1], options);
}

// ---- $function (internal closures only) -----------------------------------------------------

export function $internalFunction(obj: unknown, expr: unknown, options: Options): unknown {
  if (isPlainObject(expr) && typeof expr.body === 'function' && Array.isArray(expr.args)) {
    const body = expr.body as (...args: unknown[]) => unknown;
    return body(...(evalExpr(obj, expr.args, options) as unknown[]));
  }
  throw new CommandError('NotImplemented', 'the $function operator (server-side JavaScript) is not supported by the delta sandbox');
}

// ---- $addFields / $set ----------------------------------------------------------------------

/** A parsed `$addFields` specification: field → expression, or field → nested specification. */
type FieldTree = Map<string, { readonly expression: unknown } | FieldTree>;

function isExpressionObject(value: Document): boolean {
  const first = Object.keys(value)[0];
  return first === undefined || first.startsWith('$');
}

function addToTree(tree: FieldTree, path: string, value: unknown): void {
  const parts = path.split('.');
  let node = tree;
  for (const part of parts.slice(0, -1)) {
    let next = node.get(part);
    if (!(next instanceof Map)) {
      next = new Map();
      node.set(part, next);
    }
    node = next;
  }
  const leaf = parts[parts.length - 1] as string;
  if (isPlainObject(value) && !isExpressionObject(value)) {
    for (const key of Object.keys(value)) addToTree(node, `${leaf}.${key}`, value[key]);
  } else {
    node.set(leaf, { expression: value });
  }
}

function parseFieldTree(spec: unknown): FieldTree {
  if (!isPlainObject(spec)) throw CommandError.withCode(40272, '$addFields specification stage must be an object');
  const tree: FieldTree = new Map();
  for (const path of Object.keys(spec)) {
    if (path.startsWith('$')) throw new CommandError('Location16410', `FieldPath field names may not start with '$'. Consider using $getField or $setField.`);
    if (path === '' || path.split('.').some((part) => part === '')) throw CommandError.withCode(40352, 'FieldPath cannot be constructed with empty string');
    addToTree(tree, path, spec[path]);
  }
  return tree;
}

/**
 * Sets the tree's values into `value` as mongod does: into a document field by field, into every
 * element of an array (nested arrays included), and a scalar or missing value is replaced by a
 * new document of the computed fields. Expressions are evaluated once, against the root.
 */
function applyTree(value: unknown, tree: FieldTree, evaluate: (expression: unknown) => unknown): unknown {
  if (Array.isArray(value)) return value.map((item: unknown) => applyTree(item, tree, evaluate));
  const out: Document = isPlainObject(value) ? { ...value } : {};
  for (const [field, node] of tree) {
    const result = node instanceof Map ? applyTree(out[field], node, evaluate) : evaluate(node.expression);
    if (result === undefined) delete out[field];
    else out[field] = result;
  }
  return out;
}

export function $addFieldsThroughArrays(collection: LazyIterator, spec: unknown, options: Options): LazyIterator {
  const tree = parseFieldTree(spec);
  if (tree.size === 0) return collection;
  return collection.map((document: Document) => {
    const computed = new Map<unknown, unknown>();
    const evaluate = (expression: unknown): unknown => {
      if (!computed.has(expression)) computed.set(expression, evalExpr(document, expression, options));
      return computed.get(expression);
    };
    return applyTree(document, tree, evaluate);
  });
}

// ---- query views between stages --------------------------------------------------------------

/**
 * Turns typed results (Long, Double, Decimal128 from `$sum`) back into query views for the next
 * stage; a document that leaves the pipeline unchanged still comes back with its exact types.
 */
export function $queryViews(collection: LazyIterator, _spec: unknown, _options: Options): LazyIterator {
  return collection.map((document: Document) => queryView(document));
}
