/**
 * The error hierarchy of delta. Every error a user can cause or meet is a
 * `DeltaError` with a stable string `code`; only the CLI maps codes to exit
 * numbers (src/cli/exit-codes.ts). The original error is kept as `cause`.
 */
import type { LockHolder } from './vocabulary/lock-holder.js';

export const DeltaErrorCodes = {
  usage: 'USAGE',
  configInvalid: 'CONFIG_INVALID',
  changeFileInvalid: 'CHANGE_FILE_INVALID',
  unknownChange: 'UNKNOWN_CHANGE',
  transactionUnsupported: 'TRANSACTION_UNSUPPORTED',
  rollbackUnavailable: 'ROLLBACK_UNAVAILABLE',
  changeFailed: 'CHANGE_FAILED',
  hookFailed: 'HOOK_FAILED',
  database: 'DATABASE_ERROR',
  lockHeld: 'LOCK_HELD',
  lockLost: 'LOCK_LOST',
  drift: 'CHECKSUM_DRIFT',
  validationFailed: 'VALIDATION_FAILED',
  interrupted: 'INTERRUPTED',
  backupFailed: 'BACKUP_FAILED',
  backupInvalid: 'BACKUP_INVALID',
  restoreRefused: 'RESTORE_REFUSED',
  fleetFailed: 'FLEET_FAILED',
} as const;

export type DeltaErrorCode = (typeof DeltaErrorCodes)[keyof typeof DeltaErrorCodes];

export interface DeltaErrorOptions {
  readonly cause?: unknown;
}

export abstract class DeltaError extends Error {
  abstract readonly code: DeltaErrorCode;

  constructor(message: string, options: DeltaErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
  }

  override get name(): string {
    return this.constructor.name;
  }
}

/** Wrong command line: unknown flag, missing argument, contradictory options. */
export class UsageError extends DeltaError {
  readonly code = DeltaErrorCodes.usage;
}

/** A configuration source (file, environment, flag) holds a wrong key or value. */
export class ConfigError extends DeltaError {
  readonly code = DeltaErrorCodes.configInvalid;
}

/** A change file cannot be used: import failed, no commit, duplicate id... */
export class ChangeFileError extends DeltaError {
  readonly code = DeltaErrorCodes.changeFileInvalid;
  constructor(
    message: string,
    readonly file: string | undefined,
    options: DeltaErrorOptions = {},
  ) {
    super(message, options);
  }
}

/** An id given on the command line (`--to`, `--id`, `--only`) names no change. */
export class UnknownChangeError extends DeltaError {
  readonly code = DeltaErrorCodes.unknownChange;
  constructor(
    message: string,
    readonly changeId: string,
  ) {
    super(message);
  }
}

/** A change demands a transaction the deployment cannot give (standalone server). */
export class TransactionUnsupportedError extends DeltaError {
  readonly code = DeltaErrorCodes.transactionUnsupported;
}

/** A rollback was asked for a change that has no rollback function or no file. */
export class RollbackUnavailableError extends DeltaError {
  readonly code = DeltaErrorCodes.rollbackUnavailable;
}

/** A configured hook threw: the run stopped where the hook stood. */
export class HookFailedError extends DeltaError {
  readonly code = DeltaErrorCodes.hookFailed;
  constructor(
    message: string,
    readonly hook: string,
    options?: DeltaErrorOptions,
  ) {
    super(message, options);
  }
}

/** A change's commit or rollback threw; the failure is recorded in the tracker. */
export class ChangeFailedError extends DeltaError {
  readonly code = DeltaErrorCodes.changeFailed;
  constructor(
    message: string,
    readonly changeId: string,
    options: DeltaErrorOptions = {},
  ) {
    super(message, options);
  }
}

/**
 * A transactional change wrote to the target outside its transaction (a client other than
 * `ctx.db`/`ctx.client`): its transaction was aborted, but those writes stayed.
 */
export class WriteOutsideTransactionError extends ChangeFailedError {
  constructor(
    message: string,
    changeId: string,
    /** `insert shop.log`: each escaped write's command and namespace. */
    readonly writes: readonly string[],
    options: DeltaErrorOptions = {},
  ) {
    super(message, changeId, options);
  }
}

/** The database could not be reached or answered an error outside any change. */
export class DatabaseError extends DeltaError {
  readonly code = DeltaErrorCodes.database;
}

/** Another runner holds the lock and did not release it within the wait. */
export class LockHeldError extends DeltaError {
  readonly code = DeltaErrorCodes.lockHeld;
  constructor(
    message: string,
    readonly holder: LockHolder | undefined,
  ) {
    super(message);
  }
}

/** The heartbeat found our lease gone; the run stopped before the next change. */
export class LockLostError extends DeltaError {
  readonly code = DeltaErrorCodes.lockLost;
}

/** Applied changes whose files changed or vanished: the history cannot be trusted. */
export class DriftError extends DeltaError {
  readonly code = DeltaErrorCodes.drift;
}

/** `validate` or `status --check` found problems. */
export class ValidationError extends DeltaError {
  readonly code = DeltaErrorCodes.validationFailed;
}

/** Ctrl-C: the current change was finished or aborted and recorded. */
export class InterruptedError extends DeltaError {
  readonly code = DeltaErrorCodes.interrupted;
}

/** A backup could not be taken (unwritable folder, database error): the change it guarded did not run. */
export class BackupFailedError extends DeltaError {
  readonly code = DeltaErrorCodes.backupFailed;
}

/** A backup named on the command line is missing, unreadable or corrupted; `file` names the file at fault. */
export class BackupInvalidError extends DeltaError {
  readonly code = DeltaErrorCodes.backupInvalid;
  constructor(
    message: string,
    readonly file: string | undefined,
    options: DeltaErrorOptions = {},
  ) {
    super(message, options);
  }
}

/** A restore would overwrite collections that hold documents (without `--drop`): nothing was written. */
export class RestoreRefusedError extends DeltaError {
  readonly code = DeltaErrorCodes.restoreRefused;
  constructor(
    message: string,
    readonly collections: readonly string[],
  ) {
    super(message);
  }
}

export function isDeltaError(value: unknown): value is DeltaError {
  return value instanceof DeltaError;
}

/** The message of anything thrown, for records and one-line reports. */
export function messageOf(error: unknown): string {
  if (error instanceof Error) return error.message;
  return String(error);
}

/** A fleet run (`--targets`) ended with one or more targets failed; the others ran. */
export class FleetFailedError extends DeltaError {
  readonly code = DeltaErrorCodes.fleetFailed;
  constructor(
    message: string,
    /** The targets that failed, in the fleet's order (over several deployments: `<db> on <deployment>`). */
    readonly targets: readonly string[],
    options: DeltaErrorOptions = {},
  ) {
    super(message, options);
  }
}
