import { BSON } from 'mongodb';
import type { AnyClientBulkWriteModel, ClientSession, Collection, Document, MongoClient } from 'mongodb';
import { toolVersion } from '../version.js';
import { executedBy } from './executed-by.js';
import type { AuditEvent, BatchCheckpoint, HistoryEntry, RangeCheckpoint } from './records.js';
import { HISTORY_PROJECTION, METADATA_FIELDS, checkpointsCollection } from './records.js';
import type { AuditQuery, RecordAmendment, RecordChange, RecordWrite, Tracker } from './tracker.js';

export interface MongoTrackerOptions {
  /** The client that holds the tracker database (the target's client in internal mode). */
  readonly client: MongoClient;
  /** The database holding the tracker collections. */
  readonly trackerDb: string;
  /** The database whose changes are tracked. */
  readonly targetDb: string;
  readonly collections: { readonly migrations: string; readonly audit: string };
  readonly sharesTargetClient: boolean;
  /** MongoDB 8.0+: write a record and its audit event with one `bulkWrite` command. */
  readonly clientBulkWrite: boolean;
}

/** The tracker kept in MongoDB collections (internal or external mode). */
export class MongoTracker implements Tracker {
  readonly targetDb: string;
  readonly sharesTargetClient: boolean;
  readonly #options: MongoTrackerOptions;
  readonly #migrations: Collection;
  readonly #audit: Collection;
  /** One document per range of a split `ctx.batches` walk, while the walk is unfinished. */
  readonly #ranges: Collection;
  /** In a database of its own the record key is the change id; shared by several targets, it is prefixed. */
  readonly #prefix: string;
  /** Whether consistent history reads can use a snapshot transaction: unknown until the first one. */
  #snapshots: boolean | undefined;

  constructor(options: MongoTrackerOptions) {
    this.#options = options;
    this.targetDb = options.targetDb;
    this.sharesTargetClient = options.sharesTargetClient;
    const db = options.client.db(options.trackerDb);
    this.#migrations = db.collection(options.collections.migrations);
    this.#audit = db.collection(options.collections.audit);
    this.#ranges = db.collection(checkpointsCollection(options.collections.migrations));
    this.#prefix = options.trackerDb === options.targetDb ? '' : `${options.targetDb}/`;
  }

  async prepare(): Promise<void> {
    // createIndexes is a no-op when the index exists (MongoDB answers "all indexes already exist").
    await Promise.all([this.#migrations.createIndex({ targetDb: 1 }, { name: 'delta_target' }), this.#audit.createIndex({ targetDb: 1, at: -1 }, { name: 'delta_target_at' })]);
  }

  async history(options: { readonly consistent?: boolean } = {}): Promise<HistoryEntry[]> {
    // One query; batches of 1,000 keep 10,000 records to ten getMores without one 4 MB reply.
    // Raw documents, decoded here by the driver's own bson with its defaults (the driver's too; not
    // `import 'bson'`, whose ES module build would be a second copy to load): the driver would first
    // wrap each in a lazily parsed document and then decode it, which costs 10,000 records about
    // 5 MB of peak memory and a tenth of status's CPU time (issue 22).
    if (options.consistent === true && this.#snapshots !== false) {
      const session = this.#options.client.startSession();
      try {
        session.startTransaction({ readConcern: { level: 'snapshot' } });
        const entries = await this.#readHistory(session);
        await session.commitTransaction();
        this.#snapshots = true;
        return entries;
      } catch (error) {
        await session.abortTransaction().catch(() => undefined);
        // A standalone server has no transactions (IllegalOperation, 20): a plain read there.
        if (this.#snapshots !== undefined || (error as { code?: unknown }).code !== 20) throw error;
        this.#snapshots = false;
      } finally {
        await session.endSession();
      }
    }
    return this.#readHistory(undefined);
  }

  async #readHistory(session: ClientSession | undefined): Promise<HistoryEntry[]> {
    const cursor = this.#migrations.find({ targetDb: this.targetDb }, { batchSize: 1000, projection: HISTORY_PROJECTION, raw: true, session });
    const entries: HistoryEntry[] = [];
    for await (const bytes of cursor) entries.push(BSON.deserialize(bytes as unknown as Uint8Array) as unknown as HistoryEntry);
    return entries;
  }

  record(change: RecordChange, audit: AuditEvent | undefined, session?: ClientSession): Promise<void> {
    return this.recordAll([{ change, audit }], session);
  }

  async recordAll(writes: readonly RecordWrite[], session?: ClientSession): Promise<void> {
    const records: { filter: Document; update: Document }[] = [];
    const events: Document[] = [];
    const models: AnyClientBulkWriteModel<Document>[] = [];
    // A rolled-back change keeps no range checkpoint (its next application splits afresh). An applied
    // one has none left: its walks removed theirs as they completed.
    const rolledBack = writes.filter((w) => w.change.status === 'rolled_back').map((w) => this.#key(w.change.changeId));
    const rangesFilter: Document = { '_id.change': { $in: rolledBack } };
    for (const write of writes) {
      const { change } = write;
      const record: { filter: Document; update: Document } = { filter: { _id: this.#key(change.changeId) }, update: recordUpdate(change, this.targetDb) };
      records.push(record);
      models.push({ namespace: this.#migrations.namespace, name: 'updateOne', ...record, upsert: true });
      if (write.audit !== undefined) {
        const event = this.#auditDocument(write.audit);
        events.push(event);
        models.push({ namespace: this.#audit.namespace, name: 'insertOne', document: event });
      }
    }
    if (rolledBack.length > 0) models.push({ namespace: this.#ranges.namespace, name: 'deleteMany', filter: rangesFilter });
    if (models.length > 1 && this.#options.clientBulkWrite) {
      // MongoDB 8.0+: records and audit events, in order, in one command.
      try {
        await this.#options.client.bulkWrite(models, { session, ordered: true });
      } catch (error) {
        throw commandError(error);
      }
      return;
    }
    if (rolledBack.length > 0) await this.#ranges.deleteMany(rangesFilter, { session });
    // Before 8.0 (or a lone record): the records in one `update` command, their audit events in one `insert`.
    if (records.length > 0)
      await this.#migrations.bulkWrite(
        records.map((r) => ({ updateOne: { ...r, upsert: true } })),
        { session, ordered: true },
      );
    if (events.length > 0) await this.#audit.insertMany(events, { session, ordered: true });
  }

  async checkpoints(changeId: string): Promise<BatchCheckpoint[]> {
    const filter: Document = { _id: this.#key(changeId) };
    const record = await this.#migrations.findOne(filter, { projection: { checkpoints: 1 } });
    return Array.isArray(record?.checkpoints) ? (record.checkpoints as BatchCheckpoint[]) : [];
  }

  async saveCheckpoints(changeId: string, checkpoints: readonly BatchCheckpoint[], session?: ClientSession): Promise<void> {
    const filter: Document = { _id: this.#key(changeId) };
    // The record exists: the change's `running` marker was written before it ran.
    await this.#migrations.updateOne(filter, { $set: { checkpoints: [...checkpoints] } }, { session });
  }

  async rangeCheckpoints(changeId: string, walk: string): Promise<RangeCheckpoint[]> {
    const docs = await this.#ranges.find({ '_id.change': this.#key(changeId), '_id.walk': walk }).toArray();
    return docs.map((doc) => {
      const id = doc._id as unknown as { walk: string; range: number };
      return {
        walk: id.walk,
        range: id.range,
        split: doc.split as string,
        lastId: doc.lastId as unknown,
        done: doc.done as number,
        batches: doc.batches as number,
        complete: doc.complete as boolean,
        at: doc.at as Date,
      };
    });
  }

  async saveRangeCheckpoints(changeId: string, checkpoints: readonly RangeCheckpoint[], session?: ClientSession): Promise<void> {
    const change = this.#key(changeId);
    const replacements = checkpoints.map(({ walk, range, lastId, ...rest }) => {
      // No `lastId` before a range's first batch: stored as null it would read as an `_id` of null.
      const doc: Document = { targetDb: this.targetDb, ...rest };
      if (lastId !== undefined) doc.lastId = lastId;
      return { replaceOne: { filter: { _id: { change, walk, range } }, replacement: doc, upsert: true } };
    });
    if (replacements.length === 1 && replacements[0] !== undefined) {
      const { filter, replacement } = replacements[0].replaceOne;
      await this.#ranges.replaceOne(filter, replacement, { session, upsert: true });
    } else if (replacements.length > 0) await this.#ranges.bulkWrite(replacements, { session, ordered: false });
  }

  async clearRangeCheckpoints(changeId: string, walk?: string): Promise<void> {
    const filter: Document = { '_id.change': this.#key(changeId) };
    if (walk !== undefined) filter['_id.walk'] = walk;
    await this.#ranges.deleteMany(filter);
  }

  async audit(event: AuditEvent, session?: ClientSession): Promise<void> {
    await this.#audit.insertOne(this.#auditDocument(event), { session });
  }

  async auditLog(query: AuditQuery = {}): Promise<AuditEvent[]> {
    const filter: Document = { targetDb: this.targetDb };
    if (query.changeId !== undefined) filter.changeId = query.changeId;
    if (query.action !== undefined) filter.action = query.action;
    if (query.since !== undefined) filter.at = { $gte: query.since };
    const cursor = this.#audit.find(filter, { projection: { _id: 0 } }).sort({ at: -1, _id: -1 });
    if (query.limit !== undefined) cursor.limit(query.limit);
    return (await cursor.toArray()) as unknown as AuditEvent[];
  }

  async removeRecords(changeIds: readonly string[]): Promise<void> {
    if (changeIds.length === 0) return;
    const filter: Document = { _id: { $in: changeIds.map((id) => this.#key(id)) } };
    await this.#migrations.deleteMany(filter);
    await this.#ranges.deleteMany({ '_id.change': { $in: changeIds.map((id) => this.#key(id)) } });
  }

  async amendRecord(changeId: string, fields: RecordAmendment, audit: AuditEvent): Promise<void> {
    const set: Document = { ...fields };
    if (fields.status === 'failed') set.failedAt = audit.at;
    const filter: Document = { _id: this.#key(changeId) };
    await this.#migrations.updateOne(filter, { $set: set });
    await this.#audit.insertOne(this.#auditDocument(audit));
  }

  /** An audit event as stored: without its unset fields (the driver would store them as null). */
  #auditDocument(event: AuditEvent): Document {
    return Object.fromEntries(Object.entries(event).filter(([, value]) => value !== undefined));
  }

  #key(changeId: string): string {
    return `${this.#prefix}${changeId}`;
  }
}

/** The `$set`/`$unset` a state change makes to a record (shared with the SQLite tracker, which applies it to a JSON document). */
export function recordUpdate(change: RecordChange, targetDb: string): Document {
  const set: Document = {
    changeId: change.changeId,
    targetDb,
    status: change.status,
    checksum: change.checksum,
    runId: change.runId,
    executedBy: executedBy(),
    toolVersion: toolVersion(),
    transactional: change.transactional,
  };
  const unset: Document = {};
  if (change.file !== undefined) set.file = change.file;
  if (change.description !== undefined) set.description = change.description;
  if (change.stage !== undefined) set.stage = change.stage;
  if (change.runner !== undefined) set.runner = change.runner;
  if (change.metadata !== undefined) {
    // The file's metadata as of this write: keys it no longer sets are removed.
    const stored: Document = { ...change.metadata };
    for (const key of METADATA_FIELDS) {
      if (stored[key] !== undefined) set[key] = stored[key];
      else unset[key] = '';
    }
  }
  if (change.durationMs !== undefined) set.durationMs = change.durationMs;
  switch (change.status) {
    case 'running':
      set.startedAt = change.at;
      break;
    case 'applied':
      set.appliedAt = change.at;
      if (change.appliedSeq !== undefined) set.appliedSeq = change.appliedSeq;
      // A finished application keeps no checkpoint: the next one (after a rollback, or a
      // repeatable change's edit) walks from the start.
      unset.checkpoints = '';
      break;
    case 'rolled_back':
      set.rolledBackAt = change.at;
      unset.checkpoints = '';
      break;
    case 'failed':
      set.failedAt = change.at;
      break;
  }
  if (change.error !== undefined) set.error = change.error;
  else unset.error = '';
  if (change.reason !== undefined) set.reason = change.reason;
  else unset.reason = '';
  return Object.keys(unset).length === 0 ? { $set: set } : { $set: set, $unset: unset };
}

/**
 * client.bulkWrite reports a failed command as "Mongo client bulk write encountered an error
 * during execution" with the server's error (its code, labels and message) as `cause`: hand on
 * the server's error, which says what happened.
 */
function commandError(error: unknown): unknown {
  const cause = (error as { name?: unknown; cause?: unknown }).cause;
  return (error as { name?: unknown }).name === 'MongoClientBulkWriteError' && cause instanceof Error ? cause : error;
}
