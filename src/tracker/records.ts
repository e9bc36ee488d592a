import type { StoredMetadata } from '../vocabulary/index.js';
import type { AuditAction, RecordedError } from '../vocabulary/index.js';

/**
 * States of a change's history record (DESIGN.md section 3). `deferred`: a commit left this
 * pending change out on purpose (`--tags`, `--env`, `--only`) while applying newer ones; it is
 * pending, never "out of order", and the record says why (`reason`).
 */
export const RECORD_STATUSES = ['applied', 'failed', 'rolled_back', 'running', 'deferred'] as const;
export type RecordStatus = (typeof RECORD_STATUSES)[number];

export type { AuditAction } from '../vocabulary/index.js';
export { AUDIT_ACTIONS } from '../vocabulary/index.js';

export interface ExecutedBy {
  readonly user: string;
  readonly host: string;
  readonly pid: number;
}

/** One document of `delta_migrations`: the state of one change in one target database. */
export interface HistoryRecord extends StoredMetadata {
  /** The change id (internal tracker) or `<targetDb>/<id>` (a tracker database shared by targets). */
  readonly _id: string;
  readonly changeId: string;
  readonly targetDb: string;
  readonly description?: string;
  readonly status: RecordStatus;
  readonly checksum: string;
  readonly file?: string;
  /** The stage the change ran in, when the project has stages. */
  readonly stage?: string;
  /** The runner that ran it: `driver`, `template`, `shell`, or a configured one. */
  readonly runner?: string;
  readonly startedAt?: Date;
  readonly appliedAt?: Date;
  /**
   * The application's place in this target's history: 1 for the first change ever applied, one
   * more for each application after it (rollback reverts the highest first). Absent on records
   * written before delta kept it; those sort first, by `appliedAt`.
   */
  readonly appliedSeq?: number;
  readonly rolledBackAt?: Date;
  readonly durationMs?: number;
  readonly runId: string;
  readonly executedBy: ExecutedBy;
  readonly toolVersion: string;
  readonly transactional: boolean;
  readonly error?: RecordedError;
  /** Why a `deferred` change was left out (`--tags billing`). */
  readonly reason?: string;
}

/**
 * Where a `ctx.batches` walk stands, kept in its change's record (`checkpoints`) after every
 * batch; removed when the change is recorded applied or rolled back (its next application
 * walks from the start).
 */
export interface BatchCheckpoint {
  /** The walk's name: its collection, or the `name` it was given. */
  readonly walk: string;
  readonly collection: string;
  /** The `_id` of the last document done; undefined before the first batch. */
  readonly lastId: unknown;
  readonly done: number;
  readonly batches: number;
  /** The walk reached the end of its collection (a resumed run skips it). */
  readonly complete: boolean;
  readonly at: Date;
  /**
   * A walk with `concurrency` above 1: its `_id` ranges, fixed before its first batch so that a
   * resumed run walks the same ones; each range's progress is a RangeCheckpoint of its own.
   */
  readonly ranges?: BatchRanges;
}

/** The collection beside `migrations` that holds the range checkpoints of split `ctx.batches` walks. */
export function checkpointsCollection(migrations: string): string {
  return `${migrations}_checkpoints`;
}

/** How a walk's `_id` space was split: range i is [bounds[i-1], bounds[i]), the first open below, the last above. */
export interface BatchRanges {
  /** Names this split: range checkpoints left by another one (an earlier application) are not its own. */
  readonly split: string;
  /** The lower bound of every range but the first, ascending; n bounds make n + 1 ranges. */
  readonly bounds: readonly unknown[];
}

/**
 * Where one range of a split walk stands. Each range has a document (a row) of its own, so that
 * batches of different ranges, each committing its range's checkpoint in its own transaction, never
 * write the same document (two would raise WriteConflict, 112, on MongoDB).
 */
export interface RangeCheckpoint {
  readonly walk: string;
  readonly split: string;
  /** The range's index in the split (0: the one below the first bound). */
  readonly range: number;
  /** The `_id` of the last document done in this range; undefined before its first batch. */
  readonly lastId: unknown;
  readonly done: number;
  readonly batches: number;
  readonly complete: boolean;
  readonly at: Date;
}

/** The fields of a record that planning and status read: `history()` fetches only these. */
export type HistoryEntry = Pick<
  HistoryRecord,
  | '_id'
  | 'changeId'
  | 'description'
  | 'status'
  | 'checksum'
  | 'file'
  | 'stage'
  | 'runner'
  | 'appliedAt'
  | 'appliedSeq'
  | 'rolledBackAt'
  | 'durationMs'
  | 'transactional'
  | 'error'
  | 'reason'
  | keyof StoredMetadata
>;

/** The metadata fields a record and an audit event may hold. */
export const METADATA_FIELDS = ['author', 'tags', 'environments', 'recovery', 'repeat', 'batches'] as const satisfies readonly (keyof StoredMetadata)[];

/** The projection that reads a HistoryEntry (10,000 records decode in half the memory). */
export const HISTORY_PROJECTION = {
  changeId: 1,
  description: 1,
  status: 1,
  checksum: 1,
  file: 1,
  stage: 1,
  runner: 1,
  appliedAt: 1,
  appliedSeq: 1,
  rolledBackAt: 1,
  durationMs: 1,
  transactional: 1,
  error: 1,
  reason: 1,
  author: 1,
  tags: 1,
  environments: 1,
  recovery: 1,
  repeat: 1,
  batches: 1,
} as const satisfies Partial<Record<keyof HistoryEntry, 1>>;

/** One document of the append-only `delta_audit` log. */
export interface AuditEvent extends StoredMetadata {
  readonly runId: string;
  readonly changeId?: string;
  /** The change's stage, when the project has stages. */
  readonly stage?: string;
  /** The runner of the change (commit and rollback events). */
  readonly runner?: string;
  readonly targetDb: string;
  readonly action: AuditAction;
  readonly outcome: 'success' | 'failure';
  readonly at: Date;
  readonly durationMs?: number;
  readonly executedBy: ExecutedBy;
  readonly toolVersion: string;
  readonly transactional?: boolean;
  readonly error?: RecordedError;
  /** Action-specific facts: what a repair changed, who held an unlocked lock... */
  readonly details?: Readonly<Record<string, unknown>>;
}
