// Index keys as the ordered indexes store them: the values a document has at an index path
// (arrays expanded, as a multikey index does; missing is null; an empty array is its own key,
// ordered after MinKey and before null as mongod's `undefined` key is), and their BSON order.
//
// Extraction may produce more keys than mongod would (a null beside the elements of an array of
// scalars on a dotted path, the cartesian product of compound multikey values): an index is only
// ever used to find candidates that the full filter then checks, so extra keys cost time, never
// correctness, while a missing key would lose a document.
import type { Document } from 'bson';
import { compareBson, typeRank } from './bson-order.js';
import { isPlainObject } from './bson-values.js';

/** The key of an empty array. */
export const EMPTY_ARRAY_KEY: unique symbol = Symbol('empty-array-key');

/** The type rank of an index key value (the empty-array key sits between MinKey and null). */
export function keyRank(value: unknown): number {
  return value === EMPTY_ARRAY_KEY ? 1.5 : typeRank(value);
}

/** BSON order of two index key values (numbers by value across types, mongod's type order). */
export function compareKeyValues(a: unknown, b: unknown): number {
  // Fast paths for the common keys (same answers as compareBson, NaN left to it).
  if (typeof a === 'number' && typeof b === 'number') {
    if (a < b) return -1;
    if (a > b) return 1;
    if (a === b) return 0;
  } else if (typeof a === 'string' && typeof b === 'string') {
    return a < b ? -1 : a > b ? 1 : 0;
  }
  if (a === EMPTY_ARRAY_KEY || b === EMPTY_ARRAY_KEY) {
    if (a === b) return 0;
    return keyRank(a) < keyRank(b) ? -1 : 1;
  }
  return compareBson(a, b);
}

export interface PathValues {
  readonly values: unknown[];
  /** An array was met on the path (the index becomes multikey for this field). */
  readonly multikey: boolean;
}

/** The key values at the end of a path: an array's elements (multikey), or the value itself. */
function leafKeys(value: unknown): PathValues {
  if (!Array.isArray(value)) return { values: [value === undefined ? null : value], multikey: false };
  if (value.length === 0) return { values: [EMPTY_ARRAY_KEY], multikey: true };
  return { values: value.map((item: unknown) => (item === undefined ? null : item)), multikey: true };
}

/** The key values of `document` at a dotted `path`. */
export function pathValues(document: Document, path: string): PathValues {
  // Top-level fields (most indexes, and `_id`): no path walk.
  if (!path.includes('.')) return leafKeys(Object.prototype.hasOwnProperty.call(document, path) ? document[path] : undefined);
  const parts = path.split('.');
  const values: unknown[] = [];
  let multikey = false;
  const walk = (value: unknown, index: number): void => {
    if (index === parts.length) {
      if (Array.isArray(value)) {
        multikey = true;
        if (value.length === 0) values.push(EMPTY_ARRAY_KEY);
        for (const item of value) values.push(item === undefined ? null : item);
      } else {
        values.push(value === undefined ? null : value);
      }
      return;
    }
    if (Array.isArray(value)) {
      multikey = true;
      let missing = value.length === 0;
      for (const item of value) {
        if (isPlainObject(item)) walk(item, index);
        else missing = true;
      }
      if (missing) values.push(null);
      return;
    }
    if (isPlainObject(value)) {
      const part = parts[index] as string;
      walk(Object.prototype.hasOwnProperty.call(value, part) ? value[part] : undefined, index + 1);
      return;
    }
    values.push(null);
  };
  walk(document, 0);
  return { values, multikey };
}
