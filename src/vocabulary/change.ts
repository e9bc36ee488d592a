// A change as every layer sees it: what a file exports, what its functions receive, and what the
// loader hands the runner. Types only (and defineMigration), so that every layer can depend on it.
import type { ClientSession, Db, Document, MongoClient } from 'mongodb';
import type { ChangeExpectations, VerifyFunction } from './expectations.js';
import type { ChangeMetadata, RecoveryStrategy, StoredMetadata } from './metadata.js';
import type { TransactionMode } from './transaction-mode.js';

/** What a change's `commit` and `rollback` receive. */
export interface ChangeContext {
  /** The target database. */
  readonly db: Db;
  readonly client: MongoClient;
  /** The session of the running transaction; undefined when the change runs without one. */
  readonly session: ClientSession | undefined;
  /** Writes a line through the run's event stream. */
  readonly log: (message: string) => void;
  /** Fires on timeout or Ctrl-C. */
  readonly signal: AbortSignal;
  /** Whatever the configuration's `services` factory returned. */
  readonly services: Readonly<Record<string, unknown>>;
  /**
   * Walks `collection` in `_id` order, `batchSize` documents at a time, each batch in its own
   * short transaction where the deployment has them, with a checkpoint after each batch so an
   * interrupted run resumes where it stopped. Only in changes that declare `batches: true`.
   */
  readonly batches: BatchWalk;
  /** The run's id (as in records and audit events). */
  readonly runId: string;
}

/** What `ctx.batches` takes: which documents, how many per batch, how fast. */
export interface BatchOptions {
  /** Which documents of the collection to visit (default: all). */
  readonly filter?: Document;
  /** `_id` order: 1 ascending (default), -1 descending. The walk always goes by `_id`. */
  readonly sort?: 1 | -1;
  /**
   * Documents per batch, or `'auto'`: start at 100 and adapt after every batch so that one takes
   * about `targetBatchMs` (its transaction held that long), between 1 and 10,000.
   */
  readonly batchSize: number | 'auto';
  /** With `batchSize: 'auto'`: how long one batch should take (default 200 ms). */
  readonly targetBatchMs?: number;
  /** Pause between batches, to spare a busy primary (default 0). */
  readonly throttleMs?: number;
  /**
   * Pause between batches while the secondaries lag more than `maxReplicationLagMs` behind the
   * primary (from `replSetGetStatus`; where that is refused, the time the last batch took to
   * commit with write concern majority stands in for the lag).
   */
  readonly throttle?: { readonly maxReplicationLagMs?: number };
  /** Names the checkpoint when one change walks the same collection twice (default: the collection). */
  readonly name?: string;
  /**
   * Walks up to this many `_id` ranges at once (default 1: one cursor). The ranges come from the
   * collection's `_id` distribution (`$bucketAuto`), are kept in the change's record before the
   * first batch, and each keeps a checkpoint of its own, so a resumed run walks the same ranges
   * from where each stopped.
   */
  readonly concurrency?: number;
}

/** What the callback receives with each batch. */
export interface BatchContext {
  /** The batch's transaction session; undefined where the deployment has no transactions. */
  readonly session: ClientSession | undefined;
  /** 0-based, counted across resumed runs (within its range when the walk is split). */
  readonly batch: number;
  /** With `concurrency` above 1: the 0-based index of the `_id` range this batch belongs to. */
  readonly range?: number | undefined;
}

/** How a walk ended: documents and batches over every run of it, and whether it resumed. */
export interface BatchWalkResult {
  readonly done: number;
  readonly batches: number;
  /** Documents this run visited (`done` minus what earlier runs had done). */
  readonly doneThisRun: number;
  readonly resumed: boolean;
  /** How many `_id` ranges the walk was split into (1 when it was not). */
  readonly ranges?: number;
}

export type BatchWalk = (collection: string, options: BatchOptions, each: (docs: Document[], batch: BatchContext) => Promise<void> | void) => Promise<BatchWalkResult>;

export type ChangeFunction = (context: ChangeContext) => Promise<void> | void;
/** migrate-mongo's signature, `up(db, client)`, accepted so its files run unchanged. */
export type LegacyChangeFunction = (db: Db, client: MongoClient) => Promise<unknown> | unknown;

/** The object a change file exports (through `defineMigration` or plain). */
export interface ChangeDefinition {
  /** Defaults to the file name without its extension. */
  readonly id?: string;
  readonly description?: string;
  readonly transaction?: TransactionMode;
  readonly timeoutMs?: number;
  readonly backup?: boolean | readonly string[];
  /** In-memory changes only: the configured stage this change belongs to (files take their folder's). */
  readonly stage?: string;
  readonly author?: string;
  /** Labels; `--tags a,b` runs only changes carrying one of them. */
  readonly tags?: readonly string[];
  /** Runs only when the run's environment (`--env`, DELTA_ENV, config `env`) is one of these. */
  readonly environments?: readonly string[];
  /** A change left half-done without a transaction: `manual` blocks commit until `delta repair`; `retry` runs it again. */
  readonly recovery?: RecoveryStrategy;
  /** Applied again whenever its checksum changes, after the versioned changes (views, validators, reference data). */
  readonly repeatable?: boolean;
  /** Applied on every commit, after the versioned changes. */
  readonly runAlways?: boolean;
  /**
   * The change walks collections with `ctx.batches`: it runs without an outer transaction (each
   * batch gets its own), and an interrupted run resumes from its checkpoint instead of blocking.
   */
  readonly batches?: boolean;
  /**
   * The change acts on systems a MongoDB transaction cannot undo (`services`: HTTP, queues): it
   * never shares a transaction with other changes, so it runs exactly once per attempt.
   */
  readonly sideEffects?: boolean;
  /** What the commit may write, checked before it commits (see ChangeExpectations). */
  readonly expect?: ChangeExpectations;
  /** Checks the commit's result before it commits; throws when it is wrong. */
  readonly verify?: VerifyFunction;
  readonly commit: ChangeFunction;
  readonly rollback?: ChangeFunction;
}

/** A change as history and planning see it: identity and content, without its code. */
export interface ChangeRef {
  readonly id: string;
  /** The file it came from, relative to the change folder; `undefined` for in-memory changes. */
  readonly file: string | undefined;
  /** sha256 of the file's bytes with line endings normalised. */
  readonly checksum: string;
  readonly description: string | undefined;
  /** The stage (a subfolder of the change folder, or a configured stage); undefined without stages. */
  readonly stage: string | undefined;
  readonly metadata: ChangeMetadata;
  /** The runner that loaded it (`driver`, `template`, `shell`...); undefined for changes given in memory (driver code). */
  readonly runner?: string | undefined;
}

/** How many of a parallel stage's changes run at once unless its `concurrency` says otherwise. */
export const DEFAULT_STAGE_CONCURRENCY = 4;

/** A stage as the configuration declares it (`stages` in the file), resolved. */
export interface StageConfig {
  readonly name: string;
  /** Absolute path of the stage's folder. */
  readonly folder: string;
  /** How messages name it: `delta.config.mjs: stages[1]`. */
  readonly source: string;
  readonly transaction: TransactionMode | undefined;
  readonly timeoutMs: number | undefined;
  readonly parallel: boolean;
  readonly concurrency: number;
}

/**
 * A group of changes that runs as a unit, in its declared order: a subfolder
 * of the change folder, or an entry of the configuration's `stages`. Its
 * options sit between the run's and a change's own.
 */
export interface StageSpec {
  readonly name: string;
  /** The stage's transaction mode: wins over the run's, a change's own wins over it. */
  readonly transaction: TransactionMode | undefined;
  /** The stage's time limit per change: wins over the run's `--timeout`, a change's own wins over it. */
  readonly timeoutMs: number | undefined;
  /** Run the stage's commits side by side (independent changes, such as index builds). */
  readonly parallel: boolean;
  /** How many of a parallel stage's changes run at once. */
  readonly concurrency: number;
}

/** A change ready to run: normalised from a file or given in memory. */
export interface ChangeUnit extends ChangeRef {
  /** The change's own transaction mode, else its stage's; undefined means "the run's". */
  readonly transaction: TransactionMode | undefined;
  /** The change's own time limit, else its stage's; undefined means "the run's". */
  readonly timeoutMs: number | undefined;
  readonly backup: boolean | readonly string[] | undefined;
  /** `migrate-mongo` for files exporting `up`/`down`: called as `up(db, client)` (bound to the change's session in a transaction). */
  readonly style: 'delta' | 'migrate-mongo';
  readonly commit: ChangeFunction;
  readonly rollback: ChangeFunction | undefined;
  /** What its commit may write (absent: not limited). */
  readonly expect?: ChangeExpectations | undefined;
  /** Checks its commit's result before the commit is final. */
  readonly verify?: VerifyFunction | undefined;
}

/**
 * Every change of a run in id order. A file that is applied and unchanged since
 * (same name, same checksum) is known from its record and imported only if it
 * has to run (a rollback); every other file is imported when the catalog opens.
 */
export interface ChangeCatalog {
  readonly changes: readonly ChangeRef[];
  /** The stages in their declared order; empty when changes are not grouped. */
  readonly stages: readonly StageSpec[];
  /** The runnable change for one of `changes`, importing its file on first use. */
  load(change: ChangeRef): Promise<ChangeUnit>;
}

/**
 * Where a run's changes come from. Opening a catalog needs the history, so
 * that files applied and unchanged since are never imported.
 */
export interface ChangeSource {
  /**
   * The catalog when it opens without importing anything (every file applied
   * and unchanged, or changes given in memory); undefined when files must be
   * imported first.
   */
  withoutImports(history: readonly KnownRecord[]): ChangeCatalog | undefined;
  /** The catalog for this history, importing every file not applied and unchanged (once per source). */
  open(history: readonly KnownRecord[]): Promise<ChangeCatalog>;
}

/** What a catalog needs to know of a history record (the tracker's records fit). */
export interface KnownRecord extends StoredMetadata {
  readonly changeId: string;
  readonly status: string;
  readonly checksum: string;
  readonly file?: string;
  readonly description?: string;
  readonly stage?: string;
}

/** Gives a change file its types; returns its argument unchanged. */
export function defineMigration<T extends ChangeDefinition>(definition: T): T {
  return definition;
}
