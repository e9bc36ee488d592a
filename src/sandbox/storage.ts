// The catalog: databases and their collections, the global commit sequence, and the set of open
// transactions whose snapshots keep old document versions alive.
import type { Document } from 'bson';
import { Collection } from './collection.js';
import type { StorageServices } from './collection.js';
import type { TxnWriter } from './doc-versions.js';
import { CommandError } from './errors.js';

/** Database names mongod refuses (code 73 InvalidNamespace). */
export function validateDatabaseName(name: string): void {
  if (name.length === 0 || name.length >= 64 || /[/\\. "$*<>:|?\0]/.test(name)) {
    throw new CommandError('InvalidNamespace', `Invalid database name: '${name}'`);
  }
}

/** Collection names mongod refuses (code 73 InvalidNamespace). */
export function validateCollectionName(database: string, name: unknown): string {
  if (typeof name !== 'string') throw new CommandError('InvalidNamespace', `collection name has invalid type ${typeof name}`);
  if (name.length === 0) throw new CommandError('InvalidNamespace', `Invalid namespace specified '${database}.'`);
  if (name.includes('\0') || name.includes('$') || name.startsWith('.') || name.endsWith('.')) {
    throw new CommandError('InvalidNamespace', `Invalid collection name: ${name}`);
  }
  if (database.length + 1 + name.length > 255) {
    throw new CommandError('InvalidNamespace', `Fully qualified namespace is too long. Namespace: ${database}.${name} Max: 255`);
  }
  return name;
}

export class Storage implements StorageServices {
  readonly databases = new Map<string, Map<string, Collection>>();
  readonly openTransactions = new Set<TxnWriter>();
  #seq = 0;
  readonly #log: (line: string) => void;

  constructor(log: (line: string) => void) {
    this.#log = log;
  }

  log(line: string): void {
    this.#log(line);
  }

  nextSeq(): number {
    this.#seq += 1;
    return this.#seq;
  }

  get currentSeq(): number {
    return this.#seq;
  }

  oldestSnapshot(): number {
    let oldest = Number.POSITIVE_INFINITY;
    for (const txn of this.openTransactions) if (txn.snapshot < oldest) oldest = txn.snapshot;
    return oldest;
  }

  getCollection(database: string, name: string): Collection | undefined {
    return this.databases.get(database)?.get(name);
  }

  collectionsOf(database: string): Collection[] {
    return [...(this.databases.get(database)?.values() ?? [])];
  }

  allCollections(): Collection[] {
    return [...this.databases.values()].flatMap((collections) => [...collections.values()]);
  }

  /** Creates a collection (the database appears with its first collection, as in mongod). */
  createCollection(database: string, name: string, options: Document = {}): Collection {
    validateDatabaseName(database);
    validateCollectionName(database, name);
    let collections = this.databases.get(database);
    if (collections === undefined) {
      collections = new Map();
      this.databases.set(database, collections);
    }
    if (collections.has(name)) throw new CommandError('NamespaceExists', `Collection already exists. NS: ${database}.${name}`);
    const collection = new Collection(this, database, name, options);
    collections.set(name, collection);
    return collection;
  }

  /** Attaches an already built collection (persistence loading, renames). */
  attach(collection: Collection): void {
    let collections = this.databases.get(collection.database);
    if (collections === undefined) {
      collections = new Map();
      this.databases.set(collection.database, collections);
    }
    collections.set(collection.name, collection);
  }

  detach(collection: Collection): void {
    const collections = this.databases.get(collection.database);
    if (collections === undefined) return;
    if (collections.get(collection.name) === collection) collections.delete(collection.name);
    if (collections.size === 0) this.databases.delete(collection.database);
  }

  /** Prunes versions the oldest open snapshot no longer needs (after a transaction ends). */
  sweep(): void {
    for (const collection of this.allCollections()) if (collection.history.size > 0) collection.sweepHistory();
  }
}
