import type { Ordered } from '../loader/change-order.js';
import { changeOrder, compareIds } from '../loader/change-order.js';
import { DriftError, RollbackUnavailableError, UnknownChangeError, UsageError } from '../errors.js';
import type { HistoryEntry } from '../tracker/records.js';
import { exclusionReason, isConditional } from '../loader/change-metadata.js';
import type { ChangeFilter, ChangeRef, ChangeUnit, RepeatMode, StageSpec } from '../vocabulary/index.js';

/**
 * States `status` shows (DESIGN.md section 3), as stable machine names; a
 * repeatable change is `up_to_date` or `changed` once applied, and a change
 * the run's `--env`/`--tags` leave out is `skipped`.
 */
export const CHANGE_STATES = ['applied', 'pending', 'failed', 'rolled_back', 'running', 'modified', 'missing', 'out_of_order', 'up_to_date', 'changed', 'skipped'] as const;
export type ChangeState = (typeof CHANGE_STATES)[number];

/** A change as files and history know it together: its file (if any), its record (if any) and the state that follows. */
export interface JoinedChange {
  readonly id: string;
  readonly state: ChangeState;
  readonly file: string | undefined;
  readonly description: string | undefined;
  readonly stage: string | undefined;
  /** The runner of the change (from its file, else its record). */
  readonly runner: string | undefined;
  readonly appliedAt: Date | undefined;
  readonly rolledBackAt: Date | undefined;
  readonly durationMs: number | undefined;
  readonly transactional: boolean | undefined;
  readonly error: string | undefined;
  /** Why a `skipped` change is left out; why a failed or running one blocks `commit`; why a deferred one is pending. */
  readonly reason: string | undefined;
  readonly change: ChangeRef | undefined;
  readonly record: HistoryEntry | undefined;
}

/** How a change repeats: from its file, else from its record. */
function repeatOf(change: ChangeRef | undefined, record: HistoryEntry | undefined): RepeatMode {
  return change?.metadata.repeat ?? record?.repeat ?? 'once';
}

/**
 * Why a change left half-done blocks `commit` (recovery `manual`), or
 * undefined: interrupted (`running`), or failed without a transaction with
 * no successful compensating rollback, and not reviewed by `delta repair`.
 * A transactional failure never blocks: it left nothing behind.
 */
export function blockReason(change: ChangeRef | undefined, record: HistoryEntry | undefined): string | undefined {
  if (record === undefined) return undefined;
  const recovery = change?.metadata.recovery ?? record.recovery;
  if (recovery === 'retry') return undefined;
  // A batched change keeps its progress in checkpoints: resuming it is its recovery (declared in
  // the file, and stored in the record so that it holds before the file is imported), unless it
  // asks for a person to look with an explicit recovery: 'manual'.
  if (recovery === undefined && (change?.metadata.batches ?? record.batches === true)) return undefined;
  if (record.status === 'running') return 'interrupted: a run died during it without a transaction';
  if (record.status !== 'failed' || record.error?.reviewed === true) return undefined;
  // Writes that escaped the transaction stayed although it was aborted.
  if (record.error?.outsideTransaction !== undefined) return 'wrote outside its transaction, and those writes stayed';
  if (record.transactional || record.error?.compensated === true) return undefined;
  if (record.error?.during === 'rollback') return 'its rollback failed without a transaction and may be half done';
  return record.error?.compensated === false ? 'failed without a transaction and its compensating rollback failed too' : 'failed without a transaction and nothing undid its effect';
}

/**
 * What to do about a change that blocks (see blockReason), in the same words wherever it is
 * reported (commit, rollback, validate, status).
 */
export function recoveryAdvice(id: string, record: HistoryEntry | undefined): string {
  if (record?.error?.during === 'rollback') {
    return `fix its rollback and run delta rollback --id ${id} to run it again, or check the database by hand and run delta repair to mark it checked (commit then applies it again)`;
  }
  return "check the database by hand, then run delta repair to let it run again; or, if the change is idempotent, give it recovery: 'retry'";
}

/**
 * Where changes and records sort, and which stage a record belongs to: the
 * stage of its change's file when the file exists (a project that moved to
 * stages keeps its history), else the stage recorded with it.
 */
class RunOrder {
  readonly compare: (a: Ordered, b: Ordered) => number;
  readonly #stageById: Map<string, string | undefined>;

  constructor(changes: readonly ChangeRef[], stages: readonly StageSpec[]) {
    this.compare = changeOrder(stages);
    this.#stageById = new Map(changes.map((change) => [change.id, change.stage]));
  }

  stageOf(record: Pick<HistoryEntry, 'changeId' | 'stage'>): string | undefined {
    return this.#stageById.has(record.changeId) ? this.#stageById.get(record.changeId) : record.stage;
  }

  ordered(record: Pick<HistoryEntry, 'changeId' | 'stage'>): Ordered {
    return { id: record.changeId, stage: this.stageOf(record) };
  }

  /** The newest applied versioned change of each stage (ids order inside a stage). */
  newestApplied(history: readonly HistoryEntry[], changes: ReadonlyMap<string, ChangeRef>): Map<string | undefined, string> {
    const newest = new Map<string | undefined, string>();
    for (const record of history) {
      if (record.status !== 'applied' || repeatOf(changes.get(record.changeId), record) !== 'once') continue;
      const stage = this.stageOf(record);
      const current = newest.get(stage);
      if (current === undefined || compareIds(record.changeId, current) > 0) newest.set(stage, record.changeId);
    }
    return newest;
  }
}

/**
 * Joins files and history into one state per change, in run order (stages in
 * their order, ids inside each). A pending change is out of order when it is
 * older than the newest applied change of its own stage.
 */
export function joinChanges(changes: readonly ChangeRef[], history: readonly HistoryEntry[], stages: readonly StageSpec[] = [], filter: ChangeFilter = {}): JoinedChange[] {
  const order = new RunOrder(changes, stages);
  const byId = new Map(history.map((record) => [record.changeId, record]));
  const changesById = new Map(changes.map((change) => [change.id, change]));
  const newestApplied = order.newestApplied(history, changesById);
  const statuses: JoinedChange[] = [];
  const seen = new Set<string>();
  for (const change of changes) {
    seen.add(change.id);
    const record = byId.get(change.id);
    const excluded = exclusionReason(change.metadata, filter);
    const state = stateOf(change, record, newestApplied.get(change.stage), excluded !== undefined);
    const reason = state === 'skipped' ? excluded : record?.status === 'deferred' ? `left pending by an earlier commit: ${record.reason ?? 'not selected'}` : blockReason(change, record);
    statuses.push(status(change.id, state, change, record, reason));
  }
  for (const record of history) {
    if (seen.has(record.changeId) || record.status === 'rolled_back' || record.status === 'deferred') continue;
    statuses.push(status(record.changeId, 'missing', undefined, record, undefined));
  }
  return statuses.sort(order.compare);
}

function stateOf(change: ChangeRef, record: HistoryEntry | undefined, newestApplied: string | undefined, excluded: boolean): ChangeState {
  const repeat = change.metadata.repeat;
  if (record === undefined) {
    if (excluded) return 'skipped';
    // Repeatable and conditional changes are never out of order: they are meant to come and go.
    if (repeat !== 'once' || isConditional(change.metadata)) return 'pending';
    return newestApplied !== undefined && compareIds(change.id, newestApplied) < 0 ? 'out_of_order' : 'pending';
  }
  switch (record.status) {
    case 'deferred':
      // Known before newer changes were applied, and left out on purpose: pending, never out of order.
      return excluded ? 'skipped' : 'pending';
    case 'applied':
      if (repeat !== 'once') return record.checksum === change.checksum ? 'up_to_date' : excluded ? 'skipped' : 'changed';
      return record.checksum === change.checksum ? 'applied' : 'modified';
    case 'failed':
      return 'failed';
    case 'running':
      return 'running';
    case 'rolled_back':
      return excluded ? 'skipped' : 'rolled_back';
  }
}

function status(id: string, state: ChangeState, change: ChangeRef | undefined, record: HistoryEntry | undefined, reason: string | undefined): JoinedChange {
  return {
    id,
    state,
    file: change?.file ?? record?.file,
    description: change?.description ?? record?.description,
    stage: change === undefined ? record?.stage : change.stage,
    runner: change?.runner ?? record?.runner,
    appliedAt: record?.status === 'applied' || record?.status === 'rolled_back' ? record.appliedAt : undefined,
    rolledBackAt: record?.status === 'rolled_back' ? record.rolledBackAt : undefined,
    durationMs: record?.durationMs,
    transactional: record?.transactional,
    error: record?.error?.message,
    reason,
    change,
    record,
  };
}

/** Checks a `--stage` name against the project's stages; exit 2 naming it otherwise. */
export function assertKnownStage(stage: string | undefined, stages: readonly StageSpec[]): void {
  if (stage === undefined) return;
  if (stages.length === 0) throw new UsageError(`--stage ${stage}: this project has no stages (subfolders of the change folder, or stages in the configuration)`);
  if (!stages.some((s) => s.name === stage)) throw new UsageError(`--stage ${stage}: no such stage (stages: ${stages.map((s) => s.name).join(', ')})`);
}

export interface CommitPlanOptions {
  /** Apply up to and including this id. */
  readonly to?: string;
  /** Apply only this id. */
  readonly only?: string;
  /** Proceed although applied changes are modified or missing. */
  readonly allowDrift?: boolean;
  /** Apply pending changes older than the newest applied one. */
  readonly outOfOrder?: boolean;
  /** Apply only the pending changes of this stage. */
  readonly stage?: string;
  /** The run's environment: changes with `environments` run only when it is one of them. */
  readonly env?: string;
  /** Run only changes carrying one of these tags. */
  readonly tags?: readonly string[];
}

export interface CommitPlan {
  readonly pending: readonly ChangeRef[];
  readonly statuses: readonly JoinedChange[];
  /** Drift that `allowDrift` let through, for the audit log. */
  readonly allowedDrift: readonly string[];
  /**
   * Pending changes without a record that this run leaves out on purpose (a filter, `--only`)
   * while the run applies (or history holds) a newer one: recorded `deferred` with the reason, so
   * that they stay pending rather than becoming "out of order".
   */
  readonly deferred: readonly { readonly change: ChangeRef; readonly reason: string }[];
}

/** Checks that ids given on the command line name changes; exit 2 otherwise. */
export function assertKnownIds(changes: readonly ChangeRef[], history: readonly HistoryEntry[], ids: Readonly<Record<string, string | undefined>>): void {
  const known = new Set([...changes.map((c) => c.id), ...history.map((r) => r.changeId)]);
  for (const [flag, id] of Object.entries(ids)) {
    if (id !== undefined && !known.has(id)) throw new UnknownChangeError(`${flag} ${id}: no change has this id`, id);
  }
}

/** What `commit` will apply, or why it refuses. */
export function planCommit(changes: readonly ChangeRef[], history: readonly HistoryEntry[], options: CommitPlanOptions = {}, stages: readonly StageSpec[] = []): CommitPlan {
  const order = new RunOrder(changes, stages);
  const statuses = joinChanges(changes, history, stages, options);
  if (options.to !== undefined && options.only !== undefined) throw new UsageError('--to and --only cannot be used together');
  assertKnownStage(options.stage, stages);
  for (const [flag, id] of [
    ['--to', options.to],
    ['--only', options.only],
  ] as const) {
    if (id !== undefined && !changes.some((change) => change.id === id)) throw new UnknownChangeError(`${flag} ${id}: no change file has this id`, id);
  }

  const blocked = statuses.filter((s) => (s.state === 'running' || s.state === 'failed') && s.reason !== undefined);
  if (blocked.length > 0) {
    const first = blocked[0] as JoinedChange;
    throw new DriftError(
      `${blocked.map((s) => `${s.id} (${s.reason ?? ''})`).join(', ')}: ${blocked.length === 1 ? 'it may be' : 'they may be'} half-applied, so commit stops here. ` +
        sentence(recoveryAdvice(first.id, first.record)),
    );
  }
  const drift = statuses.filter((s) => s.state === 'modified' || (s.state === 'missing' && s.record?.status !== 'rolled_back'));
  if (drift.length > 0 && options.allowDrift !== true) {
    const parts = drift.map((s) => `${s.id} (${s.state === 'modified' ? 'file modified since it was applied' : 'file missing'})`);
    throw new DriftError(`history does not match the change files: ${parts.join(', ')}. Restore the files, or run delta repair to accept them, or pass --allow-drift`);
  }

  const newestApplied = order.newestApplied(history, new Map(changes.map((change) => [change.id, change])));
  const toStage = options.to === undefined ? undefined : order.stageOf({ changeId: options.to, stage: undefined });
  const newestBeforeTo = newestApplied.get(toStage);
  if (options.to !== undefined && newestBeforeTo !== undefined && compareIds(options.to, newestBeforeTo) < 0) {
    throw new UsageError(`--to ${options.to} is older than the newest applied change ${newestBeforeTo}; to go back, use delta rollback --to ${options.to}`);
  }
  const inScope = (s: JoinedChange) => options.stage === undefined || s.stage === options.stage;
  const outOfOrder = statuses.filter((s) => s.state === 'out_of_order' && inScope(s));
  const runs = (s: JoinedChange): boolean => {
    switch (s.state) {
      case 'pending':
      case 'failed':
      case 'running': // only with recovery: 'retry' or batches: true (the others blocked above)
      case 'rolled_back':
      case 'changed':
        return true;
      case 'up_to_date':
        return s.change?.metadata.repeat === 'always';
      case 'out_of_order':
        return options.outOfOrder === true || s.id === options.only;
      default:
        return false;
    }
  };
  const only = statuses.find((s) => s.id === options.only);
  if (only?.state === 'skipped') throw new UsageError(`--only ${only.id}: left out of this run: ${only.reason ?? ''}`);
  // Versioned changes first, then the repeatable ones (Flyway's order); a partial run (--to) takes no repeatables.
  const candidates = [
    ...statuses.filter((s) => inScope(s) && runs(s) && s.change?.metadata.repeat === 'once'),
    ...statuses.filter((s) => inScope(s) && runs(s) && s.change?.metadata.repeat !== 'once' && options.to === undefined),
  ];
  if (outOfOrder.length > 0 && options.outOfOrder !== true && options.only === undefined) {
    const first = outOfOrder[0] as JoinedChange;
    throw new DriftError(
      `${describeList(outOfOrder)} ${outOfOrder.length === 1 ? 'is' : 'are'} pending but older than the newest applied change ${newestApplied.get(first.stage) ?? ''}` +
        `${first.stage === undefined ? '' : ` of stage ${first.stage}`}; apply with --out-of-order, or rename the file(s) to sort after it`,
    );
  }
  let pending = candidates.map((s) => s.change).filter((c): c is ChangeRef => c !== undefined);
  if (options.only !== undefined) pending = pending.filter((c) => c.id === options.only);
  if (options.to !== undefined) {
    const to: Ordered = { id: options.to, stage: toStage };
    pending = pending.filter((c) => order.compare(c, to) <= 0);
  }
  return { pending, statuses, allowedDrift: drift.map((s) => s.id), deferred: deferredBy(statuses, pending, newestApplied, options) };
}

/** The changes a commit of `pending` leaves behind older ones of their stage, and why (see CommitPlan). */
function deferredBy(statuses: readonly JoinedChange[], pending: readonly ChangeRef[], newestApplied: ReadonlyMap<string | undefined, string>, options: CommitPlanOptions): CommitPlan['deferred'] {
  const newest = new Map(newestApplied);
  for (const change of pending) {
    const current = newest.get(change.stage);
    if (change.metadata.repeat === 'once' && (current === undefined || compareIds(change.id, current) > 0)) newest.set(change.stage, change.id);
  }
  const planned = new Set(pending.map((change) => change.id));
  const deferred: { change: ChangeRef; reason: string }[] = [];
  for (const s of statuses) {
    const change = s.change;
    // A change already out of order (added after a newer one was applied) stays so: only a change
    // this run sees as plainly pending, or leaves out by a filter, is deferred.
    if (change === undefined || (s.state !== 'pending' && s.state !== 'skipped') || s.record !== undefined || planned.has(change.id)) continue;
    if (change.metadata.repeat !== 'once' || isConditional(change.metadata)) continue;
    if (options.stage !== undefined && change.stage !== options.stage) continue;
    const newer = newest.get(change.stage);
    if (newer === undefined || compareIds(change.id, newer) >= 0) continue;
    const reason = s.state === 'skipped' ? (s.reason ?? 'left out by a filter') : options.only !== undefined ? `not selected by --only ${options.only}` : undefined;
    if (reason !== undefined) deferred.push({ change, reason: s.state === 'skipped' ? `left out (${reason})` : reason });
  }
  return deferred;
}

export interface RollbackPlanOptions {
  /** Revert everything applied after this id (which stays applied). */
  readonly to?: string;
  readonly steps?: number;
  readonly id?: string;
  readonly since?: Date;
  readonly all?: boolean;
  readonly allowDrift?: boolean;
  /** Revert only changes of this stage (the selectors above apply inside it). */
  readonly stage?: string;
}

export interface RollbackTarget<C extends ChangeRef = ChangeRef> {
  readonly change: C;
  readonly record: HistoryEntry;
}

/**
 * What `rollback` will revert, newest application first; refuses before anything is
 * reverted. Once the targets' code is loaded, `assertRevertible` checks that
 * each has a rollback function.
 */
export function planRollback(changes: readonly ChangeRef[], history: readonly HistoryEntry[], options: RollbackPlanOptions = {}, stages: readonly StageSpec[] = []): RollbackTarget[] {
  const order = new RunOrder(changes, stages);
  assertKnownStage(options.stage, stages);
  const selectors = (['to', 'steps', 'id', 'since', 'all'] as const).filter((key) => options[key] !== undefined && options[key] !== false);
  if (selectors.length > 1) throw new UsageError(`--${selectors.join(' and --')} cannot be used together`);
  assertKnownIds(changes, history, { '--to': options.to, '--id': options.id });
  if (options.steps !== undefined && (!Number.isInteger(options.steps) || options.steps < 1)) throw new UsageError('--steps must be a positive integer');

  const changesById = new Map(changes.map((change) => [change.id, change]));
  // A change whose rollback failed without a transaction may be half reverted: nothing is
  // reverted past it until its rollback runs again (--id) or repair marks it checked.
  const halfReverted = history.find((r) => r.status === 'failed' && r.error?.during === 'rollback' && r.error.reviewed !== true);
  if (halfReverted !== undefined && options.id !== halfReverted.changeId) {
    throw new DriftError(
      `${halfReverted.changeId}: its rollback failed without a transaction (${halfReverted.error?.message ?? 'no message'}) and may be half done, so rollback stops here. ` +
        sentence(recoveryAdvice(halfReverted.changeId, halfReverted)),
    );
  }
  // Newest application first (the order changes were applied in, which is id order unless
  // something ran out of order). Repeatable changes are not part of the version history: only --id reverts one.
  const byApplication = applicationOrder(order);
  const applied = history
    .filter((r) => (r.status === 'applied' || r === halfReverted) && (options.stage === undefined || order.stageOf(r) === options.stage))
    .filter((r) => options.id === r.changeId || repeatOf(changesById.get(r.changeId), r) === 'once')
    .sort((a, b) => byApplication(b, a));
  let selected: HistoryEntry[];
  if (options.all === true) selected = applied;
  else if (options.to !== undefined) {
    const to = history.find((r) => r.changeId === options.to);
    // Undo to a version: everything applied after it; a version that is not applied falls back to id order.
    selected =
      to?.status === 'applied'
        ? applied.filter((r) => byApplication(r, to) > 0)
        : applied.filter((r) => order.compare(order.ordered(r), order.ordered({ changeId: options.to as string, stage: to?.stage })) > 0);
  } else if (options.id !== undefined) {
    const record = applied.find((r) => r.changeId === options.id);
    if (record === undefined) throw new UnknownChangeError(`--id ${options.id}: this change is not applied`, options.id);
    selected = [record];
  } else if (options.since !== undefined) {
    const since = options.since.getTime();
    selected = applied.filter((r) => r.appliedAt !== undefined && r.appliedAt.getTime() >= since);
  } else selected = applied.slice(0, options.steps ?? 1);

  const byId = new Map(changes.map((change) => [change.id, change]));
  const targets: RollbackTarget[] = [];
  const problems: string[] = [];
  for (const record of selected) {
    const change = byId.get(record.changeId);
    if (change === undefined) problems.push(`${record.changeId} has no file any more`);
    // A half-reverted change's file is expected to change: its rollback was being fixed.
    else if (change.checksum !== record.checksum && options.allowDrift !== true && record !== halfReverted)
      problems.push(`${record.changeId} was modified since it was applied (pass --allow-drift to revert with the new file)`);
    else targets.push({ change, record });
  }
  if (problems.length > 0) throw new RollbackUnavailableError(`cannot roll back, nothing was reverted: ${problems.join('; ')}`);
  return targets;
}

/** Refuses a rollback that includes a change without a rollback function, before anything is reverted. */
export function assertRevertible(targets: readonly RollbackTarget<ChangeUnit>[]): void {
  const problems = targets.filter((t) => t.change.rollback === undefined).map((t) => `${t.change.id} (${t.change.file ?? 'in memory'}) has no rollback function`);
  if (problems.length > 0) throw new RollbackUnavailableError(`cannot roll back, nothing was reverted: ${problems.join('; ')}`);
}

/**
 * The order changes were applied in: by `appliedSeq`, then (records written before it was kept)
 * by `appliedAt`, then in run order (changes applied within one millisecond by one run).
 */
function applicationOrder(order: RunOrder): (a: HistoryEntry, b: HistoryEntry) => number {
  return (a, b) => (a.appliedSeq ?? 0) - (b.appliedSeq ?? 0) || (a.appliedAt?.getTime() ?? 0) - (b.appliedAt?.getTime() ?? 0) || order.compare(order.ordered(a), order.ordered(b));
}

function sentence(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}

/** The number the next application gets (see HistoryRecord.appliedSeq). */
export function nextAppliedSeq(history: readonly HistoryEntry[]): number {
  let highest = 0;
  for (const record of history) if (record.appliedSeq !== undefined && record.appliedSeq > highest) highest = record.appliedSeq;
  return highest + 1;
}

function describeList(statuses: readonly JoinedChange[]): string {
  return statuses.map((s) => s.id).join(', ');
}
