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
    message: messageOf(error),
    ...(typeof code === 'string' || typeof code === 'number' ? { code } : {}),
    ...(error instanceof WriteOutsideTransactionError ? { outsideTransaction: error.writes } : {}),
    ...extra,
  };
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
