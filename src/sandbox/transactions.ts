// Logical sessions, multi-document transactions and retryable-write bookkeeping, with the state
// machine mongod applies to `lsid` + `txnNumber` + `autocommit` + `startTransaction`.
import type { Document } from 'bson';
import type { Collection } from './collection.js';
import type { PendingWrite, TxnWriter } from './doc-versions.js';
import { CommandError, TRANSIENT_TRANSACTION_ERROR } from './errors.js';
import type { IndexEntry, IndexKey } from './index-catalog.js';
import type { Storage } from './storage.js';

export type TransactionState = 'inProgress' | 'committed' | 'aborted';

let nextTransactionId = 1;

export class Transaction implements TxnWriter {
  readonly id = nextTransactionId++;
  readonly txnNumber: number;
  readonly session: Session;
  readonly snapshot: number;
  readonly writes = new Map<Collection, Map<string, PendingWrite>>();
  readonly reserved = new Map<IndexEntry, Map<string, IndexKey[]>>();
  readonly finished: Promise<void>;
  /** Collections this transaction created; they go away again if it aborts while still empty. */
  readonly createdCollections: Collection[] = [];
  readonly cursorIds = new Set<number>();
  state: TransactionState = 'inProgress';
  /** The read concern level its first command asked for ('local' when none). */
  readConcernLevel = 'local';
  abortReason: string | undefined;
  timer: NodeJS.Timeout | undefined;
  #resolve: () => void = () => undefined;

  constructor(session: Session, txnNumber: number, snapshot: number) {
    this.session = session;
    this.txnNumber = txnNumber;
    this.snapshot = snapshot;
    this.finished = new Promise((resolve) => {
      this.#resolve = resolve;
    });
  }

  markFinished(): void {
    this.#resolve();
  }

  get hasWrites(): boolean {
    for (const writes of this.writes.values()) if (writes.size > 0) return true;
    return false;
  }
}

export class Session {
  readonly key: string;
  readonly lsid: Document;
  /** Highest txnNumber seen on this session (-1 before the first). */
  txnNumber = -1;
  /** The transaction numbered `txnNumber`, whatever its state, if that number began one. */
  txn: Transaction | undefined;
  /** Replies of the retryable write numbered `txnNumber`, replayed when the driver retries it. */
  retryReply: Promise<Document> | undefined;
  lastUse = Date.now();

  constructor(key: string, lsid: Document) {
    this.key = key;
    this.lsid = lsid;
  }
}

export interface TransactionManagerOptions {
  readonly storage: Storage;
  readonly lifetimeLimitMs: number;
  readonly killCursors: (ids: Iterable<number>) => void;
  readonly killSessionCursors: (sessionKey: string) => void;
  readonly log: (line: string) => void;
}

/** Canonical key of an lsid: the hex of its UUID `id`. */
export function sessionKeyOf(lsid: unknown): string | undefined {
  if (lsid === null || typeof lsid !== 'object') return undefined;
  const id = (lsid as Document).id as { toString(encoding: 'hex'): string; _bsontype?: string } | undefined;
  if (id === undefined || typeof id.toString !== 'function') return undefined;
  return id._bsontype === 'Binary' ? id.toString('hex') : String(id);
}

function noSuchTransaction(message: string): CommandError {
  return new CommandError('NoSuchTransaction', message, { errorLabels: [TRANSIENT_TRANSACTION_ERROR] });
}

export class TransactionManager {
  readonly sessions = new Map<string, Session>();
  readonly #options: TransactionManagerOptions;

  constructor(options: TransactionManagerOptions) {
    this.#options = options;
  }

  session(lsid: Document): Session {
    const key = sessionKeyOf(lsid);
    if (key === undefined) throw new CommandError('Location40414', "BSON field 'OperationSessionInfo.lsid.id' is missing but a required field");
    let session = this.sessions.get(key);
    if (session === undefined) {
      session = new Session(key, lsid);
      this.sessions.set(key, session);
    }
    session.lastUse = Date.now();
    return session;
  }

  get openTransactionCount(): number {
    let n = 0;
    for (const session of this.sessions.values()) if (session.txn?.state === 'inProgress') n++;
    return n;
  }

  /** Starts transaction `txnNumber` (startTransaction: true), aborting an older open one. */
  begin(session: Session, txnNumber: number): Transaction {
    if (txnNumber < session.txnNumber) {
      throw new CommandError('TransactionTooOld', `Cannot start transaction ${txnNumber} on session ${session.key} because a newer transaction ${session.txnNumber} has already started.`);
    }
    if (txnNumber === session.txnNumber && (session.txn !== undefined || session.retryReply !== undefined)) {
      const state = session.txn?.state ?? 'retryable write';
      throw new CommandError('ConflictingOperationInProgress', `Cannot start a transaction at given transaction number ${txnNumber} a transaction with the same number is in state ${state}`);
    }
    if (session.txn?.state === 'inProgress') this.abort(session.txn, 'a newer transaction was started on its session');
    session.txnNumber = txnNumber;
    session.retryReply = undefined;
    const txn = new Transaction(session, txnNumber, this.#options.storage.currentSeq);
    session.txn = txn;
    this.#options.storage.openTransactions.add(txn);
    txn.timer = setTimeout(() => {
      if (txn.state !== 'inProgress') return;
      this.#options.log(`Aborting transaction with txnNumber ${txnNumber} on session ${session.key} because it has been running for longer than 'transactionLifetimeLimitSeconds'`);
      this.abort(txn, 'transactionLifetimeLimitSeconds expired');
    }, this.#options.lifetimeLimitMs);
    txn.timer.unref();
    return txn;
  }

  /** The transaction a continuing statement (autocommit: false, no startTransaction) belongs to. */
  continueTransaction(session: Session, txnNumber: number, commandName: string): Transaction {
    if (txnNumber < session.txnNumber) {
      throw new CommandError('TransactionTooOld', `txnNumber ${txnNumber} is less than last txnNumber ${session.txnNumber} seen in session ${session.key}`);
    }
    const txn = session.txn;
    if (txn === undefined || txnNumber !== session.txnNumber) {
      throw noSuchTransaction(`Given transaction number ${txnNumber} does not match any in-progress transactions. The active transaction number is ${session.txnNumber}`);
    }
    if (txn.state === 'aborted') throw noSuchTransaction(`Transaction with { txnNumber: ${txnNumber} } has been aborted.`);
    if (txn.state === 'committed' && commandName !== 'commitTransaction') {
      throw new CommandError('TransactionCommitted', `Transaction with { txnNumber: ${txnNumber} } has been committed.`);
    }
    return txn;
  }

  /** Applies every pending write of `txn` atomically at one new commit sequence number. */
  commit(txn: Transaction): void {
    if (txn.state !== 'inProgress') return;
    const storage = this.#options.storage;
    const seq = storage.nextSeq();
    for (const collection of txn.writes.keys()) collection.commitPending(txn, seq);
    this.#finish(txn, 'committed');
  }

  abort(txn: Transaction, reason: string): void {
    if (txn.state !== 'inProgress') return;
    for (const collection of txn.writes.keys()) collection.abortPending(txn);
    txn.abortReason = reason;
    this.#finish(txn, 'aborted');
    for (const collection of txn.createdCollections) {
      if (collection.chains.size === 0 && this.#options.storage.getCollection(collection.database, collection.name) === collection) {
        this.#options.storage.detach(collection);
      }
    }
  }

  #finish(txn: Transaction, state: TransactionState): void {
    const storage = this.#options.storage;
    txn.state = state;
    if (txn.timer !== undefined) clearTimeout(txn.timer);
    storage.openTransactions.delete(txn);
    for (const collection of txn.writes.keys()) collection.settleAfter(txn);
    storage.sweep();
    this.#options.killCursors(txn.cursorIds);
    txn.cursorIds.clear();
    txn.markFinished();
  }

  /** endSessions / killSessions: abort the session's transaction and forget it. */
  endSession(key: string): void {
    const session = this.sessions.get(key);
    if (session === undefined) return;
    if (session.txn?.state === 'inProgress') this.abort(session.txn, 'session ended');
    this.#options.killSessionCursors(key);
    this.sessions.delete(key);
  }

  endAll(): void {
    for (const key of [...this.sessions.keys()]) this.endSession(key);
  }

  /** Sessions idle for longer than logicalSessionTimeoutMinutes are reaped, as mongod does. */
  reapIdle(idleMs: number): void {
    const cutoff = Date.now() - idleMs;
    for (const session of [...this.sessions.values()]) if (session.lastUse < cutoff) this.endSession(session.key);
  }
}
