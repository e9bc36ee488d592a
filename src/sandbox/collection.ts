// One collection: documents kept as MVCC version chains keyed by the canonical key of `_id`
// (the concurrency model: doc-versions.ts), unique-index maps, document validation
// (document-validator.ts), and the write primitives every write path goes through.
import { UUID } from 'bson';
import type { Document } from 'bson';
import { renderValue, valueKey } from './bson-values.js';
import { LockWait, writeConflict } from './doc-versions.js';
import type { DocChain, DocVersion, ReadView, TxnWriter } from './doc-versions.js';
import { DocumentValidator } from './document-validator.js';
import { CommandError } from './errors.js';
import { IndexEntry } from './index-catalog.js';
import type { IndexKey } from './index-catalog.js';
import { OrderedIndex } from './ordered-index.js';

/** The services a collection needs from the storage that owns it. */
export interface StorageServices {
  nextSeq(): number;
  oldestSnapshot(): number;
  log(line: string): void;
}

export interface WriteScope {
  readonly txn: TxnWriter | undefined;
  readonly bypassValidation?: boolean;
}

export class Collection {
  database: string;
  name: string;
  readonly uuid: UUID;
  /** Creation options as listCollections reports them (validator, collation, capped, ...). */
  options: Document;
  readonly chains = new Map<string, DocChain>();
  /** Chains holding more than their newest version, or a deletion marker: pruned when snapshots advance. */
  readonly history = new Set<DocChain>();
  indexes: IndexEntry[] = [];
  /** The `_id` index in key order (the chains map answers point lookups; this answers ranges and sorts). */
  readonly idIndex = new OrderedIndex({ name: '_id_', keyPattern: { _id: 1 } });
  liveCount = 0;
  #nextRid = 1;
  readonly #storage: StorageServices;
  #validator: DocumentValidator | undefined;

  constructor(storage: StorageServices, database: string, name: string, options: Document = {}, uuid?: UUID) {
    this.#storage = storage;
    this.database = database;
    this.name = name;
    this.options = options;
    this.uuid = uuid ?? new UUID();
    this.#validator = DocumentValidator.of(options);
  }

  get namespace(): string {
    return `${this.database}.${this.name}`;
  }

  get uniqueIndexes(): IndexEntry[] {
    return this.indexes.filter((index) => index.unique);
  }

  /** Index specs as listIndexes returns them, `_id_` first. */
  indexSpecs(): Document[] {
    return [{ v: 2, key: { _id: 1 }, name: '_id_' }, ...this.indexes.map((index) => ({ ...index.spec }))];
  }

  setOptions(options: Document): void {
    this.options = options;
    this.#validator = DocumentValidator.of(options);
  }

  // ---- reads -------------------------------------------------------------------------------

  /** The document of `chain` as `view` sees it (null: absent or deleted). */
  visible(chain: DocChain, view: ReadView): Document | null {
    if (view.txn !== undefined && chain.lockedBy === view.txn) {
      return view.txn.writes.get(this)?.get(chain.idKey)?.doc ?? null;
    }
    const versions = chain.versions;
    const last = versions[versions.length - 1];
    if (last === undefined) return null;
    if (last.seq <= view.snapshot) return last.doc;
    for (let i = versions.length - 2; i >= 0; i--) {
      const version = versions[i] as DocVersion;
      if (version.seq <= view.snapshot) return version.doc;
    }
    return null;
  }

  getById(id: unknown, view: ReadView): Document | null {
    return this.getByKey(valueKey(id), view);
  }

  getByKey(idKey: string, view: ReadView): Document | null {
    const chain = this.chains.get(idKey);
    return chain === undefined ? null : this.visible(chain, view);
  }

  /** Every visible document, in natural (insertion) order; safe against concurrent writes. */
  *scan(view: ReadView): Generator<Document> {
    for (const chain of this.chains.values()) {
      const document = this.visible(chain, view);
      if (document !== null) yield document;
    }
  }

  count(view: ReadView): number {
    if (view.txn === undefined && view.snapshot === Number.POSITIVE_INFINITY) return this.liveCount;
    let n = 0;
    for (const chain of this.chains.values()) if (this.visible(chain, view) !== null) n++;
    return n;
  }

  /** Whether any open transaction has uncommitted writes here (DDL must wait for them). */
  lockingTransactions(): TxnWriter[] {
    const owners = new Set<TxnWriter>();
    for (const chain of this.chains.values()) if (chain.lockedBy !== undefined) owners.add(chain.lockedBy);
    return [...owners];
  }

  // ---- validation ----------------------------------------------------------------------------

  /** Enforces the collection validator (code 121) for a new version of a document. */
  validate(next: Document, previous: Document | null, scope: WriteScope): void {
    if (scope.bypassValidation === true) return;
    this.#validator?.check(next, previous, this.namespace, (line) => this.#storage.log(line));
  }

  // ---- writes ----------------------------------------------------------------------------------

  /** Inserts a new document (its `_id` set); DuplicateKey, WriteConflict or LockWait otherwise. */
  insert(document: Document, scope: WriteScope): void {
    const idKey = valueKey(document._id);
    const chain = this.chains.get(idKey);
    const txn = scope.txn;
    if (chain !== undefined) {
      if (txn === undefined) {
        if (chain.lockedBy !== undefined) throw new LockWait(chain.lockedBy);
        if (chain.versions[chain.versions.length - 1]?.doc != null) throw this.#duplicateId(document._id);
      } else if (chain.lockedBy === txn) {
        if (this.visible(chain, { snapshot: txn.snapshot, txn }) !== null) throw this.#duplicateId(document._id);
      } else {
        if (chain.lockedBy !== undefined) throw writeConflict();
        const last = chain.versions[chain.versions.length - 1];
        if (last !== undefined && last.seq > txn.snapshot) throw writeConflict();
        if (last?.doc != null) throw this.#duplicateId(document._id);
      }
    }
    this.validate(document, null, scope);
    const keys = this.#checkUnique(document, idKey, txn);
    this.#apply(chain, idKey, document, keys, txn);
  }

  /** Replaces the document with key `idKey` by `next`, as seen by the scope. */
  replace(idKey: string, previous: Document, next: Document, scope: WriteScope): void {
    const chain = this.#lockableChain(idKey, scope.txn);
    this.validate(next, previous, scope);
    const keys = this.#checkUnique(next, idKey, scope.txn);
    this.#apply(chain, idKey, next, keys, scope.txn);
  }

  remove(idKey: string, scope: WriteScope): void {
    const chain = this.#lockableChain(idKey, scope.txn);
    this.#apply(chain, idKey, null, new Map(), scope.txn);
  }

  /** Verifies nothing else holds a lock on the document; returns its chain. */
  #lockableChain(idKey: string, txn: TxnWriter | undefined): DocChain {
    const chain = this.chains.get(idKey);
    if (chain === undefined) throw new CommandError('InternalError', `document ${idKey} vanished during a write`);
    if (txn === undefined) {
      if (chain.lockedBy !== undefined) throw new LockWait(chain.lockedBy);
      return chain;
    }
    if (chain.lockedBy === txn) return chain;
    if (chain.lockedBy !== undefined) throw writeConflict();
    const last = chain.versions[chain.versions.length - 1];
    if (last !== undefined && last.seq > txn.snapshot) throw writeConflict();
    return chain;
  }

  #duplicateId(id: unknown): CommandError {
    return new CommandError('DuplicateKey', `E11000 duplicate key error collection: ${this.namespace} index: _id_ dup key: { _id: ${renderValue(id)} }`, {
      extra: { keyPattern: { _id: 1 }, keyValue: { _id: id } },
    });
  }

  /**
   * Checks every unique index for `document` (about to become the version of `idKey`) and
   * returns its keys per index. Committed keys, the writer's own pending keys and other open
   * transactions' pending keys are all considered (see the module comment for the outcomes).
   */
  #checkUnique(document: Document, idKey: string, txn: TxnWriter | undefined): Map<IndexEntry, IndexKey[]> {
    const result = new Map<IndexEntry, IndexKey[]>();
    for (const index of this.indexes) {
      if (!index.unique) continue;
      const keys = index.keysOf(document);
      result.set(index, keys);
      for (const { key, values } of keys) {
        const reservation = index.reservations.get(key);
        const owner = index.committed.get(key);
        if (reservation !== undefined && reservation.idKey !== idKey) {
          const mine = txn !== undefined && reservation.ownerId === txn.id;
          if (mine) throw index.duplicateKeyError(this.namespace, values);
          if (reservation.idKey !== owner) {
            const holder = this.chains.get(reservation.idKey)?.lockedBy;
            if (holder !== undefined) {
              if (txn === undefined) throw new LockWait(holder);
              throw writeConflict();
            }
          }
        }
        if (owner === undefined || owner === idKey) continue;
        const ownerChain = this.chains.get(owner);
        if (ownerChain === undefined) continue;
        if (txn !== undefined && ownerChain.lockedBy === txn) continue; // our own version of it no longer holds the key
        if (ownerChain.lockedBy !== undefined) {
          const stillHeld = reservation !== undefined && reservation.idKey === owner;
          if (!stillHeld) {
            if (txn === undefined) throw new LockWait(ownerChain.lockedBy);
            throw writeConflict();
          }
        }
        if (txn !== undefined) {
          const last = ownerChain.versions[ownerChain.versions.length - 1];
          if (last !== undefined && last.seq > txn.snapshot) throw writeConflict();
        }
        throw index.duplicateKeyError(this.namespace, values);
      }
    }
    return result;
  }

  #apply(chain: DocChain | undefined, idKey: string, next: Document | null, keys: Map<IndexEntry, IndexKey[]>, txn: TxnWriter | undefined): void {
    const target = chain ?? this.#newChain(idKey);
    const before = this.#indexedDocuments(target);
    if (txn === undefined) {
      this.#commitVersion(target, next, keys, this.#storage.nextSeq());
      this.#settle(target, before);
      return;
    }
    target.lockedBy = txn;
    let writes = txn.writes.get(this);
    if (writes === undefined) {
      writes = new Map();
      txn.writes.set(this, writes);
    }
    const pending = writes.get(idKey);
    if (pending === undefined) writes.set(idKey, { chain: target, doc: next });
    else pending.doc = next;
    for (const index of this.indexes) {
      if (!index.unique) continue;
      let byDoc = txn.reserved.get(index);
      if (byDoc === undefined) {
        byDoc = new Map();
        txn.reserved.set(index, byDoc);
      }
      for (const old of byDoc.get(idKey) ?? []) {
        if (index.reservations.get(old.key)?.ownerId === txn.id) index.reservations.delete(old.key);
      }
      const fresh = keys.get(index) ?? [];
      for (const entry of fresh) index.reservations.set(entry.key, { ownerId: txn.id, idKey });
      byDoc.set(idKey, fresh);
    }
    this.#reindex(target, before);
  }

  #newChain(idKey: string): DocChain {
    const chain: DocChain = { idKey, rid: this.#nextRid++, versions: [], lockedBy: undefined };
    this.chains.set(idKey, chain);
    return chain;
  }

  /** Every ordered index: `_id` first, then the secondary indexes. */
  orderedIndexes(): OrderedIndex[] {
    return [this.idIndex, ...this.indexes.map((index) => index.ordered)];
  }

  /** The document versions of a chain some reader may see: its committed versions and a pending write. */
  #indexedDocuments(chain: DocChain): Document[] {
    const documents: Document[] = [];
    for (const version of chain.versions) if (version.doc !== null) documents.push(version.doc);
    if (chain.lockedBy !== undefined) {
      const pending = chain.lockedBy.writes.get(this)?.get(chain.idKey)?.doc;
      if (pending != null) documents.push(pending);
    }
    return documents;
  }

  /** Moves the chain's index rows from the keys of `before` to those of its documents now. */
  #reindex(chain: DocChain, before: Document[]): void {
    const after = this.#indexedDocuments(chain);
    // Every version of a chain has the same _id: its one _id row changes only when the chain
    // gains its first document or loses its last.
    if ((before.length === 0) !== (after.length === 0)) this.idIndex.reconcile(chain, before, after);
    for (const index of this.indexes) index.ordered.reconcile(chain, before, after);
  }

  /** Makes `next` the newest committed version of `chain`, keeping unique maps and counts right. */
  #commitVersion(chain: DocChain, next: Document | null, keys: Map<IndexEntry, IndexKey[]> | undefined, seq: number): void {
    const previous = chain.versions[chain.versions.length - 1]?.doc ?? null;
    for (const index of this.indexes) {
      if (!index.unique) continue;
      if (previous !== null) {
        for (const { key } of index.keysOf(previous)) if (index.committed.get(key) === chain.idKey) index.committed.delete(key);
      }
      if (next !== null) {
        for (const { key } of keys?.get(index) ?? index.keysOf(next)) index.committed.set(key, chain.idKey);
      }
    }
    this.liveCount += (next === null ? 0 : 1) - (previous === null ? 0 : 1);
    if (chain.versions.length === 0 && next === null) {
      chain.versions = [];
      return;
    }
    // A new array of the exact length: push() (and spreading) reserve room for 17 versions,
    // about 130 bytes per document that almost never gets a second one.
    const version: DocVersion = { seq, doc: next };
    chain.versions = chain.versions.length === 0 ? [version] : chain.versions.concat([version]);
  }

  /** Drops versions no reader can see any more; forgets chains that are deleted for everyone. */
  #settle(chain: DocChain, before: Document[] = this.#indexedDocuments(chain)): void {
    const oldest = this.#storage.oldestSnapshot();
    const versions = chain.versions;
    if (versions.length > 1) {
      let keepFrom = 0;
      for (let i = versions.length - 1; i >= 0; i--) {
        if ((versions[i] as DocVersion).seq <= oldest) {
          keepFrom = i;
          break;
        }
      }
      if (keepFrom > 0) chain.versions = versions.slice(keepFrom);
    }
    const only = chain.versions.length === 1 ? chain.versions[0] : undefined;
    const gone = chain.versions.length === 0 || (only !== undefined && only.doc === null && only.seq <= oldest);
    if (gone && chain.lockedBy === undefined) {
      if (this.chains.get(chain.idKey) === chain) this.chains.delete(chain.idKey);
      this.history.delete(chain);
    } else if (chain.versions.length > 1 || only?.doc === null) {
      this.history.add(chain);
    } else {
      this.history.delete(chain);
    }
    this.#reindex(chain, before);
  }

  /** Makes a transaction's pending writes here committed versions stamped `seq`. */
  commitPending(txn: TxnWriter, seq: number): void {
    const writes = txn.writes.get(this);
    if (writes === undefined) return;
    this.#releaseReservations(txn);
    for (const pending of writes.values()) {
      pending.chain.lockedBy = undefined;
      this.#commitVersion(pending.chain, pending.doc, undefined, seq);
    }
  }

  /** Discards a transaction's pending writes here. */
  abortPending(txn: TxnWriter): void {
    const writes = txn.writes.get(this);
    if (writes === undefined) return;
    this.#releaseReservations(txn);
    for (const pending of writes.values()) {
      const before = this.#indexedDocuments(pending.chain);
      pending.chain.lockedBy = undefined;
      this.#reindex(pending.chain, before);
    }
  }

  /** After a transaction ended: prune what it touched and what it was keeping alive. */
  settleAfter(txn: TxnWriter): void {
    const writes = txn.writes.get(this);
    if (writes !== undefined) for (const pending of writes.values()) this.#settle(pending.chain);
    this.sweepHistory();
  }

  sweepHistory(): void {
    for (const chain of [...this.history]) this.#settle(chain);
  }

  #releaseReservations(txn: TxnWriter): void {
    for (const index of this.indexes) {
      const byDoc = txn.reserved.get(index);
      if (byDoc === undefined) continue;
      for (const keys of byDoc.values()) {
        for (const { key } of keys) if (index.reservations.get(key)?.ownerId === txn.id) index.reservations.delete(key);
      }
      txn.reserved.delete(index);
    }
  }

  // ---- indexes -----------------------------------------------------------------------------------

  /** Adds an index, building its unique map from the latest committed documents (11000 on duplicates). */
  addIndex(spec: Document): IndexEntry {
    const entry = new IndexEntry(spec);
    for (const chain of this.chains.values()) entry.ordered.add(chain, this.#indexedDocuments(chain));
    if (entry.unique) {
      for (const chain of this.chains.values()) {
        const document = chain.versions[chain.versions.length - 1]?.doc;
        if (document == null) continue;
        for (const { key, values } of entry.keysOf(document)) {
          const owner = entry.committed.get(key);
          if (owner !== undefined && owner !== chain.idKey) {
            entry.committed.clear();
            const error = entry.duplicateKeyError(this.namespace, values);
            throw new CommandError('DuplicateKey', `Index build failed: ${this.uuid.toHexString()}: Collection ${this.namespace} ( ${this.uuid.toHexString()} ) :: caused by :: ${error.message}`, {
              extra: error.extra,
            });
          }
          entry.committed.set(key, chain.idKey);
        }
      }
    }
    this.indexes.push(entry);
    return entry;
  }

  dropIndex(name: string): void {
    for (const index of this.indexes) if (index.name === name) index.ordered.dropped = true;
    this.indexes = this.indexes.filter((index) => index.name !== name);
  }

  /** Latest committed documents (for persistence and $out/renames); never includes pending writes. */
  *committedDocuments(): Generator<Document> {
    for (const chain of this.chains.values()) {
      const document = chain.versions[chain.versions.length - 1]?.doc;
      if (document != null) yield document;
    }
  }

  /** Loads a document at startup (persistence): no checks beyond unique maps. */
  load(document: Document, seq: number): void {
    const idKey = valueKey(document._id);
    const chain = this.#newChain(idKey);
    this.#commitVersion(chain, document, undefined, seq);
    this.#reindex(chain, []);
  }
}
