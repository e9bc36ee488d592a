import { setTimeout as sleep } from 'node:timers/promises';
import type { ClientSession, MongoClient } from 'mongodb';
import { hasErrorLabel, transientRetryDelay } from './driver-errors.js';

/**
 * Runs `work` in a transaction and commits it, retrying transient errors: a few times at once
 * (elections), and write conflicts with back-off for up to a minute (a killed run's open
 * transaction holds its documents until the server aborts it). A change's transaction and each
 * batch of `ctx.batches` go through here. Stops retrying once `interrupt` fires.
 */
export async function inTransaction<T>(client: MongoClient, interrupt: AbortSignal | undefined, work: (session: ClientSession) => Promise<T>): Promise<T> {
  const session = client.startSession();
  const since = Date.now();
  try {
    for (let attempt = 1; ; attempt += 1) {
      startTransaction(session);
      try {
        const value = await work(session);
        await commitWithRetry(session);
        return value;
      } catch (error) {
        if (session.inTransaction()) await session.abortTransaction().catch(() => undefined);
        const wait = interrupt?.aborted === true ? undefined : transientRetryDelay(error, attempt, since);
        if (wait === undefined) throw error;
        if (wait > 0) await sleep(wait);
      }
    }
  } finally {
    await session.endSession().catch(() => undefined);
  }
}

/** Commits, committing again when MongoDB cannot tell whether the commit happened. */
export async function commitWithRetry(session: ClientSession): Promise<void> {
  for (let attempt = 1; ; attempt += 1) {
    try {
      await session.commitTransaction();
      return;
    } catch (error) {
      // MongoDB: the commit may have happened; committing again is safe and tells.
      if (attempt < 3 && hasErrorLabel(error, 'UnknownTransactionCommitResult')) continue;
      throw error;
    }
  }
}

/**
 * Read concern 'local': MongoDB creates collections and indexes explicitly in a transaction only
 * under it (and reads still come from the transaction's snapshot on a replica set).
 */
export function startTransaction(session: ClientSession): void {
  session.startTransaction({ readConcern: { level: 'local' }, writeConcern: { w: 'majority' } });
}
