// From a filter to index bounds: for each field path, the intervals of key values a matching
// document can have there. Bounds are allowed to be wider than the filter (the executor re-checks
// every document with the full filter) but never narrower: whatever is unsure gets no bounds.
//
// Handled: equality (scalars, null, documents), $eq, $in (without regexes or arrays), and
// $gt/$gte/$lt/$lte with mongod's type bracketing ({ $gt: 5 } stays among numbers), inside
// top-level fields and $and. Everything else ($ne, $nin, $not, $exists, $regex, $type, $elemMatch,
// $or, $nor, $expr, array equality, ...) leaves the field unbounded.
import type { Document } from 'bson';
import { bsonTypeOf, isPlainObject } from './bson-values.js';
import { compareKeyValues, keyRank } from './index-keys.js';

/** The edge of one type's range of values: before all of them ('low') or after ('high'). */
export class TypeEdge {
  constructor(
    readonly rank: number,
    readonly side: 'low' | 'high',
  ) {}
}

export interface Bound {
  /** A key value, or a TypeEdge. */
  readonly value: unknown;
  readonly inclusive: boolean;
}

/** Key values from `low` to `high` in ascending BSON order. */
export interface Interval {
  readonly low: Bound;
  readonly high: Bound;
}

/** Disjoint intervals in ascending order; [] matches nothing. */
export type FieldBounds = readonly Interval[];

/** Where a key value lies relative to a bound: negative before it, positive after, 0 on it. */
export function compareToBound(value: unknown, bound: unknown): number {
  if (bound instanceof TypeEdge) {
    const rank = keyRank(value);
    if (rank !== bound.rank) return rank < bound.rank ? -1 : 1;
    return bound.side === 'low' ? 1 : -1;
  }
  return compareKeyValues(value, bound);
}

/** Order of two bounds (key values or type edges). */
export function compareBounds(a: unknown, b: unknown): number {
  if (a instanceof TypeEdge && b instanceof TypeEdge) {
    if (a.rank !== b.rank) return a.rank < b.rank ? -1 : 1;
    return a.side === b.side ? 0 : a.side === 'low' ? -1 : 1;
  }
  if (a instanceof TypeEdge) return -compareToBound(b, a);
  return compareToBound(a, b);
}

/** Whether `value` lies inside `interval`. */
export function inInterval(value: unknown, interval: Interval): boolean {
  const low = compareToBound(value, interval.low.value);
  if (low < 0 || (low === 0 && !interval.low.inclusive)) return false;
  const high = compareToBound(value, interval.high.value);
  return high < 0 || (high === 0 && interval.high.inclusive);
}

const POINT_TYPES = new Set(['double', 'int', 'long', 'decimal', 'string', 'symbol', 'objectId', 'bool', 'date', 'timestamp', 'null', 'binData']);
const RANGE_TYPES = new Set(['double', 'int', 'long', 'decimal', 'string', 'symbol', 'objectId', 'bool', 'date', 'timestamp']);
const NUMERIC = new Set(['double', 'int', 'long', 'decimal']);

function pointOperand(value: unknown): boolean {
  if (isPlainObject(value)) return !Object.keys(value).some((key) => key.startsWith('$'));
  return POINT_TYPES.has(bsonTypeOf(value));
}

function point(value: unknown): Interval {
  const bound = { value, inclusive: true };
  return { low: bound, high: bound };
}

function pointsOf(values: readonly unknown[]): FieldBounds {
  const sorted = [...values].sort(compareKeyValues);
  return sorted.filter((value, i) => i === 0 || compareKeyValues(sorted[i - 1], value) !== 0).map(point);
}

/** The bounds of one operator on a field; undefined when it gives none. */
function operatorBounds(op: string, operand: unknown): FieldBounds | undefined {
  switch (op) {
    case '$eq':
      return pointOperand(operand) ? [point(operand)] : undefined;
    case '$in':
      if (!Array.isArray(operand) || !operand.every(pointOperand)) return undefined;
      return pointsOf(operand);
    case '$gt':
    case '$gte':
    case '$lt':
    case '$lte': {
      const type = bsonTypeOf(operand);
      if (!RANGE_TYPES.has(type)) return undefined;
      // Numbers are compared as doubles here: inclusive edges keep Long/Decimal128 rounding safe.
      const inclusive = op.endsWith('e') || NUMERIC.has(type);
      const rank = keyRank(operand);
      if (op === '$gt' || op === '$gte') return [{ low: { value: operand, inclusive }, high: { value: new TypeEdge(rank, 'high'), inclusive: true } }];
      return [{ low: { value: new TypeEdge(rank, 'low'), inclusive: true }, high: { value: operand, inclusive } }];
    }
    default:
      return undefined;
  }
}

/** Each predicate's bounds, per field path (several predicates on one path are kept apart). */
export function predicateBounds(filter: Document): Map<string, FieldBounds[]> {
  const out = new Map<string, FieldBounds[]>();
  const add = (path: string, bounds: FieldBounds): void => {
    const list = out.get(path);
    if (list === undefined) out.set(path, [bounds]);
    else list.push(bounds);
  };
  const visit = (clause: Document): void => {
    for (const key of Object.keys(clause)) {
      const value = clause[key];
      if (key === '$and' && Array.isArray(value)) {
        for (const item of value) if (isPlainObject(item)) visit(item);
        continue;
      }
      if (key.startsWith('$')) continue;
      if (isPlainObject(value)) {
        const ops = Object.keys(value);
        const operators = ops.filter((op) => op.startsWith('$'));
        if (operators.length === 0) {
          add(key, [point(value)]);
          continue;
        }
        if (operators.length !== ops.length) continue;
        for (const op of ops) {
          const bounds = operatorBounds(op, value[op]);
          if (bounds !== undefined) add(key, bounds);
        }
        continue;
      }
      const bounds = operatorBounds('$eq', value);
      if (bounds !== undefined) add(key, bounds);
    }
  };
  visit(filter);
  return out;
}

function intersectIntervals(a: Interval, b: Interval): Interval | undefined {
  const lowOrder = compareBounds(a.low.value, b.low.value);
  const low = lowOrder > 0 ? a.low : lowOrder < 0 ? b.low : { value: a.low.value, inclusive: a.low.inclusive && b.low.inclusive };
  const highOrder = compareBounds(a.high.value, b.high.value);
  const high = highOrder < 0 ? a.high : highOrder > 0 ? b.high : { value: a.high.value, inclusive: a.high.inclusive && b.high.inclusive };
  const order = compareBounds(low.value, high.value);
  if (order > 0 || (order === 0 && !(low.inclusive && high.inclusive))) return undefined;
  return { low, high };
}

function intersect(a: FieldBounds, b: FieldBounds): FieldBounds {
  const out: Interval[] = [];
  for (const x of a) {
    for (const y of b) {
      const both = intersectIntervals(x, y);
      if (both !== undefined) out.push(both);
    }
  }
  return out.sort((x, y) => compareBounds(x.low.value, y.low.value));
}

/**
 * The bounds of one index field from the predicates on its path. On a multikey field the
 * predicates may be satisfied by different array elements, so they cannot be intersected: one
 * predicate is used (an equality first, as it is the most selective) and the rest is re-checked.
 */
export function fieldBounds(predicates: readonly FieldBounds[] | undefined, multikey: boolean): FieldBounds | undefined {
  if (predicates === undefined || predicates.length === 0) return undefined;
  if (multikey) return predicates.find(isPoints) ?? predicates[0];
  return predicates.reduce(intersect);
}

/** Whether bounds are single values only (equality or $in). */
export function isPoints(bounds: FieldBounds): boolean {
  return bounds.every((interval) => interval.low === interval.high || (interval.low.inclusive && interval.high.inclusive && compareBounds(interval.low.value, interval.high.value) === 0));
}

/** Whether the bounds can contain null (a missing field: sparse indexes do not hold it). */
export function admitsNull(bounds: FieldBounds): boolean {
  return bounds.some((interval) => inInterval(null, interval));
}

/** mongod's rendering of bounds in explain: `[1, 1]`, `(5, inf.0]`, `["a", {})`. */
export function renderInterval(interval: Interval, reversed: boolean): string {
  const render = (bound: Bound, side: 'low' | 'high'): string => {
    const value = bound.value;
    if (value instanceof TypeEdge) return edgeText(value, side);
    if (typeof value === 'string') return JSON.stringify(value);
    if (value instanceof Date) return `new Date(${value.getTime()})`;
    if (value === null) return 'null';
    return String(value);
  };
  const [first, last] = reversed ? [interval.high, interval.low] : [interval.low, interval.high];
  const open = first.inclusive ? '[' : '(';
  const close = last.inclusive ? ']' : ')';
  return `${open}${render(first, reversed ? 'high' : 'low')}, ${render(last, reversed ? 'low' : 'high')}${close}`;
}

function edgeText(edge: TypeEdge, side: 'low' | 'high'): string {
  const names: Record<number, [string, string]> = {
    3: ['-inf.0', 'inf.0'],
    4: ['""', '{}'],
    8: ["ObjectId('000000000000000000000000')", "ObjectId('ffffffffffffffffffffffff')"],
    9: ['false', 'true'],
    10: ['new Date(-9223372036854775808)', 'new Date(9223372036854775807)'],
  };
  const pair = names[edge.rank];
  if (pair === undefined) return edge.side === 'low' ? 'MinKey' : 'MaxKey';
  return side === 'low' ? pair[0] : pair[1];
}
