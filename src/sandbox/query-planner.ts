// The query planner: which index (if any) answers a filter and sort. Like mongod it only scans
// the collection when no index is relevant (no bounds on an index's first field and no sort it
// provides); among relevant indexes it counts the index rows each would walk (exact, by binary
// search) and prefers the fewest, a provided sort with a limit counting as at most that many rows.
// Ties go to `_id_`, then to the older index.
//
// Left out (the plan is then a scan, or an index with a blocking sort, never a wrong answer):
// $or plans, index intersection, covered (index-only) plans, non-simple collations.
import type { Document } from 'bson';
import { isPlainObject, valueKey } from './bson-values.js';
import type { Collection } from './collection.js';
import type { IndexEntry } from './index-catalog.js';
import type { FieldBounds } from './index-bounds.js';
import { admitsNull, fieldBounds, isPoints, predicateBounds } from './index-bounds.js';
import type { OrderedIndex } from './ordered-index.js';
import { keyFilterFor } from './key-filter.js';
import type { KeyFilter } from './key-filter.js';
import { impliesPartialFilter } from './partial-filter.js';
import type { ScanRange } from './scan-ranges.js';
import { rangePosition, scanRanges } from './scan-ranges.js';

export interface PlanRequest {
  readonly filter: Document;
  readonly sort?: Document | undefined;
  /** Documents wanted after skip (0/undefined: all). */
  readonly limit?: number | undefined;
  readonly hint?: unknown;
  /** The operation's collation; a non-simple one makes string bounds unsafe, so the plan scans. */
  readonly collation?: unknown;
}

export interface CollectionScanPlan {
  readonly kind: 'collscan';
  readonly sort: Document | undefined;
}

export interface IndexScanPlan {
  readonly kind: 'ixscan';
  readonly index: OrderedIndex;
  readonly bounds: ReadonlyArray<FieldBounds | undefined>;
  readonly ranges: readonly ScanRange[];
  readonly direction: 1 | -1;
  /** Index order is the requested sort order: no blocking sort. */
  readonly providesSort: boolean;
  /** Key positions of the sort fields (ties among equal sort keys go back to natural order). */
  readonly sortPositions: readonly number[];
  /** Decides matches from row keys alone, when the filter allows it (key-filter.ts). */
  readonly keyFilter: KeyFilter | undefined;
  readonly sort: Document | undefined;
}

export type QueryPlan = CollectionScanPlan | IndexScanPlan;

function isSimple(collation: unknown): boolean {
  return !isPlainObject(collation) || collation.locale === undefined || collation.locale === 'simple';
}

/** Index shapes the planner understands: ascending/descending fields, no numeric path parts. */
function plannable(index: OrderedIndex, entry: IndexEntry | undefined): boolean {
  if (entry !== undefined && (entry.spec.hidden === true || !isSimple(entry.spec.collation))) return false;
  return index.fields.every((field) => {
    const direction = index.keyPattern[field] as unknown;
    const numeric = typeof direction === 'number' || (typeof direction === 'object' && direction !== null && typeof (direction as { valueOf(): unknown }).valueOf() === 'number');
    return numeric && !field.includes('$') && !field.split('.').some((part) => /^\d+$/.test(part));
  });
}

/** The walk direction in which the index yields `sort` order, or undefined. */
function sortDirection(index: OrderedIndex, bounds: ReadonlyArray<FieldBounds | undefined>, sort: Array<[string, number]>): { direction: 1 | -1; positions: number[] } | undefined {
  let j = 0;
  let direction: 1 | -1 | undefined;
  const positions: number[] = [];
  for (let i = 0; i < index.fields.length && j < sort.length; i++) {
    const [path, order] = sort[j] as [string, number];
    if (index.fields[i] === path) {
      if (index.multikey[i] === true) return undefined;
      const wanted = (order * (index.directions[i] as number) > 0 ? 1 : -1) as 1 | -1;
      if (direction !== undefined && direction !== wanted) return undefined;
      direction = wanted;
      positions.push(i);
      j++;
      continue;
    }
    const fieldBound = bounds[i];
    if (fieldBound === undefined || !isPoints(fieldBound) || fieldBound.length !== 1) return undefined;
  }
  return j === sort.length && direction !== undefined ? { direction, positions } : undefined;
}

/** Index rows inside the ranges, counting no further than `cap`. */
export function countRows(index: OrderedIndex, ranges: readonly ScanRange[], cap: number): number {
  let total = 0;
  for (const range of ranges) {
    const first = index.rows.lowerBound((row) => rangePosition(index, range, row.k));
    if (first === undefined) continue;
    const after = index.rows.lowerBound((row) => (rangePosition(index, range, row.k) > 0 ? 1 : -1));
    total += (after === undefined ? index.rows.size : index.rows.rank(after)) - index.rows.rank(first);
    if (total >= cap) return cap;
  }
  return total;
}

function hintedIndex(collection: Collection, hint: unknown): OrderedIndex | 'natural' | undefined {
  if (hint === undefined || hint === null) return undefined;
  if (typeof hint === 'string') return collection.orderedIndexes().find((index) => index.name === hint);
  if (!isPlainObject(hint) || Object.keys(hint).length === 0) return undefined;
  if (Object.prototype.hasOwnProperty.call(hint, '$natural')) return 'natural';
  const key = valueKey(hint);
  return collection.orderedIndexes().find((index) => valueKey(index.keyPattern) === key);
}

/** Chooses how to answer `request` on `collection`. */
export function planQuery(collection: Collection, request: PlanRequest): QueryPlan {
  const sort = request.sort;
  const scan: CollectionScanPlan = { kind: 'collscan', sort };
  const hinted = hintedIndex(collection, request.hint);
  if (hinted === 'natural') return scan;
  if (!isSimple(request.collation) || !isSimple(collection.options.collation)) return scan;
  const sortFields = sort === undefined ? [] : Object.keys(sort).map((path) => [path, Number(sort[path])] as [string, number]);
  const predicates = predicateBounds(request.filter);
  const entries: Array<[OrderedIndex, IndexEntry | undefined]> = [[collection.idIndex, undefined], ...collection.indexes.map((entry): [OrderedIndex, IndexEntry] => [entry.ordered, entry])];
  const candidates: Array<Omit<IndexScanPlan, 'keyFilter'>> = [];
  for (const [index, entry] of entries) {
    if ((hinted !== undefined && index !== hinted) || !plannable(index, entry)) continue;
    const partial = entry?.spec.partialFilterExpression;
    if (isPlainObject(partial) && !impliesPartialFilter(request.filter, partial)) continue;
    const bounds = index.fields.map((field, i) => fieldBounds(predicates.get(field), index.multikey[i] === true));
    if (index.sparse && hinted === undefined && !bounds.some((b) => b !== undefined && !admitsNull(b))) continue;
    const sorted = sortFields.length === 0 ? undefined : sortDirection(index, bounds, sortFields);
    if (bounds[0] === undefined && sorted === undefined && hinted === undefined) continue;
    const direction = sorted?.direction ?? 1;
    const ranges = scanRanges(index, bounds, direction);
    candidates.push({ kind: 'ixscan', index, bounds, ranges, direction, providesSort: sorted !== undefined, sortPositions: sorted?.positions ?? [], sort });
  }
  let best: { candidate: Omit<IndexScanPlan, 'keyFilter'>; cost: number } | undefined;
  const limit = request.limit !== undefined && request.limit > 0 ? request.limit : undefined;
  for (const candidate of candidates) {
    // Counting decides between indexes; a lone candidate needs no count.
    const rows = candidates.length === 1 ? 0 : countRows(candidate.index, candidate.ranges, best === undefined ? Number.POSITIVE_INFINITY : best.cost * 20 + 1);
    let cost = rows;
    if (candidate.providesSort && limit !== undefined) cost = Math.min(rows, limit * (Object.keys(request.filter).length === 0 ? 1 : 10));
    if (sortFields.length > 0 && !candidate.providesSort) cost += rows * Math.log2(rows + 2) * 0.1;
    if (best === undefined || cost < best.cost) best = { candidate, cost };
  }
  if (best !== undefined) return { ...best.candidate, keyFilter: keyFilterFor(request.filter, best.candidate.index) };
  // A hinted index the planner cannot use safely (collation, partial filter not implied) scans.
  return scan;
}
