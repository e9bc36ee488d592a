import { performance } from 'node:perf_hooks';
import type { ClientSession, Db, Document, MongoClient } from 'mongodb';
import { UsageError } from '../errors.js';
import type { BatchCheckpoint } from '../tracker/records.js';
import type { Tracker } from '../tracker/tracker.js';
import { inTransaction } from './transactions.js';
import { ReplicationLag } from './replication-lag.js';
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
      if (saved?.complete === true) return { done: saved.done, batches: saved.batches, doneThisRun: 0, resumed: true };
      return await runWalk(options, { walk, collection, options: walkOptions, each, saved, save: saveWith(options, walk) });
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

async function runWalk(walker: BatchWalkerOptions, w: Walk): Promise<BatchWalkResult> {
  const { signal, tracker } = walker;
  const direction = w.options.sort ?? 1;
  const target = walker.db.collection(w.collection);
  let state: BatchCheckpoint = w.saved ?? { walk: w.walk, collection: w.collection, lastId: undefined, done: 0, batches: 0, complete: false, at: new Date() };
  const doneBefore = state.done;
  const started = performance.now();
  const rate = () => Math.round(((state.done - doneBefore) * 1000) / Math.max(1, performance.now() - started));
  const after = (lastId: unknown) => (lastId === undefined ? {} : { _id: { [direction === 1 ? '$gt' : '$lt']: lastId } });
  const matching = (lastId: unknown) => (w.options.filter === undefined ? after(lastId) : { $and: [w.options.filter, after(lastId)] });
  // One count per walk start, for the estimate of time left (what the callback changes can make it shrink faster).
  const remainingAtStart = await target.countDocuments(matching(state.lastId));

  const sizing = batchSizing(w.options);
  const maxLagMs = w.options.throttle?.maxReplicationLagMs ?? walker.maxReplicationLagMs;
  const lag = maxLagMs === undefined ? undefined : new ReplicationLag(walker.client);

  /** One batch: read after the checkpoint, call back, write the checkpoint. True when the walk is over. */
  const batch = async (session: ClientSession | undefined, size: number): Promise<BatchCheckpoint> => {
    const docs = await target.find(matching(state.lastId), { session, sort: { _id: direction }, limit: size }).toArray();
    const last = docs.at(-1);
    if (last === undefined) return { ...state, complete: true, at: new Date() };
    await w.each(docs, { session, batch: state.batches });
    return { ...state, lastId: last._id, done: state.done + docs.length, batches: state.batches + 1, complete: docs.length < size, at: new Date() };
  };
  const report = (size: number, paused: BatchProgress['paused']) => {
    const remaining = state.complete ? 0 : Math.max(0, remainingAtStart - (state.done - doneBefore));
    const perSecond = rate();
    const etaSeconds = perSecond > 0 ? Math.ceil(remaining / perSecond) : undefined;
    walker.progress({
      walk: w.walk,
      collection: w.collection,
      done: state.done,
      batches: state.batches,
      ratePerSecond: perSecond,
      remaining,
      etaSeconds,
      complete: state.complete,
      batchSize: size,
      paused,
    });
  };

  for (;;) {
    // A batch boundary is the one clean place to stop a walk: the checkpoint says where it was.
    if (signal.aborted) throw signal.reason;
    const size = sizing.next();
    const batchStarted = performance.now();
    let commitMs = 0;
    let next: BatchCheckpoint;
    if (walker.transactions) {
      let committing = 0;
      next = await inTransaction(walker.client, signal, async (session) => {
        const done = await batch(session, size);
        if (tracker.sharesTargetClient) await w.save(done, session);
        committing = performance.now();
        return done;
      });
      commitMs = performance.now() - committing;
      if (!tracker.sharesTargetClient) await w.save(next, undefined);
    } else {
      next = await batch(undefined, size);
      await w.save(next, undefined);
    }
    const moved = next.done !== state.done;
    state = next;
    // Only a batch that read documents says how long one takes (the walk's last, empty read does not).
    sizing.done(moved ? performance.now() - batchStarted : undefined);
    if (moved || state.complete) report(size, undefined);
    if (state.complete) return { done: state.done, batches: state.batches, doneThisRun: state.done - doneBefore, resumed: w.saved !== undefined };
    if ((w.options.throttleMs ?? 0) > 0) await sleep(w.options.throttleMs ?? 0, signal);
    if (lag !== undefined) await waitForSecondaries(lag, maxLagMs ?? 0, commitMs, signal, (paused) => report(size, paused));
  }
}

/** Sleeps while the secondaries lag more than `maxLagMs`, reporting each pause; returns at once when they keep up. */
async function waitForSecondaries(lag: ReplicationLag, maxLagMs: number, commitMs: number, signal: AbortSignal, paused: (pause: NonNullable<BatchProgress['paused']>) => void): Promise<void> {
  for (let reading = await lag.read(commitMs); reading.lagMs > maxLagMs && !signal.aborted; reading = await lag.read(0)) {
    // Long enough for the secondaries to catch up part of the way, short enough to notice when they did.
    const ms = Math.min(5_000, Math.max(100, Math.round((reading.lagMs - maxLagMs) / 2)));
    paused({ ms, reason: `replication lag ${Math.round(reading.lagMs)} ms (${reading.source}) above maxReplicationLagMs ${maxLagMs}` });
    await sleep(ms, signal);
    // A commit's duration is a reading of one batch: after a pause the next batch measures again.
    if (reading.source === 'majority commit') return;
  }
}

/** The size of each batch: fixed, or adapted after each one to take about `targetBatchMs`. */
function batchSizing(options: BatchOptions): { next(): number; done(ms: number | undefined): void } {
  if (options.batchSize !== 'auto') {
    const fixed = options.batchSize;
    return { next: () => fixed, done: () => undefined };
  }
  const target = options.targetBatchMs ?? DEFAULT_TARGET_BATCH_MS;
  let size = AUTO_FIRST_BATCH;
  return {
    next: () => size,
    done(ms) {
      if (ms === undefined) return;
      // At most double or halve at a time: one slow batch (a cold cache, a pause elsewhere) must not swing it.
      const ideal = (size * target) / Math.max(1, ms);
      size = Math.round(Math.min(AUTO_MAX_BATCH, Math.max(1, Math.min(size * 2, Math.max(size / 2, ideal)))));
    },
  };
}

const DEFAULT_TARGET_BATCH_MS = 200;
const AUTO_FIRST_BATCH = 100;
const AUTO_MAX_BATCH = 10_000;

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}

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
}

/** The `ctx.batches` of a change that did not declare `batches: true`: refuses with the fix. */
export function undeclaredBatches(changeId: string): BatchWalk {
  return () =>
    Promise.reject(
      new UsageError(`${changeId} calls ctx.batches but does not declare batches: true; add it to the change so that delta runs it without an outer transaction and resumes it from checkpoints`),
    );
}
