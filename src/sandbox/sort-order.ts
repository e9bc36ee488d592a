// Sorting with mongod's rules: BSON type order, and for array fields the smallest element when
// ascending and the largest when descending (mingo sorts arrays by their smallest element either
// way), an empty array before null and missing.
import type { Document } from 'bson';
import { collatorFor, compareBson } from './bson-order.js';
import { leafValues } from './bson-values.js';
import { CommandError } from './errors.js';

const EMPTY_ARRAY = Symbol('empty-array');

type SortKey = unknown;

function compareKeys(a: SortKey, b: SortKey, collator: Intl.Collator | undefined): number {
  if (a === EMPTY_ARRAY || b === EMPTY_ARRAY) return a === b ? 0 : a === EMPTY_ARRAY ? -1 : 1;
  return compareBson(a, b, collator);
}

function sortKey(document: Document, path: string, direction: 1 | -1, collator: Intl.Collator | undefined): SortKey {
  let best: SortKey | undefined;
  let found = false;
  for (const leaf of leafValues(document, path)) {
    const candidates: SortKey[] = Array.isArray(leaf) ? (leaf.length === 0 ? [EMPTY_ARRAY] : leaf) : [leaf ?? null];
    for (const candidate of candidates) {
      const value = candidate === undefined ? null : candidate;
      if (!found || compareKeys(value, best, collator) * direction < 0) {
        best = value;
        found = true;
      }
    }
  }
  return found ? best : null;
}

/** The ordered (path, direction) pairs of a validated sort document. */
export function sortFields(sort: Document): Array<[string, 1 | -1]> {
  return Object.keys(sort).map((path) => {
    const direction = sort[path];
    if (direction !== 1 && direction !== -1) throw new CommandError('Location15974', `Illegal key in $sort specification: ${path}: ${String(direction)}`);
    return [path, direction];
  });
}

/** Sorts documents (stable, so ties keep their natural order). */
export function sortDocuments<T extends Document>(documents: T[], sort: Document, collation?: unknown): T[] {
  const fields = sortFields(sort);
  const collator = collatorFor(collation);
  const keyed = documents.map((document) => ({ document, keys: fields.map(([path, direction]) => sortKey(document, path, direction, collator)) }));
  keyed.sort((x, y) => {
    for (let i = 0; i < fields.length; i++) {
      const order = compareKeys(x.keys[i], y.keys[i], collator) * (fields[i] as [string, 1 | -1])[1];
      if (order !== 0) return order;
    }
    return 0;
  });
  return keyed.map((entry) => entry.document);
}
