import type { DeltaError } from '../errors.js';
import { InterruptedError, LockLostError, WriteOutsideTransactionError, messageOf } from '../errors.js';
import type { ChangeOutcome, ChangeUnit, RecordedError, RunOutcome } from '../vocabulary/index.js';

/**
 * The error as records and audit events keep it: its message (the reason alone: the record's
 * status and the event's action say what failed), the driver's or delta's code, and what a
 * write outside the transaction left behind. Built once per failure, for the record and the
 * event alike.
 */
export function recordedError(error: unknown, extra: Partial<RecordedError> = {}): RecordedError {
  // A write outside the transaction keeps the code of what the change threw, if it threw.
  const coded = error instanceof WriteOutsideTransactionError ? error.cause : error;
  const code = (coded as { code?: unknown } | undefined)?.code;
  return {
    ...(typeof code === 'string' || typeof code === 'number' ? { code } : {}),
    ...(error instanceof WriteOutsideTransactionError ? { outsideTransaction: error.writes } : {}),
    ...extra,
    message: storedMessage(extra.message ?? messageOf(error)),
  };
}

/** Characters of an error message a record or audit event keeps. */
export const STORED_MESSAGE_LIMIT = 64 * 1024;

/**
 * A message short enough to store: its start and its end (where delta appends what happened
 * next, "its rollback ran to compensate") around a note of how much was left out. A change may
 * throw any text, and a record or audit event over MongoDB's 16 MB document limit fails to be
 * written (BSONObjectTooLarge, code 10334): the failure would then go unrecorded. The cuts fall
 * on whitespace, so a connection string is never halved past the redaction that runs on the
 * stored text.
 */
export function storedMessage(message: string): string {
  if (message.length <= STORED_MESSAGE_LIMIT) return message;
  const keep = STORED_MESSAGE_LIMIT - 100;
  const head = cutAtSpace(message.slice(0, keep - 4096), 'end');
  const tail = cutAtSpace(message.slice(message.length - 4096), 'start');
  return `${head} […${message.length - head.length - tail.length} characters left out…] ${tail}`;
}

/** `text` without a partial word at its `end` (or `start`), unless it holds no whitespace near there. */
function cutAtSpace(text: string, side: 'start' | 'end'): string {
  const window = 1024;
  if (side === 'end') {
    const at = text.slice(-window).search(/\s\S*$/);
    return at < 0 ? text : text.slice(0, text.length - Math.min(window, text.length) + at);
  }
  const at = text.slice(0, window).search(/\s/);
  return at < 0 ? text : text.slice(at + 1);
}

/** A change's line in a run's result. */
export function changeOutcome(
  change: ChangeUnit,
  transactional: boolean,
  status: ChangeOutcome['status'],
  details: { readonly durationMs?: number; readonly error?: RecordedError; readonly compensated?: boolean } = {},
): ChangeOutcome {
  return {
    id: change.id,
    file: change.file,
    stage: change.stage,
    runner: change.runner,
    status,
    transactional,
    durationMs: details.durationMs,
    error: details.error,
    compensated: details.compensated,
  };
}

/** How a run that had work ended, from the error that stopped it. */
export function outcomeOf(error: DeltaError | undefined): RunOutcome {
  if (error === undefined) return 'success';
  if (error instanceof InterruptedError) return 'interrupted';
  if (error instanceof LockLostError) return 'lock-lost';
  return 'failed';
}
