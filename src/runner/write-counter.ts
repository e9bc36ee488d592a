import type { ClientSession, CommandStartedEvent, CommandSucceededEvent, Document, MongoClient } from 'mongodb';
import { sessionKey } from './write-guard.js';
import type { DdlAction, WriteCountKind, WriteCounts } from '../vocabulary/index.js';

/** What a change wrote, as the server's replies counted it: documents per collection, and catalog changes. */
export interface WriteTally {
  /** Per collection (its name inside the target database), in the order first written. */
  readonly writes: ReadonlyMap<string, WriteCounts>;
  readonly ddl: readonly DdlAction[];
}

interface Count {
  readonly targetDb: string;
  readonly sessionId: string | undefined;
  readonly exempt: ReadonlySet<string>;
  readonly writes: Map<string, Record<WriteCountKind, number>>;
  readonly ddl: DdlAction[];
}

interface Started {
  readonly name: string;
  readonly db: string;
  readonly command: Document;
  readonly sessionId: string | undefined;
}

const COUNTED = new Set(['insert', 'update', 'delete', 'findAndModify', 'bulkWrite', 'create', 'drop', 'createIndexes', 'dropIndexes', 'collMod', 'renameCollection', 'dropDatabase']);
const counters = new WeakMap<MongoClient, WriteCounter>();

/**
 * Counts what write commands did from the server's replies (command monitoring: the client must
 * be opened with `monitorCommands`, as delta's clients are): `n`, `nModified` and `upserted` of
 * an update, `n` of an insert or delete, `lastErrorObject` of a findAndModify. In a transaction
 * only the commands of its session count; without one, every write to the target database while
 * the count is open (a parallel stage's neighbours cannot be told apart). A findAndModify that
 * matched a document counts it as modified: its reply does not say whether anything changed.
 */
export class WriteCounter {
  readonly #counts = new Set<Count>();
  readonly #started = new Map<number, Started>();

  private constructor(client: MongoClient) {
    client.on('commandStarted', (event) => this.#onStarted(event));
    client.on('commandSucceeded', (event) => this.#onSucceeded(event));
    client.on('commandFailed', (event) => this.#started.delete(event.requestId));
  }

  /** The counter of a client: one set of listeners per client. */
  static of(client: MongoClient): WriteCounter {
    let counter = counters.get(client);
    if (counter === undefined) {
      counter = new WriteCounter(client);
      counters.set(client, counter);
    }
    return counter;
  }

  /** Counts writes to `targetDb` (in `session`'s transaction, when given) until the returned function is called. */
  count(targetDb: string, session: ClientSession | undefined, exempt: readonly string[]): () => WriteTally {
    const count: Count = { targetDb, sessionId: session === undefined ? undefined : sessionKey(session.id), exempt: new Set(exempt), writes: new Map(), ddl: [] };
    this.#counts.add(count);
    return () => {
      this.#counts.delete(count);
      return { writes: count.writes, ddl: count.ddl };
    };
  }

  #onStarted(event: CommandStartedEvent): void {
    if (this.#counts.size === 0 || !COUNTED.has(event.commandName)) return;
    const command = event.command;
    const inTransaction = command.txnNumber !== undefined && command.autocommit === false;
    const sessionId = inTransaction ? sessionKey(command.lsid as { id?: unknown } | undefined) : undefined;
    this.#started.set(event.requestId, { name: event.commandName, db: event.databaseName, command, sessionId });
  }

  #onSucceeded(event: CommandSucceededEvent): void {
    const started = this.#started.get(event.requestId);
    if (started === undefined) return;
    this.#started.delete(event.requestId);
    const reply = event.reply as Document;
    for (const count of this.#counts) {
      if (count.sessionId !== undefined && count.sessionId !== started.sessionId) continue;
      tally(count, started, reply);
    }
  }
}

function tally(count: Count, started: Started, reply: Document): void {
  const { name, db, command } = started;
  const own = (ns: string) => ns === count.targetDb || ns.startsWith(`${count.targetDb}.`);
  const collectionOf = (ns: string) => ns.slice(count.targetDb.length + 1);
  const add = (collection: string, kind: WriteCountKind, n: unknown) => {
    const value = typeof n === 'number' ? n : Number(n ?? 0);
    if (!Number.isFinite(value) || value === 0) {
      if (!count.writes.has(collection)) count.writes.set(collection, zero());
      return;
    }
    const counts = count.writes.get(collection) ?? zero();
    counts[kind] += value;
    count.writes.set(collection, counts);
  };
  if (name === 'bulkWrite') {
    // Client bulkWrite (MongoDB 8.0): totals only; per collection when it wrote one.
    const namespaces = Array.isArray(command.nsInfo) ? (command.nsInfo as { ns?: unknown }[]).map((info) => String(info.ns)).filter(own) : [];
    const [only] = namespaces;
    if (only === undefined || count.exempt.has(only)) return;
    const collection = namespaces.length === 1 ? collectionOf(only) : namespaces.map(collectionOf).join(', ');
    add(collection, 'inserted', reply.nInserted);
    add(collection, 'matched', reply.nMatched);
    add(collection, 'modified', reply.nModified);
    add(collection, 'deleted', reply.nDeleted);
    add(collection, 'upserted', reply.nUpserted);
    return;
  }
  if (db !== count.targetDb) return;
  if (name === 'dropDatabase') {
    count.ddl.push({ action: 'dropDatabase', collection: '' });
    return;
  }
  if (name === 'renameCollection') {
    const from = String(command.renameCollection);
    const to = String(command.to);
    if (own(from)) count.ddl.push({ action: 'renameCollection', collection: collectionOf(from), name: own(to) ? collectionOf(to) : to });
    return;
  }
  const collection = String(command[name]);
  if (count.exempt.has(`${db}.${collection}`)) return;
  switch (name) {
    case 'insert':
      add(collection, 'inserted', reply.n);
      return;
    case 'delete':
      add(collection, 'deleted', reply.n);
      return;
    case 'update': {
      const upserted = Array.isArray(reply.upserted) ? reply.upserted.length : 0;
      add(collection, 'matched', Number(reply.n ?? 0) - upserted);
      add(collection, 'modified', reply.nModified);
      add(collection, 'upserted', upserted);
      return;
    }
    case 'findAndModify': {
      const last = (reply.lastErrorObject ?? {}) as Document;
      const n = Number(last.n ?? 0);
      if (command.remove === true) add(collection, 'deleted', n);
      else if (last.upserted !== undefined) add(collection, 'upserted', n);
      else {
        add(collection, 'matched', n);
        add(collection, 'modified', n);
      }
      return;
    }
    case 'create':
      count.ddl.push({ action: 'createCollection', collection });
      return;
    case 'drop':
      count.ddl.push({ action: 'dropCollection', collection });
      return;
    case 'collMod':
      count.ddl.push({ action: 'collMod', collection });
      return;
    case 'createIndexes':
      if (reply.createdCollectionAutomatically === true) count.ddl.push({ action: 'createCollection', collection });
      for (const index of (command.indexes ?? []) as Document[]) count.ddl.push({ action: 'createIndex', collection, name: String(index.name) });
      return;
    case 'dropIndexes': {
      const index: unknown = command.index;
      const names = Array.isArray(index) ? index.map(String) : [typeof index === 'string' ? index : JSON.stringify(index)];
      for (const indexName of names) count.ddl.push({ action: 'dropIndex', collection, name: indexName });
      return;
    }
    default:
  }
}

function zero(): Record<WriteCountKind, number> {
  return { matched: 0, modified: 0, inserted: 0, deleted: 0, upserted: 0 };
}
