import { EventEmitter } from 'node:events';
import type { BatchProgress } from './batches.js';
import type { RecordedError } from '../vocabulary/index.js';
import type { Direction, RunOutcome } from '../vocabulary/index.js';

/** Every event the runner emits, with its payload. The CLI renders only these. */
export interface DeltaEvents {
  'run:start': { readonly runId: string; readonly command: Direction; readonly targetDb: string; readonly planned: readonly string[] };
  'lock:acquired': { readonly runId: string; readonly scope: string; readonly waitedMs: number };
  'lock:lost': { readonly runId: string; readonly scope: string; readonly reason: string };
  /** A stage begins (projects with stages only); `parallel` stages run up to `concurrency` changes at once. */
  'stage:start': { readonly runId: string; readonly stage: string; readonly direction: Direction; readonly parallel: boolean; readonly concurrency: number; readonly planned: readonly string[] };
  'stage:end': { readonly runId: string; readonly stage: string; readonly direction: Direction; readonly outcome: RunOutcome; readonly durationMs: number; readonly done: number };
  'change:start': {
    readonly runId: string;
    readonly changeId: string;
    readonly stage: string | undefined;
    readonly direction: Direction;
    readonly transactional: boolean;
    /** The change's place in the run (0-based); in a parallel stage several run at once. */
    readonly index: number;
    readonly total: number;
  };
  'change:success': { readonly runId: string; readonly changeId: string; readonly direction: Direction; readonly transactional: boolean; readonly durationMs: number };
  'change:failure': {
    readonly runId: string;
    readonly changeId: string;
    readonly direction: Direction;
    readonly transactional: boolean;
    readonly durationMs: number;
    readonly error: RecordedError;
    /** Non-transactional commits only: whether the change's own rollback undid it. */
    readonly compensated: boolean | undefined;
  };
  /** A planned change that did not run because the run stopped first (`reason`: how it stopped). */
  'change:skipped': { readonly runId: string; readonly changeId: string; readonly stage: string | undefined; readonly direction: Direction; readonly reason: RunOutcome };
  /**
   * A change's rollback function runs: in a rollback run (`requested`), or to undo a
   * non-transactional commit that failed (`compensation`).
   */
  'rollback:start': { readonly runId: string; readonly changeId: string; readonly reason: RollbackReason };
  'rollback:success': { readonly runId: string; readonly changeId: string; readonly reason: RollbackReason; readonly durationMs: number };
  'rollback:failure': { readonly runId: string; readonly changeId: string; readonly reason: RollbackReason; readonly durationMs: number; readonly error: RecordedError };
  'change:log': { readonly runId: string; readonly changeId: string; readonly message: string };
  /**
   * A change of mode `auto` runs again from the start without a transaction: the server refused
   * one of its operations inside one (`reason`: the server's words, OperationNotSupportedInTransaction).
   */
  'change:fallback': { readonly runId: string; readonly changeId: string; readonly direction: Direction; readonly reason: string };
  /** A `ctx.batches` walk finished a batch: documents done over every run of it, and this run's rate. */
  'change:progress': { readonly runId: string; readonly changeId: string } & BatchProgress;
  /** A backup was written, before `changeId` (or before the run's first change when undefined). */
  'backup:done': {
    readonly runId: string;
    readonly changeId: string | undefined;
    readonly backupId: string;
    readonly path: string;
    readonly collections: readonly string[];
    readonly documents: number;
    readonly bytes: number;
    readonly durationMs: number;
  };
  /** Something about a backup worth a look (a whole-database backup of a large database). */
  'backup:warning': { readonly runId: string; readonly changeId: string | undefined; readonly message: string };
  /** Where a backup or restore stands: a few times a second per collection, and when it is done. */
  'backup:progress': {
    readonly runId: string;
    readonly phase: 'backup' | 'restore';
    readonly collection: string;
    readonly documents: number;
    readonly totalDocuments: number | undefined;
    readonly bytes: number;
    readonly done: boolean;
  };
  /** A fleet run (`--targets`) starts on one target; its own run's events follow. */
  'target:start': {
    readonly command: Direction;
    readonly target: string;
    /** The target's deployment: the host list of its connection string (no credentials). */
    readonly deployment: string;
    /** How many deployments the fleet spans. */
    readonly deployments: number;
    readonly index: number;
    readonly total: number;
  };
  /** A fleet run is done with one target: how many changes it applied/reverted, failed and left pending. */
  'target:end': {
    readonly command: Direction;
    readonly target: string;
    readonly deployment: string;
    readonly outcome: RunOutcome | 'error' | 'not-run';
    readonly done: number;
    readonly failed: number;
    readonly pending: number | undefined;
    readonly durationMs: number;
    readonly error: { readonly code: string; readonly message: string } | undefined;
  };
  'run:end': {
    readonly runId: string;
    readonly command: Direction;
    readonly outcome: RunOutcome;
    readonly durationMs: number;
    readonly done: number;
  };
}

export type RollbackReason = 'requested' | 'compensation';
export type DeltaEventName = keyof DeltaEvents;

// A record, so that the compiler insists on every event being listed.
const EVENTS: Record<DeltaEventName, true> = {
  'run:start': true,
  'lock:acquired': true,
  'lock:lost': true,
  'backup:done': true,
  'backup:warning': true,
  'backup:progress': true,
  'stage:start': true,
  'stage:end': true,
  'change:start': true,
  'change:success': true,
  'change:failure': true,
  'change:skipped': true,
  'rollback:start': true,
  'rollback:success': true,
  'rollback:failure': true,
  'change:log': true,
  'change:fallback': true,
  'change:progress': true,
  'target:start': true,
  'target:end': true,
  'run:end': true,
};

/** Every event name, for consumers that forward them all (`--log-format json`). */
export const DELTA_EVENT_NAMES = Object.keys(EVENTS) as readonly DeltaEventName[];
export type DeltaListener<E extends DeltaEventName> = (payload: DeltaEvents[E]) => void;

/** A typed facade over EventEmitter; a listener that throws cannot break a run. */
export class DeltaEventEmitter {
  readonly #emitter = new EventEmitter();

  on<E extends DeltaEventName>(event: E, listener: DeltaListener<E>): () => void {
    this.#emitter.on(event, listener);
    return () => this.#emitter.off(event, listener);
  }

  emit<E extends DeltaEventName>(event: E, payload: DeltaEvents[E]): void {
    for (const listener of this.#emitter.listeners(event)) {
      try {
        (listener as DeltaListener<E>)(payload);
      } catch {
        // Rendering and logging are observers: their failures must not change what was applied.
      }
    }
  }
}
