import type { ClientSession } from 'mongodb';
import { redact } from '../config/redact.js';
import type { AuditEvent, BatchCheckpoint, HistoryEntry, RangeCheckpoint } from './records.js';
import type { AuditQuery, RecordAmendment, RecordChange, RecordWrite, Tracker } from './tracker.js';
import type { RecordedError } from '../vocabulary/index.js';

/**
 * A tracker whose every write has its error message redacted first: an error is whatever a
 * change, a hook or the driver threw, and may quote a connection string. History and audit log
 * outlive every terminal, so they get the redaction output gets; doing it here, once, in front of
 * whichever store keeps them (MongoDB or SQLite), means no store can forget it.
 */
export class RedactingTracker implements Tracker {
  readonly #inner: Tracker;
  readonly #secrets: readonly string[];

  constructor(inner: Tracker, secrets: readonly string[]) {
    this.#inner = inner;
    this.#secrets = secrets;
  }

  get targetDb(): string {
    return this.#inner.targetDb;
  }
  get sharesTargetClient(): boolean {
    return this.#inner.sharesTargetClient;
  }
  prepare(): Promise<void> {
    return this.#inner.prepare();
  }
  history(options?: { readonly consistent?: boolean }): Promise<HistoryEntry[]> {
    return this.#inner.history(options);
  }
  record(change: RecordChange, audit: AuditEvent | undefined, session?: ClientSession): Promise<void> {
    return this.#inner.record(this.#redacted(change), audit === undefined ? undefined : this.#redacted(audit), session);
  }
  recordAll(writes: readonly RecordWrite[], session?: ClientSession): Promise<void> {
    return this.#inner.recordAll(
      writes.map((write) => ({ change: this.#redacted(write.change), audit: write.audit === undefined ? undefined : this.#redacted(write.audit) })),
      session,
    );
  }
  recordAllAuditLater(writes: readonly RecordWrite[]): Promise<void> {
    return this.#inner.recordAllAuditLater(writes.map((write) => ({ change: this.#redacted(write.change), audit: write.audit === undefined ? undefined : this.#redacted(write.audit) })));
  }
  flushAudit(): Promise<void> {
    return this.#inner.flushAudit();
  }
  checkpoints(changeId: string): Promise<BatchCheckpoint[]> {
    return this.#inner.checkpoints(changeId);
  }
  saveCheckpoints(changeId: string, checkpoints: readonly BatchCheckpoint[], session?: ClientSession): Promise<void> {
    return this.#inner.saveCheckpoints(changeId, checkpoints, session);
  }
  rangeCheckpoints(changeId: string, walk: string): Promise<RangeCheckpoint[]> {
    return this.#inner.rangeCheckpoints(changeId, walk);
  }
  saveRangeCheckpoints(changeId: string, checkpoints: readonly RangeCheckpoint[], session?: ClientSession): Promise<void> {
    return this.#inner.saveRangeCheckpoints(changeId, checkpoints, session);
  }
  clearRangeCheckpoints(changeId: string, walk?: string): Promise<void> {
    return this.#inner.clearRangeCheckpoints(changeId, walk);
  }
  audit(event: AuditEvent, session?: ClientSession): Promise<void> {
    return this.#inner.audit(this.#redacted(event), session);
  }
  auditLog(filter?: AuditQuery): Promise<AuditEvent[]> {
    return this.#inner.auditLog(filter);
  }
  removeRecords(changeIds: readonly string[]): Promise<void> {
    return this.#inner.removeRecords(changeIds);
  }
  amendRecord(changeId: string, fields: RecordAmendment, audit: AuditEvent): Promise<void> {
    return this.#inner.amendRecord(changeId, this.#redacted(fields), this.#redacted(audit));
  }

  #redacted<T extends { readonly error?: RecordedError | undefined }>(written: T): T {
    if (written.error === undefined) return written;
    return { ...written, error: { ...written.error, message: redact(written.error.message, this.#secrets) } };
  }
}
