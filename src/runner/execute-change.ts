import type { ClientSession, Db, MongoClient } from 'mongodb';
import { ChangeFailedError, InterruptedError, messageOf } from '../errors.js';
import type { BatchWalk, ChangeContext, ChangeFunction } from '../loader/change-types.js';
import { undeclaredBatches } from './batches.js';
import type { RecordedError } from '../tracker/records.js';

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
}

/**
 * Calls a change function with its context, racing it against its timeout
 * and (in a transaction, which can be aborted cleanly) against Ctrl-C. The
 * change's `signal` fires in both cases so well-behaved code stops early.
 */
export async function executeChange(options: ExecuteOptions): Promise<void> {
  const controller = new AbortController();
  const cleanups: (() => void)[] = [];
  const stop = new Promise<never>((_resolve, reject) => {
    if (options.timeoutMs !== undefined) {
      const timer = setTimeout(() => {
        const error = new ChangeFailedError(`${options.changeId} timed out after ${options.timeoutMs} ms`, options.changeId);
        controller.abort(error);
        reject(error);
      }, options.timeoutMs);
      cleanups.push(() => clearTimeout(timer));
    }
    const interrupt = options.interrupt;
    if (interrupt !== undefined) {
      const onInterrupt = () => {
        const error = new InterruptedError(`${options.changeId} was interrupted`);
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
  });
  stop.catch(() => undefined);
  const context: ChangeContext = {
    db: options.db,
    client: options.client,
    session: options.session,
    log: options.log,
    signal: controller.signal,
    services: options.services,
    batches: options.batches?.(controller.signal) ?? undeclaredBatches(options.changeId),
    runId: options.runId,
  };
  try {
    await Promise.race([Promise.resolve().then(() => options.fn(context)), stop]);
  } finally {
    for (const cleanup of cleanups) cleanup();
  }
}

/** The error as it is stored in a record: message and driver/delta code. */
export function recordedError(error: unknown): RecordedError {
  const code = (error as { code?: unknown }).code;
  const message = messageOf(error);
  return typeof code === 'string' || typeof code === 'number' ? { message, code } : { message };
}

export function hasErrorLabel(error: unknown, label: string): boolean {
  // client.bulkWrite (the tracker's record+audit write on MongoDB 8) wraps the server's error,
  // labels included, as the `cause` of a MongoClientBulkWriteError: look through causes.
  for (let current = error, depth = 0; typeof current === 'object' && current !== null && depth < 4; current = (current as { cause?: unknown }).cause, depth += 1) {
    const candidate = current as { hasErrorLabel?: (label: string) => boolean; errorLabels?: unknown };
    if (typeof candidate.hasErrorLabel === 'function' ? candidate.hasErrorLabel(label) : Array.isArray(candidate.errorLabels) && candidate.errorLabels.includes(label)) return true;
  }
  return false;
}

const WRITE_CONFLICT = 112;
/** mongod's default transactionLifetimeLimitSeconds: the longest an abandoned transaction holds its documents. */
const WRITE_CONFLICT_RETRY_MS = 60_000;

/**
 * How long to wait before trying a transaction again after `error` on attempt `attempt` (first
 * failure at `since`), or undefined to give up. Transient errors get 3 attempts; a write conflict
 * is retried with back-off for up to a minute, because the usual one is a killed runner's
 * transaction, which keeps its documents (the change's history record among them) until the
 * server aborts it, and a lease can expire before that.
 */
export function transientRetryDelay(error: unknown, attempt: number, since: number): number | undefined {
  if (!hasErrorLabel(error, 'TransientTransactionError')) return undefined;
  if (attempt < 3) return 0;
  if (!hasErrorCode(error, WRITE_CONFLICT) || Date.now() - since >= WRITE_CONFLICT_RETRY_MS) return undefined;
  return Math.min(50 * 2 ** (attempt - 3), 1000);
}

function hasErrorCode(error: unknown, code: number): boolean {
  for (let current = error, depth = 0; typeof current === 'object' && current !== null && depth < 4; current = (current as { cause?: unknown }).cause, depth += 1) {
    if ((current as { code?: unknown }).code === code) return true;
  }
  return false;
}
