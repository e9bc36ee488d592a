// Server-side cursors: the open result streams of find/aggregate/listCollections/listIndexes,
// served in batches by getMore and removed by killCursors, exhaustion, session end or timeout.
import { BSON, Long } from 'bson';
import type { Document } from 'bson';
import { CommandError } from './errors.js';
import type { DocumentStream } from './find-engine.js';
import { yieldToEventLoop } from './time-slice.js';

/** mongod's default first batch is 101 documents; later batches are bounded by 16 MiB. */
export const DEFAULT_BATCH_SIZE = 101;
const MAX_BATCH_BYTES = 16 * 1024 * 1024;
/** mongod's cursorTimeoutMillis default: idle cursors die after ten minutes. */
const CURSOR_TIMEOUT_MS = 10 * 60 * 1000;

export interface ServerCursor {
  readonly id: number;
  readonly namespace: string;
  readonly stream: DocumentStream;
  readonly sessionKey: string | undefined;
  /** Set for cursors opened inside a transaction: they die with it. */
  readonly transactionId: number | undefined;
  lastUse: number;
  /** A document read ahead to learn whether the stream is exhausted. */
  peeked: Document | undefined;
}

export interface Batch {
  readonly documents: Document[];
  readonly exhausted: boolean;
}

export class CursorRegistry {
  readonly #cursors = new Map<number, ServerCursor>();
  // Random start so ids from different sandboxes (and restarts) rarely collide.
  #nextId = 1 + Math.floor(Math.random() * 2 ** 40);

  get size(): number {
    return this.#cursors.size;
  }

  /**
   * Reads up to `batchSize` documents (0 = no count limit) within the 16 MiB reply budget. A
   * stream that pauses for its time slice gets the event loop's turn and is read on.
   */
  static async readBatch(stream: DocumentStream, batchSize: number, peeked?: Document): Promise<Batch & { peeked: Document | undefined }> {
    const pull = async (): Promise<Document | undefined> => {
      for (;;) {
        const next = stream.next();
        if (next !== undefined || stream.paused?.() !== true) return next;
        await yieldToEventLoop();
      }
    };
    const documents: Document[] = [];
    let bytes = 0;
    let next = peeked ?? (await pull());
    while (next !== undefined) {
      if (batchSize > 0 && documents.length >= batchSize) break;
      const size = BSON.calculateObjectSize(next);
      if (documents.length > 0 && bytes + size > MAX_BATCH_BYTES) break;
      documents.push(next);
      bytes += size;
      next = await pull();
    }
    return { documents, exhausted: next === undefined, peeked: next };
  }

  /**
   * Serves the first batch; keeps a cursor only when more documents remain and the caller did
   * not ask for a single batch. Returns the reply's `cursor` sub-document.
   */
  async open(
    namespace: string,
    stream: DocumentStream,
    options: { batchSize: number; singleBatch: boolean; sessionKey: string | undefined; transactionId: number | undefined },
  ): Promise<{ cursorDocument: Document; cursor: ServerCursor | undefined }> {
    // batchSize 0 asks for an open cursor and an empty first batch (nothing is read yet).
    const batch = options.batchSize === 0 ? { documents: [], exhausted: false, peeked: undefined } : await CursorRegistry.readBatch(stream, options.batchSize);
    if (batch.exhausted || options.singleBatch) {
      return { cursorDocument: { firstBatch: batch.documents, id: Long.ZERO, ns: namespace }, cursor: undefined };
    }
    const id = this.#nextId++;
    const cursor: ServerCursor = {
      id,
      namespace,
      stream,
      sessionKey: options.sessionKey,
      transactionId: options.transactionId,
      lastUse: Date.now(),
      peeked: batch.peeked,
    };
    this.#cursors.set(id, cursor);
    return { cursorDocument: { firstBatch: batch.documents, id: Long.fromNumber(id), ns: namespace }, cursor };
  }

  async getMore(id: number, namespace: string, batchSize: number): Promise<Document> {
    const cursor = this.#cursors.get(id);
    if (cursor === undefined) throw new CommandError('CursorNotFound', `cursor id ${id} not found`);
    if (cursor.namespace !== namespace) {
      throw new CommandError('Unauthorized', `Requested getMore on namespace '${namespace}', but cursor belongs to a different namespace ${cursor.namespace}`);
    }
    cursor.lastUse = Date.now();
    const batch = await CursorRegistry.readBatch(cursor.stream, batchSize, cursor.peeked);
    cursor.peeked = batch.peeked;
    if (batch.exhausted) this.#cursors.delete(id);
    return { nextBatch: batch.documents, id: batch.exhausted ? Long.ZERO : Long.fromNumber(id), ns: namespace };
  }

  has(id: number): boolean {
    return this.#cursors.has(id);
  }

  kill(id: number): boolean {
    return this.#cursors.delete(id);
  }

  killMany(ids: Iterable<number>): void {
    for (const id of ids) this.#cursors.delete(id);
  }

  killSession(sessionKey: string): void {
    for (const [id, cursor] of this.#cursors) if (cursor.sessionKey === sessionKey) this.#cursors.delete(id);
  }

  killNamespace(namespace: string): void {
    for (const [id, cursor] of this.#cursors) if (cursor.namespace === namespace) this.#cursors.delete(id);
  }

  reapIdle(): void {
    const cutoff = Date.now() - CURSOR_TIMEOUT_MS;
    for (const [id, cursor] of this.#cursors) if (cursor.lastUse < cutoff) this.#cursors.delete(id);
  }

  clear(): void {
    this.#cursors.clear();
  }
}
