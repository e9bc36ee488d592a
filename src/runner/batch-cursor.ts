import { performance } from 'node:perf_hooks';
import type { ClientSession, Document } from 'mongodb';
import { inTransaction } from './transactions.js';
import { ReplicationLag } from './replication-lag.js';
import { typesAfter } from './id-order.js';
import type { BatchProgress, BatchWalkerOptions } from './batches.js';
import type { BatchContext, BatchOptions } from '../vocabulary/index.js';

/** Where one cursor of a walk stands (the whole walk, or one range of a split one). */
export interface CursorState {
  /** The `_id` of the last document done; undefined before the first batch. */
  readonly lastId: unknown;
  readonly done: number;
  readonly batches: number;
  readonly complete: boolean;
}

/** How a walk's batches are paced: one per walk, or one per worker of a split walk. */
export interface Pacing {
  readonly sizing: BatchSizing;
  readonly lag: ReplicationLag | undefined;
  readonly maxLagMs: number;
}

export interface BatchSizing {
  next(): number;
  done(ms: number | undefined): void;
}

/** One cursor: the documents of `bounds` that match the walk's filter, walked in `_id` order from `start`. */
export interface CursorWalk {
  readonly collection: string;
  readonly options: BatchOptions;
  readonly each: (docs: Document[], batch: BatchContext) => Promise<void> | void;
  /** The range's `_id` bounds; undefined for a walk that is not split. */
  readonly bounds: Document | undefined;
  /** The range's index, given to the callback. */
  readonly range: number | undefined;
  readonly start: CursorState;
  readonly pacing: Pacing;
  /** Stops the cursor at its next batch boundary. */
  readonly signal: AbortSignal;
  /** Writes the checkpoint: in the batch's session when given, after the batch's commit otherwise. */
  save(state: CursorState, session: ClientSession | undefined): Promise<void>;
  /** After each batch that read documents, the last one, and each pause. */
  progressed(state: CursorState, size: number, paused: BatchProgress['paused']): void;
}

/** The documents of a cursor after `lastId` in the walk's direction, within its bounds and filter. */
export function cursorFilter(walk: Pick<CursorWalk, 'options' | 'bounds'>, lastId: unknown): Document {
  const direction = walk.options.sort ?? 1;
  const parts = [walk.options.filter, walk.bounds, lastId === undefined ? undefined : { _id: { [direction === 1 ? '$gt' : '$lt']: lastId } }].filter(
    (part): part is Document => part !== undefined && Object.keys(part).length > 0,
  );
  return parts.length === 0 ? {} : parts.length === 1 ? (parts[0] ?? {}) : { $and: parts };
}

/** The documents of a cursor whose `_id` is of one of the `$type`s given, within its bounds and filter. */
function laterClassesFilter(walk: Pick<CursorWalk, 'options' | 'bounds'>, types: readonly string[]): Document {
  const parts = [walk.options.filter, walk.bounds, { _id: { $type: [...types] } }].filter((part): part is Document => part !== undefined && Object.keys(part).length > 0);
  return parts.length === 1 ? (parts[0] ?? {}) : { $and: parts };
}

/**
 * Walks one cursor to its end. Each batch reads the next documents after the checkpoint, runs the
 * callback and writes the checkpoint: inside one transaction when the deployment has them, and
 * with the tracker on the same client the checkpoint joins it, so a batch and its checkpoint
 * commit together (each document is done exactly once across runs). Otherwise the checkpoint
 * follows the batch, and a crash between the two repeats that one batch.
 */
export async function walkCursor(walker: BatchWalkerOptions, w: CursorWalk): Promise<CursorState> {
  const { tracker } = walker;
  const { signal, pacing } = w;
  const direction = w.options.sort ?? 1;
  const target = walker.db.collection(w.collection);
  let state = w.start;

  /** One batch: read after the checkpoint, call back; the state after it. */
  const batch = async (session: ClientSession | undefined, size: number): Promise<CursorState> => {
    const docs = await target.find(cursorFilter(w, state.lastId), { session, sort: { _id: direction }, limit: size }).toArray();
    // A short read may only mean that the last `_id`'s type class ran out ($gt/$lt stay within
    // it): the documents of the classes after it follow, in the same order (see id-order.ts).
    const lastRead = docs.at(-1)?._id ?? state.lastId;
    const later = docs.length < size && lastRead !== undefined ? typesAfter(lastRead, direction) : undefined;
    if (later !== undefined && later.length > 0) {
      docs.push(...(await target.find(laterClassesFilter(w, later), { session, sort: { _id: direction }, limit: size - docs.length }).toArray()));
    }
    const last = docs.at(-1);
    if (last === undefined) return { ...state, complete: true };
    await w.each(docs, { session, batch: state.batches, range: w.range });
    return { lastId: last._id, done: state.done + docs.length, batches: state.batches + 1, complete: docs.length < size };
  };

  for (;;) {
    // A batch boundary is the one clean place to stop a walk: the checkpoint says where it was.
    if (signal.aborted) throw signal.reason;
    const size = pacing.sizing.next();
    const batchStarted = performance.now();
    let commitMs = 0;
    let next: CursorState;
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
    pacing.sizing.done(moved ? performance.now() - batchStarted : undefined);
    if (moved || state.complete) w.progressed(state, size, undefined);
    if (state.complete) return state;
    if ((w.options.throttleMs ?? 0) > 0) await sleep(w.options.throttleMs ?? 0, signal);
    if (pacing.lag !== undefined) await waitForSecondaries(pacing.lag, pacing.maxLagMs, commitMs, signal, (paused) => w.progressed(state, size, paused));
  }
}

/** The pacing of a walk: its batch sizes and, with a lag limit, its replication lag readings. */
export function pacingOf(walker: BatchWalkerOptions, options: BatchOptions, lag?: ReplicationLag): Pacing {
  const maxLagMs = options.throttle?.maxReplicationLagMs ?? walker.maxReplicationLagMs;
  return { sizing: batchSizing(options), lag: maxLagMs === undefined ? undefined : (lag ?? new ReplicationLag(walker.client)), maxLagMs: maxLagMs ?? 0 };
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
function batchSizing(options: BatchOptions): BatchSizing {
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
