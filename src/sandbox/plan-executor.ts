// Runs a query plan lazily: walks the plan's index ranges (or the collection), fetches the version
// of each document the read view sees, and keeps those the full filter matches, so an index only
// ever narrows the candidates and the matcher stays the single judge of a match.
//
// Order: with a sort the index provides, documents come in sort order, and documents with equal
// sort keys in natural (record id) order, as the scan-and-stable-sort path returns them; with a
// sort the plan does not provide, they come in natural order for the blocking sort that follows.
//
// A paused walk (a cursor between batches, a time slice) re-seeks from the last row it returned
// when the index changed meanwhile; a document is returned at most once per walk.
import type { Document } from 'bson';
import type { Collection } from './collection.js';
import type { DocChain, ReadView } from './doc-versions.js';
import { CommandError, TRANSIENT_TRANSACTION_ERROR } from './errors.js';
import { compareKeyValues } from './index-keys.js';
import type { IndexRow, OrderedIndex } from './ordered-index.js';
import type { CompiledFilter } from './query-engine.js';
import type { IndexScanPlan, QueryPlan } from './query-planner.js';
import type { ScanRange } from './scan-ranges.js';
import { rangePosition } from './scan-ranges.js';
import { PAUSE } from './time-slice.js';
import type { Pause, TimeSlice } from './time-slice.js';

/** Rows of one range in walk order, robust against index changes between two rows. */
function* walkRange(index: OrderedIndex, range: ScanRange, direction: 1 | -1): Generator<IndexRow> {
  const rows = index.rows;
  let position = direction === 1 ? rows.lowerBound((row) => rangePosition(index, range, row.k)) : rows.lastAtOrBefore((row) => rangePosition(index, range, row.k));
  let version = rows.version;
  while (position !== undefined) {
    const row = rows.at(position);
    if (rangePosition(index, range, row.k) !== 0) return;
    yield row;
    if (rows.version === version) {
      position = rows.step(position, direction);
      continue;
    }
    const order = (other: IndexRow): number => index.compareKeys(other.k, row.k) || other.c.rid - row.c.rid;
    position = direction === 1 ? rows.lowerBound((other) => (order(other) > 0 ? 1 : -1)) : rows.lastAtOrBefore((other) => (order(other) < 0 ? -1 : 1));
    version = rows.version;
  }
}

function planKilled(index: OrderedIndex): CommandError {
  return CommandError.withCode(175, `PlanExecutor error during find command :: caused by :: index '${index.name}' dropped`, 'QueryPlanKilled');
}

function* collectionScan(collection: Collection, filter: CompiledFilter, view: ReadView, slice: TimeSlice | undefined): Generator<Document | Pause> {
  for (const chain of collection.chains.values()) {
    if (slice?.expired() === true) {
      yield PAUSE;
      slice.restart();
    }
    const document = collection.visible(chain, view);
    if (document !== null && filter.test(document)) yield document;
  }
}

interface Matched {
  readonly document: Document;
  readonly row: IndexRow;
}

function* indexScan(collection: Collection, plan: IndexScanPlan, filter: CompiledFilter, view: ReadView, slice: TimeSlice | undefined): Generator<Matched | Pause> {
  const index = plan.index;
  const isId = index === collection.idIndex;
  // Each document has one _id row; secondary rows (multikey, old versions) may repeat a document.
  const seen = isId ? undefined : new Set<DocChain>();
  // A row of a version the view does not see must not place the document in sort order, nor
  // decide a match through the key filter (its key is that of another version).
  const keyFilter = plan.keyFilter;
  const checkKey = (plan.providesSort || keyFilter !== undefined) && !isId;
  for (const range of plan.ranges) {
    for (const row of walkRange(index, range, plan.direction)) {
      if (slice?.expired() === true) {
        yield PAUSE;
        slice.restart();
      }
      // Dropped between two batches or during a pause: its rows are no longer kept up to date.
      if (index.dropped) throw planKilled(index);
      const chain = row.c;
      if (seen?.has(chain) === true) continue;
      const document = collection.visible(chain, view);
      if (document === null) continue;
      if (checkKey && !index.keysOf(document).some((key) => index.compareKeys(key, row.k) === 0)) continue;
      const decided = keyFilter?.(row.k);
      if (decided === false || (decided === undefined && !filter.test(document))) continue;
      seen?.add(chain);
      yield { document, row };
    }
  }
}

/** Documents with equal sort keys back in natural order (index order may differ for ties). */
function* naturalTies(plan: IndexScanPlan, source: Generator<Matched | Pause>): Generator<Document | Pause> {
  const index = plan.index;
  const positions = plan.sortPositions;
  let run: Matched[] = [];
  const sameSortKey = (a: unknown, b: unknown): boolean => positions.every((i) => compareKeyValues(index.keyPart(a, i), index.keyPart(b, i)) === 0);
  const flush = function* (): Generator<Document> {
    if (run.length > 1) run.sort((a, b) => a.row.c.rid - b.row.c.rid);
    for (const matched of run) yield matched.document;
    run = [];
  };
  for (const item of source) {
    if (item === PAUSE) {
      yield item;
      continue;
    }
    const head = run[0];
    if (head !== undefined && !sameSortKey(head.row.k, item.row.k)) yield* flush();
    run.push(item);
  }
  yield* flush();
}

/** Every match in natural order, for a sort the index does not provide. */
function* naturalOrder(source: Generator<Matched | Pause>): Generator<Document | Pause> {
  const all: Matched[] = [];
  for (const item of source) {
    if (item === PAUSE) yield item;
    else all.push(item);
  }
  all.sort((a, b) => a.row.c.rid - b.row.c.rid);
  for (const matched of all) yield matched.document;
}

function* documentsOf(source: Generator<Matched | Pause>): Generator<Document | Pause> {
  for (const item of source) yield item === PAUSE ? item : item.document;
}

/**
 * The documents of `collection` matching `filter` as `view` sees them, through `plan`. With a
 * `slice`, PAUSE is yielded whenever the slice ran out (the reader lets the event loop run).
 */
export function executePlan(collection: Collection, plan: QueryPlan, filter: CompiledFilter, view: ReadView, slice?: TimeSlice): Generator<Document | Pause> {
  if (plan.kind === 'collscan') return collectionScan(collection, filter, view, slice);
  const matches = indexScan(collection, plan, filter, view, slice);
  if (plan.sort === undefined) return documentsOf(matches);
  if (!plan.providesSort) return naturalOrder(matches);
  const index = plan.index;
  const tiesInOrder = index === collection.idIndex || (plan.direction === 1 && plan.sortPositions.length === index.fields.length);
  return tiesInOrder ? documentsOf(matches) : naturalTies(plan, matches);
}

/** executePlan without time slices: only documents. */
export function planDocuments(collection: Collection, plan: QueryPlan, filter: CompiledFilter, view: ReadView): Generator<Document> {
  return executePlan(collection, plan, filter, view) as Generator<Document>;
}

/** What a sliced reader does after a pause: stop when the transaction or collection went away. */
export function assertStillReadable(collection: Collection, current: Collection | undefined, txn: { readonly state: string } | undefined): void {
  if (txn !== undefined && txn.state !== 'inProgress') {
    throw new CommandError('NoSuchTransaction', 'Transaction was aborted while the operation yielded', { errorLabels: [TRANSIENT_TRANSACTION_ERROR] });
  }
  if (current !== collection) throw CommandError.withCode(175, `PlanExecutor error :: caused by :: collection ${collection.namespace} dropped while the operation yielded`, 'QueryPlanKilled');
}
