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
  /**
   * The target's deployment (its host list) when a tracker database of its own serves targets
   * on several deployments and this one is not the run's own: its records and audit events carry
   * it, and record keys are `<deployment>/<targetDb>/<id>`. Undefined: the run's own deployment,
   * whose records carry none (as before fleets spanned deployments).
   */
  readonly deployment?: string | undefined;
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
  /** Which records are this target's: its database, and its deployment in a tracker shared across deployments. */
  readonly #owner: Document;
  /** Whether consistent history reads can use a snapshot transaction: unknown until the first one. */
  #snapshots: boolean | undefined;
  /** Whether records may hold audit events kept for later (see recordAllAuditLater): unknown until a history read or a flush. */
  #kept: boolean | undefined;

  constructor(options: MongoTrackerOptions) {
    this.#options = options;
    this.targetDb = options.targetDb;
    this.sharesTargetClient = options.sharesTargetClient;
    const db = options.client.db(options.trackerDb);
    this.#migrations = db.collection(options.collections.migrations);
    this.#audit = db.collection(options.collections.audit);
    const shared = options.trackerDb !== options.targetDb || options.deployment !== undefined;
    this.#prefix = !shared ? '' : options.deployment === undefined ? `${options.targetDb}/` : `${options.deployment}/${options.targetDb}/`;
    // In a shared tracker the run's own deployment's records are those without a deployment: the
    // same database name on another deployment is another target.
    this.#owner = !shared ? { targetDb: this.targetDb } : { targetDb: this.targetDb, deployment: options.deployment ?? { $exists: false } };
    this.#ranges = db.collection(checkpointsCollection(options.collections.migrations));
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
    // Kept audit events come along (absent but after a crash): the run that reads them flushes them.
    const cursor = this.#migrations.find(this.#owner, { batchSize: 1000, projection: { ...HISTORY_PROJECTION, [KEPT_AUDIT]: 1 }, raw: true, session });
    const entries: HistoryEntry[] = [];
    let kept = false;
    for await (const bytes of cursor) {
      const entry = BSON.deserialize(bytes as unknown as Uint8Array);
      if (entry[KEPT_AUDIT] !== undefined) {
        kept ||= Array.isArray(entry[KEPT_AUDIT]) && entry[KEPT_AUDIT].length > 0;
        delete entry[KEPT_AUDIT];
      }
      entries.push(entry as unknown as HistoryEntry);
    }
    this.#kept = kept;
    return entries;
  }

  record(change: RecordChange, audit: AuditEvent | undefined, session?: ClientSession): Promise<void> {
    return this.recordAll([{ change, audit }], session);
  }

  async recordAll(writes: readonly RecordWrite[], session?: ClientSession): Promise<void> {
    const records: { filter: Document; update: Document }[] = [];
    const events: Document[] = [];
    const models: AnyClientBulkWriteModel<Document>[] = [];
    const rolledBack = this.#rolledBackWalks(writes);
    const rangesFilter: Document = { '_id.change': { $in: rolledBack } };
    for (const write of writes) {
      const { change } = write;
      const record: { filter: Document; update: Document } = { filter: { _id: this.#key(change.changeId) }, update: recordUpdate(change, this.targetDb, this.#options.deployment) };
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

  async recordAllAuditLater(writes: readonly RecordWrite[]): Promise<void> {
    // MongoDB 8.0+: records and audit events go in one client-level bulkWrite already; keeping
    // the events measured no faster there (issue 22), so they are written at once.
    if (this.#options.clientBulkWrite) return this.recordAll(writes);
    // Before 8.0 that is two commands (update, then insert): one `update` instead, each audit
    // event kept in its record until flushAudit moves it (one round trip fewer per change).
    const statements = writes.map(({ change, audit }) => {
      const update = recordUpdate(change, this.targetDb, this.#options.deployment);
      if (audit !== undefined) update.$push = { [KEPT_AUDIT]: { _id: new BSON.ObjectId(), ...this.#auditDocument(audit) } };
      const filter: Document = { _id: this.#key(change.changeId) };
      return { updateOne: { filter, update, upsert: true } };
    });
    this.#kept = true;
    await this.#migrations.bulkWrite(statements, { ordered: true });
    const rolledBack = this.#rolledBackWalks(writes);
    if (rolledBack.length > 0) await this.#ranges.deleteMany({ '_id.change': { $in: rolledBack } });
  }

  /**
   * The record keys of batched changes rolled back by these writes: a rolled-back change keeps no
   * range checkpoint (its next application splits afresh). An applied one has none left: its walks
   * removed theirs as they completed. Only a change that declares `batches` can have any.
   */
  #rolledBackWalks(writes: readonly RecordWrite[]): string[] {
    return writes.filter((w) => w.change.status === 'rolled_back' && w.change.metadata?.batches === true).map((w) => this.#key(w.change.changeId));
  }

  async flushAudit(): Promise<void> {
    if (this.#kept === false) return;
    const holders = await this.#keptEvents();
    if (holders.length > 0) {
      const events = holders.flatMap((holder) => holder.events);
      try {
        // Each event has its _id since it was kept: a flush cut short and repeated inserts none twice.
        await this.#audit.insertMany(events, { ordered: false });
      } catch (error) {
        if (!onlyDuplicateKeys(error)) throw error;
      }
      // Unset where the record still holds just what was read (so nothing kept since is lost),
      // grouped by that count: one command, and no per-element matching on the server.
      const bySize = new Map<number, unknown[]>();
      for (const holder of holders) {
        const ids = bySize.get(holder.events.length) ?? [];
        ids.push(holder._id);
        bySize.set(holder.events.length, ids);
      }
      await this.#migrations.bulkWrite(
        [...bySize].map(([size, ids]) => {
          const filter: Document = { _id: { $in: ids }, [KEPT_AUDIT]: { $size: size } };
          return { updateMany: { filter, update: { $unset: { [KEPT_AUDIT]: '' } } } };
        }),
        { ordered: true },
      );
    }
    this.#kept = false;
  }

  /** The records that keep audit events, with those events. */
  async #keptEvents(): Promise<{ _id: unknown; events: Document[] }[]> {
    const holders = await this.#migrations.find({ ...this.#owner, [`${KEPT_AUDIT}.0`]: { $exists: true } }, { projection: { [KEPT_AUDIT]: 1 }, batchSize: 1000 }).toArray();
    return holders.map((holder) => ({ _id: holder._id, events: (holder[KEPT_AUDIT] as Document[] | undefined) ?? [] }));
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
    const filter: Document = { ...this.#owner };
    if (query.changeId !== undefined) filter.changeId = query.changeId;
    if (query.action !== undefined) filter.action = query.action;
    if (query.since !== undefined) filter.at = { $gte: query.since };
    const cursor = this.#audit.find(filter).sort({ at: -1, _id: -1 });
    if (query.limit !== undefined) cursor.limit(query.limit);
    const logged = await cursor.toArray();
    // Events a run without transactions keeps in its records until it ends (or, after a crash,
    // until the next run) belong to the log already: a reader sees them as if moved.
    const seen = new Set(logged.map((event) => String(event._id)));
    const kept = (await this.#keptEvents()).flatMap((holder) => holder.events).filter((event) => !seen.has(String(event._id)) && matches(event, query));
    const events = kept.length === 0 ? logged : [...logged, ...kept].sort(newestFirst);
    const limited = query.limit === undefined ? events : events.slice(0, query.limit);
    return limited.map(({ _id, ...event }) => event) as unknown as AuditEvent[];
  }

  async removeRecords(changeIds: readonly string[]): Promise<void> {
    if (changeIds.length === 0) return;
    // A removed record takes nothing of the audit log with it.
    await this.flushAudit();
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
    const stored = Object.fromEntries(Object.entries(event).filter(([, value]) => value !== undefined));
    return this.#options.deployment === undefined ? stored : { ...stored, deployment: this.#options.deployment };
  }

  #key(changeId: string): string {
    return `${this.#prefix}${changeId}`;
  }
}

/** The `$set`/`$unset` a state change makes to a record (shared with the SQLite tracker, which applies it to a JSON document). */
export function recordUpdate(change: RecordChange, targetDb: string, deployment?: string): Document {
  const set: Document = {
    changeId: change.changeId,
    targetDb,
    ...(deployment === undefined ? {} : { deployment }),
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

/** The record field where recordAllAuditLater keeps audit events; never part of a history entry. */
const KEPT_AUDIT = 'auditLater';

function matches(event: Document, query: AuditQuery): boolean {
  return (
    (query.changeId === undefined || event.changeId === query.changeId) &&
    (query.action === undefined || event.action === query.action) &&
    (query.since === undefined || (event.at instanceof Date && event.at >= query.since))
  );
}

/** The audit log's order: newest first, then by insertion (the ObjectId). */
function newestFirst(a: Document, b: Document): number {
  const byTime = (b.at as Date).getTime() - (a.at as Date).getTime();
  return byTime !== 0 ? byTime : String(b._id).localeCompare(String(a._id));
}

/** An insertMany whose only failures are events already in the log (E11000). */
function onlyDuplicateKeys(error: unknown): boolean {
  const errors = (error as { writeErrors?: unknown }).writeErrors;
  const list = Array.isArray(errors) ? errors : errors === undefined ? [] : [errors];
  return list.length > 0 && list.every((entry) => (entry as { code?: unknown }).code === 11000) && (error as { code?: unknown }).code === 11000;
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
