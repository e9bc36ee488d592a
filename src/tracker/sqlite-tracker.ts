import type { SqliteDatabase } from '../sqlite/sqlite-file.js';
import { recordUpdate } from './mongo-tracker.js';
import { EJSON } from 'bson';
import type { AuditEvent, BatchCheckpoint, HistoryEntry, RangeCheckpoint } from './records.js';
import { HISTORY_PROJECTION } from './records.js';
import type { AuditQuery, RecordAmendment, RecordChange, RecordWrite, Tracker } from './tracker.js';

/** Fields stored as ISO strings in the JSON documents and read back as Dates. */
const DATE_FIELDS = ['appliedAt', 'rolledBackAt', 'startedAt', 'failedAt', 'at'] as const;
const HISTORY_FIELDS = ['_id', ...Object.keys(HISTORY_PROJECTION)];

export interface SqliteTrackerOptions {
  /** The open file (see openSqliteFile); closed by the caller. */
  readonly db: SqliteDatabase;
  /** The database whose changes are tracked: one file can hold several targets. */
  readonly targetDb: string;
}

/**
 * History and audit in a SQLite file, under the same Tracker contract as the
 * MongoDB tracker: records are JSON documents keyed by (target, change id)
 * with the same fields and states; the audit log is append-only. Its writes
 * can never join a MongoDB transaction (`sharesTargetClient` is false), so
 * the runner records a transactional change right after it commits, as with
 * an external MongoDB tracker. A record, its audit event and the next
 * change's `running` marker are written in one SQLite transaction, begun
 * IMMEDIATE: a read-then-write transaction upgraded later would fail at once
 * with SQLITE_BUSY (no busy wait) when another process wrote in between.
 */
export class SqliteTracker implements Tracker {
  readonly targetDb: string;
  readonly sharesTargetClient = false;
  readonly #db: SqliteDatabase;

  constructor(options: SqliteTrackerOptions) {
    this.#db = options.db;
    this.targetDb = options.targetDb;
  }

  prepare(): Promise<void> {
    // openSqliteFile created and versioned the schema.
    return Promise.resolve();
  }

  history(): Promise<HistoryEntry[]> {
    const rows = this.#db.prepare('SELECT doc FROM delta_migrations WHERE target_db = ?').all(this.targetDb) as { doc: string }[];
    return Promise.resolve(rows.map((row) => pick(revive(JSON.parse(row.doc) as Record<string, unknown>), HISTORY_FIELDS) as unknown as HistoryEntry));
  }

  record(change: RecordChange, audit: AuditEvent | undefined): Promise<void> {
    return this.recordAll([{ change, audit }]);
  }

  recordAll(writes: readonly RecordWrite[]): Promise<void> {
    this.#db
      .transaction(() => {
        for (const write of writes) {
          this.#apply(write.change);
          if (write.audit !== undefined) this.#insertAudit(write.audit);
        }
      })
      .immediate();
    return Promise.resolve();
  }

  /** One SQLite transaction writes records and audit rows together already: nothing to keep for later. */
  recordAllAuditLater(writes: readonly RecordWrite[]): Promise<void> {
    return this.recordAll(writes);
  }

  flushAudit(): Promise<void> {
    return Promise.resolve();
  }

  audit(event: AuditEvent): Promise<void> {
    this.#insertAudit(event);
    return Promise.resolve();
  }

  auditLog(query: AuditQuery = {}): Promise<AuditEvent[]> {
    const where = ['target_db = ?'];
    const params: unknown[] = [this.targetDb];
    if (query.changeId !== undefined) {
      where.push('change_id = ?');
      params.push(query.changeId);
    }
    if (query.action !== undefined) {
      where.push('action = ?');
      params.push(query.action);
    }
    if (query.since !== undefined) {
      where.push('at >= ?');
      params.push(query.since.getTime());
    }
    const limit = query.limit === undefined ? '' : ` LIMIT ${Math.max(0, Math.floor(query.limit))}`;
    const rows = this.#db.prepare(`SELECT doc FROM delta_audit WHERE ${where.join(' AND ')} ORDER BY at DESC, seq DESC${limit}`).all(...params) as { doc: string }[];
    return Promise.resolve(rows.map((row) => revive(JSON.parse(row.doc) as Record<string, unknown>) as unknown as AuditEvent));
  }

  removeRecords(changeIds: readonly string[]): Promise<void> {
    const remove = this.#db.prepare('DELETE FROM delta_migrations WHERE target_db = ? AND change_id = ?');
    this.#db
      .transaction(() => {
        for (const id of changeIds) remove.run(this.targetDb, id);
      })
      .immediate();
    return Promise.resolve();
  }

  checkpoints(changeId: string): Promise<BatchCheckpoint[]> {
    const stored = this.#read(changeId)?.checkpoints;
    // Kept as canonical Extended JSON: a checkpoint's `_id` may be an ObjectId, a Date...
    return Promise.resolve(typeof stored === 'string' ? (EJSON.parse(stored) as BatchCheckpoint[]) : []);
  }

  /** No MongoDB session can reach this file: the checkpoint follows its batch (a crash repeats that batch). */
  saveCheckpoints(changeId: string, checkpoints: readonly BatchCheckpoint[]): Promise<void> {
    this.#db
      .transaction(() => {
        const existing = this.#read(changeId);
        if (existing !== undefined) this.#write(changeId, { ...existing, checkpoints: EJSON.stringify([...checkpoints], { relaxed: false }) });
      })
      .immediate();
    return Promise.resolve();
  }

  rangeCheckpoints(changeId: string, walk: string): Promise<RangeCheckpoint[]> {
    return Promise.resolve(this.#ranges(this.#read(changeId)).filter((c) => c.walk === walk));
  }

  /** Kept in the record, as Extended JSON: SQLite runs one write at a time, so no two batches conflict. */
  saveRangeCheckpoints(changeId: string, checkpoints: readonly RangeCheckpoint[]): Promise<void> {
    this.#db
      .transaction(() => {
        const existing = this.#read(changeId);
        if (existing === undefined) return;
        const replaced = (c: RangeCheckpoint) => checkpoints.some((n) => n.walk === c.walk && n.range === c.range);
        // No `lastId` before a range's first batch: written out it would read back as an `_id` of null.
        const next = [...this.#ranges(existing).filter((c) => !replaced(c)), ...checkpoints.map(({ lastId, ...rest }) => (lastId === undefined ? rest : { ...rest, lastId }))];
        this.#write(changeId, { ...existing, rangeCheckpoints: EJSON.stringify(next, { relaxed: false }) });
      })
      .immediate();
    return Promise.resolve();
  }

  clearRangeCheckpoints(changeId: string, walk?: string): Promise<void> {
    this.#db
      .transaction(() => {
        const existing = this.#read(changeId);
        if (existing === undefined) return;
        const next = this.#ranges(existing).filter((c) => walk !== undefined && c.walk !== walk);
        this.#write(changeId, { ...existing, rangeCheckpoints: EJSON.stringify(next, { relaxed: false }) });
      })
      .immediate();
    return Promise.resolve();
  }

  #ranges(record: Record<string, unknown> | undefined): RangeCheckpoint[] {
    const stored = record?.rangeCheckpoints;
    return typeof stored === 'string' ? (EJSON.parse(stored) as RangeCheckpoint[]) : [];
  }

  amendRecord(changeId: string, fields: RecordAmendment, audit: AuditEvent): Promise<void> {
    this.#db
      .transaction(() => {
        const existing = this.#read(changeId);
        if (existing !== undefined) {
          const doc: Record<string, unknown> = { ...existing, ...fields };
          if (fields.status === 'failed') doc.failedAt = audit.at;
          this.#write(changeId, doc);
        }
        this.#insertAudit(audit);
      })
      .immediate();
    return Promise.resolve();
  }

  /** Applies a state change the way the MongoDB tracker's update does ($set, then $unset). */
  #apply(change: RecordChange): void {
    const update = recordUpdate(change, this.targetDb) as { $set: Record<string, unknown>; $unset?: Record<string, unknown> };
    const doc: Record<string, unknown> = { ...(this.#read(change.changeId) ?? { _id: change.changeId }), ...update.$set };
    for (const key of Object.keys(update.$unset ?? {})) delete doc[key];
    // As the MongoDB tracker's checkpoints collection: nothing of a finished application's ranges stays.
    if (change.status === 'applied' || change.status === 'rolled_back') delete doc.rangeCheckpoints;
    this.#write(change.changeId, doc);
  }

  #read(changeId: string): Record<string, unknown> | undefined {
    const row = this.#db.prepare('SELECT doc FROM delta_migrations WHERE target_db = ? AND change_id = ?').get(this.targetDb, changeId) as { doc: string } | undefined;
    return row === undefined ? undefined : (JSON.parse(row.doc) as Record<string, unknown>);
  }

  #write(changeId: string, doc: Record<string, unknown>): void {
    this.#db
      .prepare('INSERT INTO delta_migrations (target_db, change_id, doc) VALUES (?, ?, ?) ON CONFLICT (target_db, change_id) DO UPDATE SET doc = excluded.doc')
      .run(this.targetDb, changeId, JSON.stringify(doc));
  }

  #insertAudit(event: AuditEvent): void {
    this.#db
      .prepare('INSERT INTO delta_audit (target_db, change_id, action, at, doc) VALUES (?, ?, ?, ?, ?)')
      .run(event.targetDb, event.changeId ?? null, event.action, event.at.getTime(), JSON.stringify(event));
  }
}

function revive(doc: Record<string, unknown>): Record<string, unknown> {
  for (const field of DATE_FIELDS) {
    const value = doc[field];
    if (typeof value === 'string') doc[field] = new Date(value);
  }
  return doc;
}

function pick(doc: Record<string, unknown>, fields: readonly string[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const field of fields) if (doc[field] !== undefined) out[field] = doc[field];
  return out;
}
