import type { ClientSession, Db, MongoClient } from 'mongodb';
import { ChangeFailedError, InterruptedError, messageOf } from '../errors.js';
import type { ChangeContext, ChangeFunction } from '../loader/change-types.js';
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
  const candidate = error as { hasErrorLabel?: (label: string) => boolean; errorLabels?: unknown };
  if (typeof candidate.hasErrorLabel === 'function') return candidate.hasErrorLabel(label);
  return Array.isArray(candidate.errorLabels) && candidate.errorLabels.includes(label);
}
