// What a change says about itself beyond its code, as files, records and filters share it.

/** How a change left half-done (interrupted, or failed without a transaction and not undone) is recovered. */
export const RECOVERY_STRATEGIES = ['manual', 'retry'] as const;
export type RecoveryStrategy = (typeof RECOVERY_STRATEGIES)[number];

/** `once`: a versioned change; `on-change`: `repeatable: true`; `always`: `runAlways: true`. */
export type RepeatMode = 'once' | 'on-change' | 'always';

/** What a change says about itself beyond its code: kept in its record and audit events. */
export interface ChangeMetadata {
  readonly author: string | undefined;
  readonly tags: readonly string[];
  readonly environments: readonly string[];
  /** Undefined means the default: `manual`. */
  readonly recovery: RecoveryStrategy | undefined;
  readonly repeat: RepeatMode;
  /**
   * `batches: true`: the change walks collections with `ctx.batches`, runs without an
   * outer transaction and keeps its progress in checkpoints, so an interrupted run resumes.
   */
  readonly batches: boolean;
  /**
   * `sideEffects: true`: the change acts on systems a transaction cannot undo (HTTP, queues), so
   * it never shares a transaction with other changes (a group aborted for another change's
   * failure would run it twice). Code changes only; not kept in records.
   */
  readonly sideEffects: boolean;
}

export const NO_METADATA: ChangeMetadata = Object.freeze({
  author: undefined,
  tags: Object.freeze([]),
  environments: Object.freeze([]),
  recovery: undefined,
  repeat: 'once',
  batches: false,
  sideEffects: false,
});

/** The metadata fields of a record or audit event. */
export interface StoredMetadata {
  readonly author?: string;
  readonly tags?: readonly string[];
  readonly environments?: readonly string[];
  readonly recovery?: RecoveryStrategy;
  readonly repeat?: RepeatMode;
  /** The change walks collections in checkpointed batches (resumable when interrupted). */
  readonly batches?: boolean;
}

/** Which changes a run takes: `--env` (or DELTA_ENV / config `env`) and `--tags`. */
export interface ChangeFilter {
  readonly env?: string | undefined;
  readonly tags?: readonly string[] | undefined;
}
