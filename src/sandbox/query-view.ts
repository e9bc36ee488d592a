// Stored documents keep their exact BSON numeric types (Long, an integral Double, Decimal128 as
// bson wrapper objects), which mingo cannot compare or compute with. mingo therefore evaluates a
// "query view" of each document: the same document with those wrappers replaced by JS numbers.
// Each converted container remembers its original so that type-exact operators ($type, exact
// equality) can look back. Views are not cached: a cache entry per stored document (a weak-map
// ephemeron, and a whole converted copy for documents holding wrappers) doubled the memory of a
// scanned collection and slowed every garbage collection, while converting a small document again
// costs less than looking it up.
import type { Document } from 'bson';
import { isNumericWrapper, isPlainObject, numberOf, valueKey } from './bson-values.js';

const ORIGINAL = Symbol('delta-sandbox-original');

function convert(value: unknown): unknown {
  if (value === null || typeof value !== 'object') return value;
  if (isNumericWrapper(value)) return numberOf(value);
  if (Array.isArray(value)) {
    let copy: unknown[] | undefined;
    for (let i = 0; i < value.length; i++) {
      const item = value[i] as unknown;
      const converted = convert(item);
      if (converted !== item) {
        copy ??= value.slice();
        copy[i] = converted;
      }
    }
    return remember(value, copy);
  }
  if (!isPlainObject(value)) return value;
  let copy: Document | undefined;
  for (const key of Object.keys(value)) {
    const item = value[key];
    const converted = convert(item);
    if (converted !== item) {
      copy ??= { ...value };
      copy[key] = converted;
    }
  }
  return remember(value, copy);
}

function remember(original: object, copy: object | undefined): object {
  if (copy === undefined) return original;
  Object.defineProperty(copy, ORIGINAL, { value: original, enumerable: false });
  return copy;
}

/** The document as mingo should see it (itself when it holds no numeric wrapper). */
export function queryView<T>(document: T): T {
  return convert(document) as T;
}

/** The stored value a view (or a part of one) was made from. */
export function originalOf<T>(view: T): T {
  if (view === null || typeof view !== 'object') return view;
  return ((view as Record<symbol, unknown>)[ORIGINAL] as T | undefined) ?? view;
}

/**
 * After mingo computed `result` from the view of `original` (pipeline updates), puts back the
 * numeric wrappers of values that did not change, so untouched fields keep their BSON types.
 */
export function restoreWrappers(original: unknown, result: unknown): unknown {
  if (isNumericWrapper(original)) {
    return typeof result === 'number' && result === numberOf(original) ? original : result;
  }
  if (Array.isArray(original) && Array.isArray(result)) {
    return result.map((item: unknown, i) => (i < original.length ? restoreWrappers(original[i], item) : item));
  }
  if (isPlainObject(original) && isPlainObject(result)) {
    const out: Document = {};
    for (const key of Object.keys(result)) {
      out[key] = Object.prototype.hasOwnProperty.call(original, key) ? restoreWrappers(original[key], result[key]) : result[key];
    }
    return out;
  }
  return result;
}

/** Converts a query operand (filter value) the way documents are converted, for mingo. */
export function numbersOnly<T>(value: T): T {
  return convert(value) as T;
}

/** Exact BSON equality (field order included; numbers by value across types). */
export function sameBson(a: unknown, b: unknown): boolean {
  return valueKey(a) === valueKey(b);
}
