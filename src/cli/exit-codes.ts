import type { DeltaErrorCode } from '../errors.js';

/** Exit codes of DESIGN.md section 7; the only place codes become numbers. */
export const ExitCode = {
  success: 0,
  failure: 1,
  badInput: 2,
  lockHeld: 3,
  validation: 4,
  interrupted: 130,
} as const;

export type ExitCodeValue = (typeof ExitCode)[keyof typeof ExitCode];

const BY_ERROR_CODE: Record<DeltaErrorCode, ExitCodeValue> = {
  USAGE: ExitCode.badInput,
  CONFIG_INVALID: ExitCode.badInput,
  CHANGE_FILE_INVALID: ExitCode.badInput,
  UNKNOWN_CHANGE: ExitCode.badInput,
  TRANSACTION_UNSUPPORTED: ExitCode.badInput,
  ROLLBACK_UNAVAILABLE: ExitCode.badInput,
  CHANGE_FAILED: ExitCode.failure,
  HOOK_FAILED: ExitCode.failure,
  DATABASE_ERROR: ExitCode.failure,
  LOCK_HELD: ExitCode.lockHeld,
  LOCK_LOST: ExitCode.lockHeld,
  CHECKSUM_DRIFT: ExitCode.validation,
  VALIDATION_FAILED: ExitCode.validation,
  INTERRUPTED: ExitCode.interrupted,
  BACKUP_FAILED: ExitCode.failure,
  BACKUP_INVALID: ExitCode.badInput,
  RESTORE_REFUSED: ExitCode.badInput,
  FLEET_FAILED: ExitCode.failure,
};

export function exitCodeFor(code: DeltaErrorCode): ExitCodeValue {
  return BY_ERROR_CODE[code];
}
