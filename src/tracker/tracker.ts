import type { ClientSession } from 'mongodb';
import type { AuditEvent, BatchCheckpoint, HistoryEntry, RangeCheckpoint, RecordStatus } from './records.js';
import type { RecordedError, StoredMetadata } from '../vocabulary/index.js';

/** The fields of a change's record that a state change writes. */
export interface RecordChange {
  readonly changeId: string;
  readonly status: RecordStatus;
  readonly checksum: string;
  readonly file: string | undefined;
  readonly description: string | undefined;
  readonly stage?: string | undefined;
  /** What the change says about itself (only what differs from the defaults); undefined leaves the record's as it was. */
  readonly metadata?: StoredMetadata | undefined;
  /** The runner that ran it (`driver`, `template`, `shell`...). */
  readonly runner?: string | undefined;
  readonly runId: string;
  readonly transactional: boolean;
  readonly at: Date;
  readonly durationMs?: number;
  /** With status `applied`: the application's place in the target's history (see HistoryRecord). */
  readonly appliedSeq?: number;
  readonly error?: RecordedError;
  /** With status `deferred`: why the run left the change out. */
  readonly reason?: string;
}

/**
 * Where delta keeps history and audit. Small on purpose (read the whole
 * history once; write a record and its audit event together; append an
 * audit event), so another store is an afternoon's work.
 */
export interface Tracker {
  /** The database whose changes this tracker records. */
  readonly targetDb: string;
  /**
   * True when the tracker lives on the same client as the target, so its
   * writes can join the change's transaction (internal mode, or an external
   * database on the same deployment).
   */
  readonly sharesTargetClient: boolean;
  /** Creates collections and indexes if missing; idempotent. */
  prepare(): Promise<void>;
  /**
   * The whole history of the target, in one query. `consistent`: read at one point in time (a
   * read-only snapshot transaction where the deployment has transactions), for readers without
   * the lock (status) racing a run that writes records: a plain read may see one record before a
   * run's write and the next after it.
   */
  history(options?: { readonly consistent?: boolean }): Promise<HistoryEntry[]>;
  /** Writes the record's new state and, when given, its audit event (in `session` if one is given). */
  record(change: RecordChange, audit: AuditEvent | undefined, session?: ClientSession): Promise<void>;
  /**
   * Writes several records' new states, each with its audit event when given, in order and in
   * one command where the server allows (a change's record beside the next change's `running`
   * marker; the records of a group of changes that share one transaction).
   */
  recordAll(writes: readonly RecordWrite[], session?: ClientSession): Promise<void>;
  /**
   * The records of a change that ran without a transaction, in one command: the change's new
   * state and the next change's `running` marker, with the change's audit event, where the
   * server takes records and events in one command, or else kept in its own record until
   * flushAudit moves it to the audit log (at the end of the run, or at the next writer command
   * after a crash). auditLog reads kept events too. A store that gains nothing from keeping
   * events writes as recordAll does.
   */
  recordAllAuditLater(writes: readonly RecordWrite[]): Promise<void>;
  /**
   * Moves the audit events that recordAllAuditLater kept in records to the audit log. Safe to
   * repeat, and to run beside another flush or a run that keeps events: no event is lost or
   * doubled. Costs nothing when the last history read found none kept.
   */
  flushAudit(): Promise<void>;
  /** The `ctx.batches` checkpoints of a change's unfinished application (empty when none). */
  checkpoints(changeId: string): Promise<BatchCheckpoint[]>;
  /** Replaces a change's checkpoints (in `session` when given: the batch and its checkpoint commit together). */
  saveCheckpoints(changeId: string, checkpoints: readonly BatchCheckpoint[], session?: ClientSession): Promise<void>;
  /** The range checkpoints of one walk of a change (any split; the caller keeps its own). */
  rangeCheckpoints(changeId: string, walk: string): Promise<RangeCheckpoint[]>;
  /**
   * Writes range checkpoints, each replacing the one of its walk and range (in `session` when
   * given: a batch and its range's checkpoint commit together). Checkpoints of different ranges
   * never touch the same document, so concurrent batches do not conflict.
   */
  saveRangeCheckpoints(changeId: string, checkpoints: readonly RangeCheckpoint[], session?: ClientSession): Promise<void>;
  /** Removes the range checkpoints of one walk of a change, or of all its walks. */
  clearRangeCheckpoints(changeId: string, walk?: string): Promise<void>;
  /** Appends an event that concerns no single record's state (unlock, backup...). */
  audit(event: AuditEvent, session?: ClientSession): Promise<void>;
  /** Audit events, newest first. */
  auditLog(filter?: AuditQuery): Promise<AuditEvent[]>;
  /** Removes records (repair of missing files); audited by the caller. */
  removeRecords(changeIds: readonly string[]): Promise<void>;
  /**
   * Changes some fields of an existing record (repair) and appends its audit
   * event; the record's times and authorship stay as they were.
   */
  amendRecord(changeId: string, fields: RecordAmendment, audit: AuditEvent): Promise<void>;
}

/** One record's new state and the audit event that says why, written together. */
export interface RecordWrite {
  readonly change: RecordChange;
  readonly audit?: AuditEvent | undefined;
}

/** What repair may change in a record. */
export interface RecordAmendment {
  readonly checksum?: string;
  readonly status?: RecordStatus;
  readonly error?: RecordedError;
}

export interface AuditQuery {
  readonly changeId?: string;
  readonly action?: string;
  readonly since?: Date;
  readonly limit?: number;
}
