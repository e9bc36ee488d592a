import { performance } from 'node:perf_hooks';
import type { DeltaError } from '../errors.js';
import { ChangeFailedError, InterruptedError, messageOf } from '../errors.js';
import { hasErrorLabel, refusedInTransaction } from './driver-errors.js';
import { changeOutcome, recordedError } from './outcomes.js';
import type { PlannedStep } from './planned-step.js';
import type { RunContext, StepEnvironment, StepExecutor, StepResult } from './step-executor.js';
import type { Finished, StepWrites } from './step-writes.js';
import { stepWrites } from './step-writes.js';
import { commitWithRetry, startTransaction } from './transactions.js';
import type { ChangeFunction, ChangeOutcome } from '../vocabulary/index.js';

/** At most this many changes share one transaction (`groupTransactions`). */
export const GROUP_MAX_CHANGES = 100;
/** No change joins a group whose transaction has been open this long (milliseconds). */
export const GROUP_MAX_MS = 100;

/** A step and its place in the run. */
export interface IndexedStep {
  readonly step: PlannedStep;
  readonly index: number;
}

/** A change whose commit threw inside a group: recorded once the changes before it are applied again. */
export interface GroupMemberFailure {
  readonly step: PlannedStep;
  readonly writes: StepWrites;
  readonly thrown: unknown;
  readonly finished: Finished;
  /** Its `change:start` and log lines, held back while it ran in the group. */
  readonly held: readonly (() => void)[];
}

export interface GroupResult {
  readonly outcomes: readonly ChangeOutcome[];
  readonly error: DeltaError | undefined;
  /** How many of the candidates the caller must run again, one transaction each (the group was aborted). */
  readonly again: number;
  /** The change that failed in the group, to record after those `again` (it does not run a second time). */
  readonly failed?: GroupMemberFailure;
}

/** A change that ran in the group, with what it will report once the group commits. */
interface Member {
  readonly step: PlannedStep;
  readonly writes: StepWrites;
  readonly finished: Finished;
  /** Its start and log lines while they wait for the commit (emptied when they go out). */
  readonly held: (() => void)[];
}

/**
 * How many steps from `position` on may share one transaction: consecutive groupable commits
 * (see PlannedStep.groupable) that have not been refused a transaction in this run.
 */
export function groupableRun(steps: readonly IndexedStep[], position: number, run: RunContext): number {
  let count = 0;
  for (const { step } of steps.slice(position, position + GROUP_MAX_CHANGES)) {
    if (!step.groupable || run.refused.has(step.change.id)) break;
    count += 1;
  }
  return count;
}

/**
 * Commits consecutive changes in one transaction with their records and audit events: one
 * `commitTransaction` for the group instead of one per change. Changes join while the group is
 * younger than GROUP_MAX_MS, so a group holds its documents about as long as one slow change
 * would. Each change keeps its own record, duration and events; all of the group commit or
 * none. A member's events and log lines are held back until the group commits (and dropped if it
 * aborts), so each line is printed once and in order (see `live` for a slow group). When anything fails, the group is aborted
 * and `again` says how many of its changes the caller must run again one by one, so a failure is
 * found, recorded and reported exactly as without grouping (the changes before it therefore run
 * twice, as on a transient error: changes with effects outside MongoDB are never grouped).
 */
export async function commitGroup(candidates: readonly IndexedStep[], env: StepEnvironment, run: RunContext, executor: StepExecutor): Promise<GroupResult> {
  const { client, tracker, events } = env;
  const ran: Member[] = [];
  const started = performance.now();
  const session = client.startSession();
  // A member's start and log lines wait for the group's commit, so that an aborted group prints
  // nothing twice. Once the group is older than GROUP_MAX_MS no other change will join it: what
  // is held is let out, in order, and the running change's lines go out as they come (a long
  // change shows its progress); its success line still waits for the commit.
  let live = false;
  let current: (() => void)[] | undefined;
  const goLive = () => {
    if (live) return;
    live = true;
    for (const member of ran) member.held.splice(0).forEach((emit) => emit());
    current?.splice(0).forEach((emit) => emit());
  };
  const timer = setTimeout(goLive, GROUP_MAX_MS);
  timer.unref();
  try {
    startTransaction(session);
    for (const { step, index } of candidates) {
      if (ran.length > 0 && (performance.now() - started >= GROUP_MAX_MS || run.interrupt?.aborted === true || !held(run))) break;
      const { change } = step;
      const heldBack: (() => void)[] = [];
      current = heldBack;
      const hold = (emit: () => void) => (live ? emit() : heldBack.push(emit));
      hold(() => events.emit('change:start', { runId: run.runId, changeId: change.id, stage: change.stage, direction: 'commit', transactional: true, index, total: run.total }));
      const writes = stepWrites({ change, direction: 'commit', before: step.record, runId: run.runId, targetDb: tracker.targetDb, transactional: true });
      const log = (message: string) => hold(() => events.emit('change:log', { runId: run.runId, changeId: change.id, message }));
      try {
        await executor.execute(change, 'commit', change.commit as ChangeFunction, session, log);
      } catch (thrown) {
        await session.abortTransaction().catch(() => undefined);
        const failed: GroupMemberFailure = { step, writes, thrown, finished: { at: new Date(), durationMs: writes.elapsed() }, held: heldBack };
        if (thrown instanceof InterruptedError) {
          // Ctrl-C: nothing of the group is applied; the change that was running is recorded interrupted.
          const shared = ran.map((r) => r.step.change.id);
          const interrupted = new InterruptedError(
            `${change.id} was interrupted and its transaction aborted${shared.length === 0 ? '' : `, with ${shared.join(', ')}, which shared it: none of them is applied`}`,
            { cause: thrown },
          );
          const recorded = await groupMemberFailed(failed, env, run, interrupted);
          return { outcomes: [recorded.outcome], error: recorded.error, again: 0 };
        }
        // A transient error may be the group's doing (a conflict, its size): that change runs again too.
        if (hasErrorLabel(thrown, 'TransientTransactionError')) return { outcomes: [], error: undefined, again: ran.length + 1 };
        // Refused inside a transaction: in `auto` mode it runs again alone, without one.
        const refused = refusedInTransaction(thrown);
        if (refused !== undefined && step.mode === 'auto') {
          run.refused.set(change.id, refused);
          return { outcomes: [], error: undefined, again: ran.length + 1 };
        }
        return { outcomes: [], error: undefined, again: ran.length, failed };
      }
      ran.push({ step, writes, finished: { at: new Date(), durationMs: writes.elapsed() }, held: heldBack });
    }
    await tracker.recordAll(
      ran.map(({ writes, finished }) => {
        const success = executor.successRecord(writes, 'commit', finished.durationMs);
        return { change: writes.record(success.status, { ...success.extra, at: finished.at }), audit: writes.audit('success', undefined, finished) };
      }),
      session,
    );
    // Lost the lease while the group ran: abort instead of committing (the retry one by one stops at once).
    run.assertHeld();
    try {
      await commitWithRetry(session);
    } catch (thrown) {
      // Without TransientTransactionError the commit may have happened: running the changes again
      // could apply them twice. Their records committed with them or not at all, so status tells.
      if (hasErrorLabel(thrown, 'TransientTransactionError')) throw thrown;
      const first = ran[0]?.step.change.id ?? '';
      const ids = ran.map((r) => r.step.change.id);
      const message = `${first} failed: MongoDB could not confirm the commit of the transaction shared by ${ids.join(', ')} (${messageOf(thrown)}); run delta status to see whether they are applied`;
      return { outcomes: [], error: new ChangeFailedError(message, first, { cause: thrown }), again: 0 };
    }
  } catch {
    if (session.inTransaction()) await session.abortTransaction().catch(() => undefined);
    return { outcomes: [], error: undefined, again: ran.length };
  } finally {
    clearTimeout(timer);
    await session.endSession().catch(() => undefined);
  }
  const outcomes: ChangeOutcome[] = [];
  for (const { step, finished, held: heldBack } of ran) {
    for (const emit of heldBack) emit();
    events.emit('change:success', { runId: run.runId, changeId: step.change.id, direction: 'commit', transactional: true, durationMs: finished.durationMs });
    outcomes.push(changeOutcome(step.change, true, 'done', { durationMs: finished.durationMs }));
  }
  return { outcomes, error: undefined, again: 0 };
}

/**
 * Records a change that failed in a group, as its own transaction's failure is recorded (the
 * aborted group left nothing of it), dated when it is recorded: after the changes before it.
 * Its held-back start and log lines are reported first.
 */
export async function groupMemberFailed(failed: GroupMemberFailure, env: StepEnvironment, run: RunContext, interrupted?: InterruptedError): Promise<StepResult> {
  const { tracker, events } = env;
  const { step, writes, thrown, finished } = failed;
  const { change } = step;
  for (const emit of failed.held) emit();
  const reason = interrupted === undefined ? messageOf(thrown) : 'interrupted (Ctrl-C); its transaction was aborted';
  const error = interrupted ?? new ChangeFailedError(`${change.id} failed: ${reason}`, change.id, { cause: thrown });
  const stored = recordedError(thrown, { message: reason });
  await tracker
    .record(writes.record('failed', { durationMs: finished.durationMs, error: stored }), writes.audit('failure', stored, { at: new Date(), durationMs: finished.durationMs }))
    .catch(() => undefined);
  events.emit('change:failure', { runId: run.runId, changeId: change.id, direction: 'commit', transactional: true, durationMs: finished.durationMs, error: stored, compensated: undefined });
  return { outcome: changeOutcome(change, true, 'failed', { durationMs: finished.durationMs, error: stored }), error };
}

function held(run: RunContext): boolean {
  try {
    run.assertHeld();
    return true;
  } catch {
    return false;
  }
}
