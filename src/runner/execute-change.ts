import type { ClientSession, Db, MongoClient } from 'mongodb';
import { ChangeFailedError, InterruptedError, WriteOutsideTransactionError, messageOf } from '../errors.js';
import { undeclaredBatches } from './batches.js';
import { bindToSession } from './session-binding.js';
import type { EscapedWrite } from './write-guard.js';
import type { BatchWalk, ChangeContext, ChangeFunction } from '../vocabulary/index.js';

export interface ExecuteOptions {
  readonly fn: ChangeFunction;
  readonly changeId: string;
  readonly runId: string;
  readonly db: Db;
  readonly client: MongoClient;
  readonly session: ClientSession | undefined;
  readonly services: Readonly<Record<string, unknown>>;
  readonly timeoutMs: number | undefined;
  /** The run's interrupt signal (Ctrl-C). */
  readonly interrupt: AbortSignal | undefined;
  readonly log: (message: string) => void;
  /** `ctx.batches` for a change that declares `batches: true`, bound to the change's signal. */
  readonly batches?: (signal: AbortSignal) => BatchWalk;
  /** Starts watching for writes outside the change's transaction; the returned function ends the watch. */
  readonly watchWrites?: () => () => readonly EscapedWrite[];
}

/**
 * Calls a change function with its context, racing it against its timeout
 * and (in a transaction, which can be aborted cleanly) against Ctrl-C. The
 * change's `signal` fires in both cases so well-behaved code stops early.
 * In a transaction, `ctx.db` and `ctx.client` are bound to its session, and
 * a write that reached the target outside it fails the change.
 */
export async function executeChange(options: ExecuteOptions): Promise<void> {
  const endWatch = options.watchWrites?.();
  let escaped: readonly EscapedWrite[] = [];
  try {
    await callChange(options);
  } catch (error) {
    escaped = endWatch?.() ?? [];
    if (escaped.length > 0) throw writesOutside(options.changeId, escaped, error);
    throw error;
  }
  escaped = endWatch?.() ?? [];
  if (escaped.length > 0) throw writesOutside(options.changeId, escaped, undefined);
}

function writesOutside(changeId: string, escaped: readonly EscapedWrite[], thrown: unknown): WriteOutsideTransactionError {
  const writes = [...new Set(escaped.map((write) => `${write.command} ${write.namespace}`))];
  const listed = writes.length > 5 ? `${writes.slice(0, 5).join(', ')} and ${writes.length - 5} more` : writes.join(', ');
  const why = thrown === undefined ? '' : `${messageOf(thrown)}; and it `;
  // The reason alone, as every error a change throws: the runner says which change failed.
  return new WriteOutsideTransactionError(
    `${why}wrote outside its transaction (${listed}): the transaction was aborted but ${writes.length === 1 ? 'that write' : 'those writes'} stayed. ` +
      'Send every operation through ctx.db or ctx.client (or pass { session }); check the database, then run delta repair',
    changeId,
    writes,
    { cause: thrown },
  );
}

async function callChange(options: ExecuteOptions): Promise<void> {
  const controller = new AbortController();
  const cleanups: (() => void)[] = [];
  let floating: ChangeFailedError | undefined;
  const stop = new Promise<never>((_resolve, reject) => {
    if (options.timeoutMs !== undefined) {
      const timer = setTimeout(() => {
        const error = new ChangeFailedError(`timed out after ${options.timeoutMs} ms`, options.changeId);
        controller.abort(error);
        reject(error);
      }, options.timeoutMs);
      cleanups.push(() => clearTimeout(timer));
    }
    const interrupt = options.interrupt;
    if (interrupt !== undefined) {
      const onInterrupt = () => {
        const error = new InterruptedError('interrupted (Ctrl-C)');
        controller.abort(error);
        // Only a transaction can be abandoned midway; without one the change finishes.
        if (options.session !== undefined) reject(error);
      };
      if (interrupt.aborted) onInterrupt();
      else {
        interrupt.addEventListener('abort', onInterrupt, { once: true });
        cleanups.push(() => interrupt.removeEventListener('abort', onInterrupt));
      }
    }
    // A promise the change created and nobody awaited rejected: Node would kill the process with
    // its raw message, record nothing and leave the lock until its lease ends. It fails the
    // change instead: a transaction is abandoned at once (nothing of it stays); without one the
    // change is told through its signal and finishes (its writes cannot be taken back midway,
    // and compensation must not race them), then fails. Which change created the promise cannot
    // be known: every change running at that moment (a stage runs several) fails.
    const onUnhandled = (reason: unknown) => {
      const error = new ChangeFailedError(`a promise it did not await rejected: ${messageOf(reason)}`, options.changeId, { cause: reason });
      controller.abort(error);
      if (options.session !== undefined) reject(error);
      else floating ??= error;
    };
    process.on('unhandledRejection', onUnhandled);
    cleanups.push(() => process.off('unhandledRejection', onUnhandled));
  });
  stop.catch(() => undefined);
  // A forgotten `{ session }` must not leak a write out of the transaction: everything through
  // ctx.db and ctx.client joins it.
  const bound = options.session === undefined ? { db: options.db, client: options.client } : bindToSession(options.db, options.client, options.session);
  const context: ChangeContext = {
    db: bound.db,
    client: bound.client,
    session: options.session,
    log: options.log,
    signal: controller.signal,
    services: options.services,
    batches: options.batches?.(controller.signal) ?? undeclaredBatches(options.changeId),
    runId: options.runId,
  };
  try {
    await Promise.race([Promise.resolve().then(() => options.fn(context)), stop]);
  } catch (error) {
    throw floating ?? error;
  } finally {
    for (const cleanup of cleanups) cleanup();
  }
  if (floating !== undefined) throw floating;
}
