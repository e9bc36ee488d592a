// The multi-version vocabulary of the sandbox's storage: a document's version chain, what a
// transaction holds while it is open, the view a read sees, and the two ways a write meets
// another writer (LockWait, WriteConflict). The rules that use them live in collection.ts.
//
// Concurrency model (mirrors mongod + WiredTiger closely enough for drivers and tests):
// - every committed write gets a commit sequence number; a version chain lists (seq, document)
//   pairs, newest last; a null document is a deletion;
// - a transaction reads the newest version with seq <= its snapshot, plus its own pending writes;
// - a transaction's writes stay in its pending set (chain.lockedBy = the transaction) until
//   commit, when they become versions stamped with one new sequence number;
// - a transaction writing a chain locked by another transaction, or committed after its snapshot,
//   gets WriteConflict (112) and is aborted, as in mongod;
// - a non-transactional write meeting a transaction's lock waits for that transaction to finish
//   (mongod retries the write-conflicting operation internally until the lock is released or
//   maxTimeMS expires): the primitives throw LockWait and write-operations.ts waits and retries;
// - versions no open transaction can see are pruned as soon as the oldest snapshot moves on.
import type { Document } from 'bson';
import type { Collection } from './collection.js';
import { CommandError, TRANSIENT_TRANSACTION_ERROR } from './errors.js';
import type { IndexEntry, IndexKey } from './index-catalog.js';

export interface DocVersion {
  readonly seq: number;
  readonly doc: Document | null;
}

export interface DocChain {
  readonly idKey: string;
  /** Record id: the chain's place in natural order (creation order), the tie-break of index rows. */
  readonly rid: number;
  versions: DocVersion[];
  /** The open transaction holding an uncommitted write to this document. */
  lockedBy: TxnWriter | undefined;
}

export interface PendingWrite {
  readonly chain: DocChain;
  doc: Document | null;
}

/** What the storage layer needs to know of a transaction (implemented in transactions.ts). */
export interface TxnWriter {
  readonly id: number;
  readonly snapshot: number;
  readonly finished: Promise<void>;
  readonly writes: Map<Collection, Map<string, PendingWrite>>;
  /** Unique keys this transaction holds, per index and document. */
  readonly reserved: Map<IndexEntry, Map<string, IndexKey[]>>;
}

export interface ReadView {
  readonly snapshot: number;
  readonly txn: TxnWriter | undefined;
}

export const LATEST_VIEW: ReadView = { snapshot: Number.POSITIVE_INFINITY, txn: undefined };

/** Thrown by a non-transactional write that must wait for `owner` to commit or abort. */
export class LockWait extends Error {
  constructor(readonly owner: TxnWriter) {
    super('write blocked by an open transaction');
    this.name = 'LockWait';
  }
}

export function writeConflict(): CommandError {
  return new CommandError('WriteConflict', 'Write conflict during plan execution and yielding is disabled. :: Please retry your operation or multi-document transaction.', {
    errorLabels: [TRANSIENT_TRANSACTION_ERROR],
  });
}
