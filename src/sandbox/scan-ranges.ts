// Per-field bounds of a (compound) index turned into contiguous ranges of index rows: every
// combination of the leading equality fields' values, times each interval of the next field;
// fields after that are unbounded (the filter re-checks them). Each range knows where a row
// stands relative to it, which is all a binary search and a walk need.
import type { FieldBounds, Interval } from './index-bounds.js';
import { compareToBound, isPoints } from './index-bounds.js';
import { compareKeyValues } from './index-keys.js';
import type { OrderedIndex } from './ordered-index.js';

/** More combinations than this and the field's values are walked as one interval from first to last. */
const MAX_COMBINATIONS = 20_000;

export interface ScanRange {
  /** Values of the leading fields, in key-pattern order. */
  readonly prefix: readonly unknown[];
  /** The interval of the field after the prefix; undefined: unbounded. */
  readonly interval: Interval | undefined;
}

/** The ranges to walk, in walk order (`direction` -1 walks the index backwards). */
export function scanRanges(index: OrderedIndex, bounds: ReadonlyArray<FieldBounds | undefined>, direction: 1 | -1): ScanRange[] {
  let combos: unknown[][] = [[]];
  let field = 0;
  for (; field < index.fields.length; field++) {
    const fieldBound = bounds[field];
    if (fieldBound === undefined || !isPoints(fieldBound)) break;
    if (combos.length * fieldBound.length > MAX_COMBINATIONS) break;
    const values = fieldBound.map((interval) => interval.low.value);
    if (index.directions[field] === -1) values.reverse();
    const next: unknown[][] = [];
    for (const combo of combos) for (const value of values) next.push([...combo, value]);
    combos = next;
  }
  const ranges: ScanRange[] = [];
  const tail = field < index.fields.length ? bounds[field] : undefined;
  const intervals: Array<Interval | undefined> = tail === undefined ? [undefined] : hull(tail, isPoints(tail) && combos.length * tail.length > MAX_COMBINATIONS);
  if (index.directions[field] === -1) intervals.reverse();
  for (const prefix of combos) for (const interval of intervals) ranges.push({ prefix, interval });
  if (direction === -1) ranges.reverse();
  return ranges;
}

function hull(bounds: FieldBounds, merge: boolean): Interval[] {
  if (!merge || bounds.length === 0) return [...bounds];
  return [{ low: (bounds[0] as Interval).low, high: (bounds[bounds.length - 1] as Interval).high }];
}

/**
 * Where a row key stands relative to a range, in index order: negative before it, 0 inside,
 * positive after it. Rows inside one range are contiguous in the index.
 */
export function rangePosition(index: OrderedIndex, range: ScanRange, key: unknown): number {
  const prefix = range.prefix;
  for (let i = 0; i < prefix.length; i++) {
    const order = compareKeyValues(index.keyPart(key, i), prefix[i]);
    if (order !== 0) return order * (index.directions[i] as number);
  }
  const interval = range.interval;
  if (interval === undefined) return 0;
  const field = prefix.length;
  const value = index.keyPart(key, field);
  const direction = index.directions[field] as number;
  const low = compareToBound(value, interval.low.value);
  if (low < 0 || (low === 0 && !interval.low.inclusive)) return -direction;
  const high = compareToBound(value, interval.high.value);
  if (high > 0 || (high === 0 && !interval.high.inclusive)) return direction;
  return 0;
}
