import { performance } from 'node:perf_hooks';
import type { ClientSession, Db, Document, MongoClient } from 'mongodb';
import { UsageError } from '../errors.js';
import type { BatchCheckpoint } from '../tracker/records.js';
import type { Tracker } from '../tracker/tracker.js';
import { cursorFilter, pacingOf, walkCursor } from './batch-cursor.js';
import type { CursorState } from './batch-cursor.js';
import { runSplitWalk } from './batch-ranges.js';
import type { BatchContext, BatchOptions, BatchWalk, BatchWalkResult } from '../vocabulary/index.js';

/** Where a walk stands, after each batch (the `change:progress` event's payload, without the run's ids). */
export interface BatchProgress {
  readonly walk: string;
  readonly collection: string;
  /** Documents done over every run of this walk. */
  readonly done: number;
  readonly batches: number;
  /** Documents per second in this run. */
  readonly ratePerSecond: number;
  /** Documents still to walk: counted once when the walk (re)starts, less those done since. */
  readonly remaining: number;
  /** At this run's rate; undefined until a batch is done. */
  readonly etaSeconds: number | undefined;
  readonly complete: boolean;
  /** The size of the batch just done (with `batchSize: 'auto'`, the next one adapts). */
  readonly batchSize: number;
  /** Set while the walk waits before its next batch: how long, and why. */
  readonly paused: { readonly ms: number; readonly reason: string } | undefined;
  /** A split walk (`concurrency` above 1): its ranges, how many are being walked and how many are done. */
  readonly ranges: { readonly total: number; readonly running: number; readonly complete: number } | undefined;
}

export interface BatchWalkerOptions {
  readonly changeId: string;
  readonly db: Db;
  readonly client: MongoClient;
  readonly tracker: Tracker;
  /** Each batch in its own transaction (the deployment has them and the change does not say `never`). */
  readonly transactions: boolean;
  /** Commit only: checkpoints are kept and resumed; a rollback walks from the start every time. */
  readonly checkpointed: boolean;
  /** The change's signal (timeout, Ctrl-C): the walk stops at the next batch boundary. */
  readonly signal: AbortSignal;
  /** The run's default for walks that set no `throttle.maxReplicationLagMs` (`--max-lag`). */
  readonly maxReplicationLagMs?: number | undefined;
  readonly progress: (progress: BatchProgress) => void;
}

/**
 * The `ctx.batches` of one change execution. Each batch reads the next
 * `batchSize` documents after the checkpoint in `_id` order, runs the callback
 * and writes the checkpoint: inside one transaction when the deployment has
 * them, and with the tracker on the same client the checkpoint joins it, so a
 * batch and its checkpoint commit together (each document is done exactly
 * once across runs). Otherwise the checkpoint follows the batch, and a crash
 * between the two repeats that one batch: the callback must then be idempotent.
 * With `concurrency` above 1 the walk is split into `_id` ranges walked side by
 * side, each with a checkpoint of its own (batch-ranges.ts).
 */
export function batchWalker(options: BatchWalkerOptions): BatchWalk {
  let checkpoints: BatchCheckpoint[] | undefined;
  const loadCheckpoints = async () => {
    checkpoints ??= options.checkpointed ? await options.tracker.checkpoints(options.changeId) : [];
    return checkpoints;
  };
  const running = new Set<string>();

  return async (collection, walkOptions, each) => {
    checkOptions(options.changeId, collection, walkOptions);
    const walk = walkOptions.name ?? collection;
    if (running.has(walk)) throw new UsageError(`${options.changeId}: ctx.batches walk ${JSON.stringify(walk)} is already running; give concurrent walks of one collection different names`);
    running.add(walk);
    try {
      const saved = (await loadCheckpoints()).find((c) => c.walk === walk);
      const save = saveWith(options, walk);
      const concurrency = walkOptions.concurrency ?? 1;
      // A walk started with ranges resumes with them, whatever `concurrency` says now; one started
      // as one cursor (a checkpoint of before ranges existed, too) resumes as one cursor.
      if (saved?.ranges !== undefined || (saved === undefined && concurrency > 1)) {
        const walkOne = (from: BatchCheckpoint | undefined) => runWalk(options, { walk, collection, options: walkOptions, each, saved: from, save });
        return await runSplitWalk(options, { walk, collection, options: walkOptions, each, saved, concurrency, save, walkOne });
      }
      if (saved?.complete === true) return { done: saved.done, batches: saved.batches, doneThisRun: 0, resumed: true };
      return await runWalk(options, { walk, collection, options: walkOptions, each, saved, save });
    } finally {
      running.delete(walk);
    }
  };

  /** Replaces this walk's checkpoint in the list and writes the list (in the batch's session when given). */
  function saveWith(walker: BatchWalkerOptions, walk: string) {
    return async (checkpoint: BatchCheckpoint, session: ClientSession | undefined) => {
      if (!walker.checkpointed) return;
      const next = [...(checkpoints ?? []).filter((c) => c.walk !== walk), checkpoint];
      await walker.tracker.saveCheckpoints(walker.changeId, next, session);
      checkpoints = next;
    };
  }
}

interface Walk {
  readonly walk: string;
  readonly collection: string;
  readonly options: BatchOptions;
  readonly each: (docs: Document[], batch: BatchContext) => Promise<void> | void;
  readonly saved: BatchCheckpoint | undefined;
  readonly save: (checkpoint: BatchCheckpoint, session: ClientSession | undefined) => Promise<void>;
}

/** A walk of one cursor over the whole collection (`concurrency` 1, or a split that found one range). */
async function runWalk(walker: BatchWalkerOptions, w: Walk): Promise<BatchWalkResult> {
  const start: BatchCheckpoint = w.saved ?? { walk: w.walk, collection: w.collection, lastId: undefined, done: 0, batches: 0, complete: false, at: new Date() };
  const doneBefore = start.done;
  const started = performance.now();
  // One count per walk start, for the estimate of time left (what the callback changes can make it shrink faster).
  const remainingAtStart = await walker.db.collection(w.collection).countDocuments(cursorFilter({ options: w.options, bounds: undefined }, start.lastId));
  const checkpoint = (state: CursorState): BatchCheckpoint => ({ walk: w.walk, collection: w.collection, ...state, at: new Date() });
  const end = await walkCursor(walker, {
    collection: w.collection,
    options: w.options,
    each: w.each,
    bounds: undefined,
    range: undefined,
    start,
    pacing: pacingOf(walker, w.options),
    signal: walker.signal,
    save: (state, session) => w.save(checkpoint(state), session),
    progressed(state, size, paused) {
      const remaining = state.complete ? 0 : Math.max(0, remainingAtStart - (state.done - doneBefore));
      const perSecond = Math.round(((state.done - doneBefore) * 1000) / Math.max(1, performance.now() - started));
      const etaSeconds = perSecond > 0 ? Math.ceil(remaining / perSecond) : undefined;
      const { done, batches, complete } = state;
      walker.progress({ walk: w.walk, collection: w.collection, done, batches, ratePerSecond: perSecond, remaining, etaSeconds, complete, batchSize: size, paused, ranges: undefined });
    },
  });
  return { done: end.done, batches: end.batches, doneThisRun: end.done - doneBefore, resumed: w.saved !== undefined, ranges: 1 };
}

/** Each range walker holds a connection for its batches; more than this only queues on the pool. */
const MAX_CONCURRENCY = 64;

function checkOptions(changeId: string, collection: unknown, options: BatchOptions | undefined): void {
  const fail = (message: string): never => {
    throw new UsageError(`${changeId}: ctx.batches: ${message}`);
  };
  if (typeof collection !== 'string' || collection === '') fail('the first argument must be a collection name');
  if (options === undefined || typeof options !== 'object') return fail('options { batchSize } are required');
  if (options.batchSize !== 'auto' && (!Number.isInteger(options.batchSize) || options.batchSize < 1)) fail("batchSize must be a positive whole number, or 'auto'");
  if (options.targetBatchMs !== undefined && (!Number.isFinite(options.targetBatchMs) || options.targetBatchMs <= 0)) fail('targetBatchMs must be a positive number of milliseconds');
  const maxLag = options.throttle?.maxReplicationLagMs;
  if (options.throttle !== undefined && (typeof options.throttle !== 'object' || options.throttle === null)) fail('throttle must be an object { maxReplicationLagMs }');
  if (maxLag !== undefined && (!Number.isFinite(maxLag) || maxLag < 0)) fail('throttle.maxReplicationLagMs must be a number of milliseconds, 0 or more');
  if (options.sort !== undefined && options.sort !== 1 && options.sort !== -1) fail('sort must be 1 (ascending _id) or -1 (descending _id)');
  if (options.throttleMs !== undefined && (!Number.isFinite(options.throttleMs) || options.throttleMs < 0)) fail('throttleMs must be a number of milliseconds, 0 or more');
  if (options.concurrency !== undefined && (!Number.isInteger(options.concurrency) || options.concurrency < 1))
    fail(`concurrency must be a positive whole number, got ${JSON.stringify(options.concurrency)}`);
  if (options.concurrency !== undefined && options.concurrency > MAX_CONCURRENCY) fail(`concurrency must be at most ${MAX_CONCURRENCY}`);
}

/** The `ctx.batches` of a change that did not declare `batches: true`: refuses with the fix. */
export function undeclaredBatches(changeId: string): BatchWalk {
  return () =>
    Promise.reject(
      new UsageError(`${changeId} calls ctx.batches but does not declare batches: true; add it to the change so that delta runs it without an outer transaction and resumes it from checkpoints`),
    );
}
