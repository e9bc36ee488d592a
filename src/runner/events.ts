import { EventEmitter } from 'node:events';
import type { RecordedError } from '../tracker/records.js';

export type Direction = 'commit' | 'rollback';

/** Every event the runner emits, with its payload. The CLI renders only these. */
export interface DeltaEvents {
  'run:start': { readonly runId: string; readonly command: Direction; readonly targetDb: string; readonly planned: readonly string[] };
  'lock:acquired': { readonly runId: string; readonly scope: string; readonly waitedMs: number };
  'lock:lost': { readonly runId: string; readonly scope: string; readonly reason: string };
  'change:start': {
    readonly runId: string;
    readonly changeId: string;
    readonly direction: Direction;
    readonly transactional: boolean;
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
  'change:log': { readonly runId: string; readonly changeId: string; readonly message: string };
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
  'run:end': {
    readonly runId: string;
    readonly command: Direction;
    readonly outcome: RunOutcome;
    readonly durationMs: number;
    readonly done: number;
  };
}

export type RunOutcome = 'success' | 'nothing-to-do' | 'failed' | 'interrupted' | 'lock-lost';
export type DeltaEventName = keyof DeltaEvents;
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
