import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import type { ClientSession, Collection, Document } from 'mongodb';
import type { BatchCheckpoint, BatchRanges, RangeCheckpoint } from '../tracker/records.js';
import { cursorFilter, pacingOf, walkCursor } from './batch-cursor.js';
import type { CursorState } from './batch-cursor.js';
import type { BatchWalkerOptions } from './batches.js';
import type { BatchContext, BatchOptions, BatchWalkResult } from '../vocabulary/index.js';

/** Ranges per walker: a walker that finishes its range early takes the next one, so one slow range does not hold the walk up. */
const RANGES_PER_WORKER = 4;

/** A walk split into `_id` ranges (`concurrency` above 1). */
export interface SplitWalk {
  readonly walk: string;
  readonly collection: string;
  readonly options: BatchOptions;
  readonly each: (docs: Document[], batch: BatchContext) => Promise<void> | void;
  /** The walk's checkpoint in the change's record: undefined on its first run. */
  readonly saved: BatchCheckpoint | undefined;
  readonly concurrency: number;
  /** Writes the walk's checkpoint in the change's record (nothing for a walk that keeps none). */
  readonly save: (checkpoint: BatchCheckpoint, session: ClientSession | undefined) => Promise<void>;
  /** Walks the collection as one cursor: where the split finds fewer than two ranges. */
  readonly walkOne: (from: BatchCheckpoint | undefined) => Promise<BatchWalkResult>;
}

/**
 * Walks the ranges of a split walk, up to `concurrency` at once. The split is written to the
 * change's record before the first batch, so a resumed run walks the same ranges (not ones
 * recomputed from documents the first run changed); each range's checkpoint is a document of its
 * own, written in its batch's transaction, so batches of different ranges never write the same
 * document. When every range is done the record says the walk is complete, then the range
 * checkpoints go.
 */
export async function runSplitWalk(walker: BatchWalkerOptions, w: SplitWalk): Promise<BatchWalkResult> {
  const { tracker, changeId, checkpointed } = walker;
  if (w.saved?.complete === true) {
    // A run killed between recording the walk complete and removing its range checkpoints left them.
    if (checkpointed) await tracker.clearRangeCheckpoints(changeId, w.walk);
    return { done: w.saved.done, batches: w.saved.batches, doneThisRun: 0, resumed: true, ranges: (w.saved.ranges?.bounds.length ?? 0) + 1 };
  }
  let ranges = w.saved?.ranges;
  let stored: RangeCheckpoint[] = [];
  let documents: number | undefined;
  if (ranges === undefined) {
    const split = await splitRanges(walker.db.collection(w.collection), w.options.filter, w.concurrency * RANGES_PER_WORKER);
    const bounds = split.bounds;
    documents = split.documents;
    if (bounds.length === 0) return w.walkOne(undefined);
    ranges = { split: randomUUID(), bounds };
    if (checkpointed) {
      // Range checkpoints first (outside any transaction, which also creates their collection), then
      // the split in the record: a run killed in between left only checkpoints no record names.
      await tracker.clearRangeCheckpoints(changeId, w.walk);
      const split = ranges.split;
      await tracker.saveRangeCheckpoints(
        changeId,
        rangeIndexes(ranges).map((range) => ({ walk: w.walk, split, range, lastId: undefined, done: 0, batches: 0, complete: false, at: new Date() })),
      );
      await w.save({ walk: w.walk, collection: w.collection, lastId: undefined, done: 0, batches: 0, complete: false, at: new Date(), ranges }, undefined);
    }
  } else if (checkpointed) {
    const split = ranges.split;
    stored = (await tracker.rangeCheckpoints(changeId, w.walk)).filter((c) => c.split === split);
  }
  return walkRanges(walker, w, ranges, stored, documents);
}

/** Walks the ranges not yet complete; `documents`: how many the split counted, when it was made just now. */
async function walkRanges(walker: BatchWalkerOptions, w: SplitWalk, ranges: BatchRanges, stored: readonly RangeCheckpoint[], documents: number | undefined): Promise<BatchWalkResult> {
  const { tracker, changeId, checkpointed } = walker;
  const indexes = rangeIndexes(ranges);
  const states: CursorState[] = indexes.map((range) => stored.find((c) => c.range === range) ?? { lastId: undefined, done: 0, batches: 0, complete: false });
  const total = () => states.reduce((sum, s) => ({ done: sum.done + s.done, batches: sum.batches + s.batches }), { done: 0, batches: 0 });
  const before = total();
  const queue = ((w.options.sort ?? 1) === 1 ? indexes : [...indexes].reverse()).filter((range) => states[range]?.complete !== true);
  const bounds = (range: number) => rangeBounds(ranges.bounds, range);
  // For the estimate of time left: the split's own count, or on resume one count per range left
  // (each bounded on `_id`, so each reads only its part of the index).
  const target = walker.db.collection(w.collection);
  const remainingAtStart =
    documents ?? (await Promise.all(queue.map((range) => target.countDocuments(cursorFilter({ options: w.options, bounds: bounds(range) }, states[range]?.lastId))))).reduce((a, b) => a + b, 0);
  const started = performance.now();
  const running = new Set<number>();

  const report = (size: number, paused: { readonly ms: number; readonly reason: string } | undefined) => {
    const now = total();
    const complete = states.every((s) => s.complete);
    const remaining = complete ? 0 : Math.max(0, remainingAtStart - (now.done - before.done));
    const perSecond = Math.round(((now.done - before.done) * 1000) / Math.max(1, performance.now() - started));
    walker.progress({
      walk: w.walk,
      collection: w.collection,
      done: now.done,
      batches: now.batches,
      ratePerSecond: perSecond,
      remaining,
      etaSeconds: perSecond > 0 ? Math.ceil(remaining / perSecond) : undefined,
      complete,
      batchSize: size,
      paused,
      ranges: { total: states.length, running: running.size, complete: states.filter((s) => s.complete).length },
    });
  };

  // The change's signal stops every range; so does the first range that fails, at the others' next batch boundary.
  const stop = new AbortController();
  const onAbort = () => stop.abort(walker.signal.reason);
  if (walker.signal.aborted) onAbort();
  walker.signal.addEventListener('abort', onAbort, { once: true });
  let failure: { readonly error: unknown } | undefined;
  // Batch sizes adapt per walker; one lag reader (which learns once whether replSetGetStatus is allowed) serves them all.
  const { lag } = pacingOf(walker, w.options);
  const worker = async () => {
    const pacing = pacingOf(walker, w.options, lag);
    for (let range = queue.shift(); range !== undefined && !stop.signal.aborted; range = queue.shift()) {
      const index = range;
      running.add(index);
      try {
        states[index] = await walkCursor(walker, {
          collection: w.collection,
          options: w.options,
          each: w.each,
          bounds: bounds(index),
          range: index,
          start: states[index] ?? { lastId: undefined, done: 0, batches: 0, complete: false },
          pacing,
          signal: stop.signal,
          save: (state, session) =>
            checkpointed
              ? tracker.saveRangeCheckpoints(
                  changeId,
                  [{ lastId: state.lastId, done: state.done, batches: state.batches, complete: state.complete, walk: w.walk, split: ranges.split, range: index, at: new Date() }],
                  session,
                )
              : Promise.resolve(),
          progressed(state, size, paused) {
            states[index] = state;
            if (state.complete) running.delete(index);
            report(size, paused);
          },
        });
      } catch (error) {
        failure ??= { error };
        stop.abort(error);
      } finally {
        running.delete(index);
      }
    }
  };
  try {
    await Promise.all(Array.from({ length: Math.min(w.concurrency, queue.length) }, worker));
  } finally {
    walker.signal.removeEventListener('abort', onAbort);
  }
  if (failure !== undefined) throw failure.error;
  if (stop.signal.aborted) throw stop.signal.reason;

  const end = total();
  if (checkpointed) {
    // The record first: once it says complete, the range checkpoints are no longer read.
    await w.save({ walk: w.walk, collection: w.collection, lastId: undefined, done: end.done, batches: end.batches, complete: true, at: new Date(), ranges }, undefined);
    await tracker.clearRangeCheckpoints(changeId, w.walk);
  }
  return { done: end.done, batches: end.batches, doneThisRun: end.done - before.done, resumed: w.saved !== undefined, ranges: states.length };
}

function rangeIndexes(ranges: BatchRanges): number[] {
  return Array.from({ length: ranges.bounds.length + 1 }, (_, range) => range);
}

/**
 * The `_id` condition of range `range`: [bounds[range - 1], bounds[range]), the first one open
 * below (documents inserted later below the first bound are still walked), the last open above.
 */
export function rangeBounds(bounds: readonly unknown[], range: number): Document {
  const id: Document = {};
  if (range > 0) id.$gte = bounds[range - 1];
  if (range < bounds.length) id.$lt = bounds[range];
  // `{ _id: {} }` would be an equality with an empty document.
  return Object.keys(id).length === 0 ? {} : { _id: id };
}

/**
 * The lower bounds of the ranges after the first, from the `_id` distribution of the documents
 * the walk's filter selects (`$bucketAuto`, one scan of the `_id` index), and how many there are: none when the
 * collection has fewer than two documents, or `_id`s of more than one BSON type class. MongoDB
 * compares `$gte`/`$lt` only within a type class (`{ $gte: 5 }` never matches an ObjectId), so
 * bounds of one class would leave the other class's documents out of every range.
 */
export async function splitRanges(collection: Collection, filter: Document | undefined, buckets: number): Promise<{ readonly bounds: unknown[]; readonly documents: number }> {
  const pipeline: Document[] = [
    ...(filter === undefined ? [] : [{ $match: filter }]),
    { $project: { _id: 1 } },
    { $bucketAuto: { groupBy: '$_id', buckets, output: { count: { $sum: 1 }, types: { $addToSet: { $type: '$_id' } } } } },
  ];
  const found = await collection.aggregate<{ _id: { min: unknown; max: unknown }; count: number; types: string[] }>(pipeline, { allowDiskUse: true }).toArray();
  const documents = found.reduce((sum, bucket) => sum + bucket.count, 0);
  const classes = new Set(found.flatMap((bucket) => bucket.types.map(typeClass)));
  if (found.length < 2 || classes.size !== 1) return { bounds: [], documents };
  return { bounds: found.slice(1).map((bucket) => bucket._id.min), documents };
}

/** BSON types that compare with each other (MongoDB's comparison order puts them in one bracket). */
function typeClass(type: string): string {
  if (type === 'double' || type === 'int' || type === 'long' || type === 'decimal') return 'number';
  if (type === 'symbol') return 'string';
  return type;
}
