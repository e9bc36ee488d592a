import type { Deployment } from '../connection/connect.js';
import { TransactionUnsupportedError } from '../errors.js';
import type { HistoryEntry } from '../tracker/records.js';
import { backupRequestOf } from './backup-step.js';
import type { ChangeUnit, Direction, TransactionMode } from '../vocabulary/index.js';

/**
 * One change of a run's plan, with the facts about how it runs decided once, when it is
 * planned: the rest of the run reads them instead of asking again.
 */
export interface PlannedStep {
  readonly change: ChangeUnit;
  /** Its record before the run (a rollback keeps the checksum it was applied with). */
  readonly record: HistoryEntry | undefined;
  /** The transaction mode that applies: the change's own, else its stage's, else the run's. */
  readonly mode: TransactionMode;
  /**
   * Whether it runs in a transaction. `auto` may still run it without one, when the server
   * refuses an operation inside a transaction (see StepExecutor).
   */
  readonly transactional: boolean;
  /** The backup a commit takes before it (the change's `backup`), if any. */
  readonly backup: readonly string[] | 'database' | undefined;
  /**
   * Whether it may share a transaction with the commits around it: a transactional commit with
   * nothing that must happen between it and its neighbours (a backup, a batched walk with its own
   * transactions) and nothing a second attempt would repeat outside MongoDB (`sideEffects`).
   */
  readonly groupable: boolean;
}

export interface StepRules {
  readonly direction: Direction;
  /** The run's mode (a stage's or a change's own wins). */
  readonly transaction: TransactionMode;
  readonly deployment: Deployment;
  /** The target database, for messages. */
  readonly targetDb: string;
}

/** Decides how a change runs; throws TransactionUnsupportedError when it demands a transaction the deployment lacks. */
export function planStep(change: ChangeUnit, record: HistoryEntry | undefined, rules: StepRules): PlannedStep {
  const mode = change.transaction ?? rules.transaction;
  const transactional = runsInTransaction(change, mode, rules);
  const backup = rules.direction === 'commit' ? backupRequestOf(change) : undefined;
  const groupable = rules.direction === 'commit' && transactional && backup === undefined && !change.metadata.batches && !change.metadata.sideEffects;
  return { change, record, mode, transactional, backup, groupable };
}

function runsInTransaction(change: ChangeUnit, mode: TransactionMode, rules: StepRules): boolean {
  // A batched change runs a short transaction per batch, never one around the whole walk.
  if (change.metadata.batches || mode === 'never') return false;
  if (rules.deployment.transactions) return true;
  if (mode === 'always') {
    throw new TransactionUnsupportedError(
      `${change.id} requires a transaction (transaction: 'always'), but ${rules.targetDb} is on a standalone server; transactions need a replica set or sharded cluster`,
    );
  }
  return false;
}
