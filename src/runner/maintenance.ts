import type { ChangeFileError } from '../errors.js';
import { DriftError, UnknownChangeError } from '../errors.js';
import { changeOrder } from '../loader/change-order.js';
import type { HistoryEntry, RecordStatus } from '../tracker/records.js';
import type { JoinedChange } from './plan.js';
import { joinChanges, recoveryAdvice } from './plan.js';
import type { ChangeMetadata, ChangeRef, RecordedError, StageSpec } from '../vocabulary/index.js';

/** One thing `validate` found wrong between files and history. */
export interface ValidationProblem {
  readonly kind: 'file' | 'duplicate-id' | 'modified' | 'missing' | 'failed' | 'running' | 'out_of_order';
  readonly id: string | undefined;
  readonly file: string | undefined;
  readonly message: string;
}

export interface ValidationReport {
  readonly targetDb: string;
  readonly problems: readonly ValidationProblem[];
  /** Changes known from files and history together. */
  readonly changes: number;
}

const HINTS: Record<Exclude<ValidationProblem['kind'], 'file' | 'duplicate-id'>, (s: JoinedChange) => string> = {
  modified: (s) => `${s.id}: file ${s.file ?? ''} was modified since it was applied (restore it, or run delta repair to accept it)`,
  missing: (s) => `${s.id}: recorded ${s.record?.status ?? ''} but its file is gone (restore it, or delta repair --remove-missing)`,
  failed: (s) =>
    `${s.id}: failed${s.error === undefined ? '' : `: ${s.error}`} ` +
    (s.reason === undefined ? '(nothing of it stayed: fix it and run delta commit again)' : `(${s.reason}: ${recoveryAdvice(s.id, s.record)})`),
  running: (s) => `${s.id}: a run died during it without a transaction (${recoveryAdvice(s.id, s.record)})`,
  out_of_order: (s) => `${s.id}: pending but older than the newest applied change (delta commit --out-of-order, or rename it)`,
};

/** Every problem of the files (import errors, duplicate ids) and of their history, in run order. */
export function validationProblems(statuses: readonly JoinedChange[], fileProblems: readonly ChangeFileError[], duplicates: readonly ChangeFileError[]): ValidationProblem[] {
  const problems: ValidationProblem[] = [
    ...fileProblems.map((p): ValidationProblem => ({ kind: 'file', id: undefined, file: p.file, message: p.message })),
    ...duplicates.map((p): ValidationProblem => ({ kind: 'duplicate-id', id: undefined, file: p.file, message: p.message })),
  ];
  for (const status of statuses) {
    const kind = status.state;
    if (kind === 'modified' || kind === 'missing' || kind === 'failed' || kind === 'running' || kind === 'out_of_order') {
      problems.push({ kind, id: status.id, file: status.file, message: HINTS[kind](status) });
    }
  }
  return problems;
}

/** One change of history that `repair` or `baseline` makes, with what was before. */
export type MaintenanceAction =
  | { readonly kind: 'update-checksum'; readonly changeId: string; readonly before: string; readonly after: string }
  | { readonly kind: 'mark-failed'; readonly changeId: string }
  /** A failure without a transaction that nothing undid, checked by an operator: it may run again. */
  | { readonly kind: 'mark-reviewed'; readonly changeId: string; readonly error: RecordedError }
  | { readonly kind: 'remove-interrupted'; readonly changeId: string }
  | { readonly kind: 'remove-missing'; readonly changeId: string; readonly status: RecordStatus }
  | {
      readonly kind: 'baseline';
      readonly changeId: string;
      readonly checksum: string;
      readonly file: string | undefined;
      readonly description: string | undefined;
      readonly stage: string | undefined;
      readonly metadata: ChangeMetadata;
      /** The record's state before, when there was one (only with --force). */
      readonly before: RecordStatus | undefined;
    };

export interface MaintenanceResult {
  readonly command: 'repair' | 'baseline';
  readonly targetDb: string;
  readonly dryRun: boolean;
  readonly actions: readonly MaintenanceAction[];
  /** Problems repair leaves alone without a flag, with the flag that would handle them. */
  readonly left: readonly string[];
}

export interface RepairOptions {
  /** Remove `running` records instead of marking them `failed`. */
  readonly removeInterrupted?: boolean;
  /** Remove the history of changes whose file is gone. */
  readonly removeMissing?: boolean;
}

/** What `repair` will change: re-record checksums, close interrupted records, drop history of missing files. */
export function planRepair(changes: readonly ChangeRef[], history: readonly HistoryEntry[], options: RepairOptions = {}): { actions: MaintenanceAction[]; left: string[] } {
  const actions: MaintenanceAction[] = [];
  const left: string[] = [];
  for (const status of joinChanges(changes, history)) {
    const record = status.record;
    if (record === undefined) continue;
    if (status.state === 'modified' && status.change !== undefined) {
      actions.push({ kind: 'update-checksum', changeId: status.id, before: record.checksum, after: status.change.checksum });
    } else if (status.state === 'running') {
      actions.push(options.removeInterrupted === true ? { kind: 'remove-interrupted', changeId: status.id } : { kind: 'mark-failed', changeId: status.id });
    } else if (status.state === 'failed' && status.reason !== undefined && record.error !== undefined) {
      actions.push({ kind: 'mark-reviewed', changeId: status.id, error: record.error });
    } else if (status.state === 'missing') {
      if (options.removeMissing === true) actions.push({ kind: 'remove-missing', changeId: status.id, status: record.status });
      else left.push(`${status.id}: its file is missing (pass --remove-missing to forget its history)`);
    }
  }
  return { actions, left };
}

export interface BaselineOptions {
  /** Mark every change up to and including this id as applied. */
  readonly to: string;
  /** Also overwrite records in another state (failed, running, rolled back). */
  readonly force?: boolean;
}

/** What `baseline --to` will mark applied, or why it refuses. */
export function planBaseline(changes: readonly ChangeRef[], history: readonly HistoryEntry[], options: BaselineOptions, stages: readonly StageSpec[] = []): MaintenanceAction[] {
  const to = changes.find((change) => change.id === options.to);
  if (to === undefined) throw new UnknownChangeError(`--to ${options.to}: no change file has this id`, options.to);
  const order = changeOrder(stages);
  const byId = new Map(history.map((record) => [record.changeId, record]));
  const targets = changes.filter((change) => order(change, to) <= 0 && byId.get(change.id)?.status !== 'applied');
  // A deferred record only says a run left the change pending: baselining it conflicts with nothing.
  const conflicting = targets.filter((change) => byId.get(change.id) !== undefined && byId.get(change.id)?.status !== 'deferred');
  if (conflicting.length > 0 && options.force !== true) {
    const list = conflicting.map((change) => `${change.id} (${byId.get(change.id)?.status ?? ''})`).join(', ');
    throw new DriftError(
      `baseline refused: ${list} already ${conflicting.length === 1 ? 'has' : 'have'} history in another state; pass --force to mark ${conflicting.length === 1 ? 'it' : 'them'} applied anyway`,
    );
  }
  return targets.map((change) => ({
    kind: 'baseline',
    changeId: change.id,
    checksum: change.checksum,
    file: change.file,
    description: change.description,
    stage: change.stage,
    metadata: change.metadata,
    before: byId.get(change.id)?.status,
  }));
}
