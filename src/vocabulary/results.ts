// How runs and changes end, as the runner reports them, hooks see them and records keep them.
import type { DeltaError } from '../errors.js';

export type Direction = 'commit' | 'rollback';
export type RunOutcome = 'success' | 'nothing-to-do' | 'failed' | 'interrupted' | 'lock-lost';

/** A failure as a record and its audit event keep it. */
export interface RecordedError {
  readonly message: string;
  readonly code?: string | number;
  /** A failed non-transactional commit: whether its own rollback ran to undo it. */
  readonly compensated?: boolean;
  /** An operator checked the change's effect and ran `delta repair`: it may run again. */
  readonly reviewed?: boolean;
  /** The failure was the change's rollback (a rollback run): it may be half reverted. Absent for commits. */
  readonly during?: 'rollback';
  /** Writes (`insert shop.log`) a transactional change made outside its transaction: they stayed. */
  readonly outsideTransaction?: readonly string[];
}

export interface ChangeOutcome {
  readonly id: string;
  readonly file: string | undefined;
  readonly stage: string | undefined;
  /** The runner of the change (`driver`, `template`, `shell`...); undefined for changes given in memory. */
  readonly runner: string | undefined;
  /** `done`: applied (commit) or reverted (rollback); `not-run`: planned but the run stopped first. */
  readonly status: 'done' | 'failed' | 'not-run';
  readonly transactional: boolean;
  readonly durationMs: number | undefined;
  readonly error: RecordedError | undefined;
  readonly compensated: boolean | undefined;
}

/** The result of `commit` or `rollback`. Expected failures come back here, not as throws. */
export interface RunResult {
  readonly runId: string;
  readonly command: Direction;
  readonly targetDb: string;
  readonly outcome: RunOutcome;
  readonly dryRun: boolean;
  readonly changes: readonly ChangeOutcome[];
  readonly durationMs: number;
  /** Set when the outcome is `failed`, `interrupted` or `lock-lost`; its code gives the exit code. */
  readonly error: DeltaError | undefined;
}
