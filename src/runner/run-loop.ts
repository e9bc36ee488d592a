import { performance } from 'node:perf_hooks';
import type { DeltaError } from '../errors.js';
import { BackupFailedError, HookFailedError, InterruptedError, isDeltaError, messageOf } from '../errors.js';
import type { Lease } from '../lock/under-lock.js';
import { auditEvent } from '../tracker/audit-event.js';
import type { HistoryEntry } from '../tracker/records.js';
import type { RunBackup } from './backup-step.js';
import { runBackup } from './backup-step.js';
import { buildServices, callHook, disposeServices } from './hooks.js';
import { changeOutcome, outcomeOf, recordedError } from './outcomes.js';
import { nextAppliedSeq } from './plan.js';
import type { PlannedStep } from './planned-step.js';
import type { RunContext, StepEnvironment } from './step-executor.js';
import { StepExecutor } from './step-executor.js';
import { runSideBySide, stageRuns } from './stage-schedule.js';
import type { IndexedStep } from './transaction-groups.js';
import { commitGroup, groupMemberFailed, groupableRun } from './transaction-groups.js';
import type { ChangeOutcome, DeltaHooks, Direction, RunHookContext, RunOutcome, RunResult, ServicesFactory, StageSpec } from '../vocabulary/index.js';

/** Everything a run's loop needs beyond one step's environment. */
export interface RunLoopEnvironment extends StepEnvironment {
  readonly hooks: DeltaHooks | undefined;
  readonly services: ServicesFactory | undefined;
  readonly backup: RunBackup | undefined;
  /** Let consecutive quick transactional commits share one transaction (see commitGroup). */
  readonly groupTransactions: boolean;
}

/** What the loop knows of its run. */
export interface RunLoopControl {
  readonly runId: string;
  readonly command: Direction;
  readonly lock: Lease;
  /** History as read under the lock. */
  readonly history: readonly HistoryEntry[];
  readonly stages: readonly StageSpec[];
  readonly interrupt: AbortSignal | undefined;
  readonly timeoutMs: number | undefined;
  readonly maxReplicationLagMs?: number | undefined;
  /** Commit only: back up the whole target database once, before the first change. */
  readonly backupDatabase: boolean;
  /** The run's result so far, for `afterAll`. */
  readonly result: (outcome: RunOutcome, outcomes: readonly ChangeOutcome[], error?: DeltaError) => RunResult;
}

/**
 * Runs the planned steps, stage by stage, with the services and hooks around them, stopping at
 * the first failure, Ctrl-C or lost lock. In a parallel stage the siblings already running
 * finish and are recorded, and nothing new starts. Every step that did not run is reported `not-run`.
 */
export async function runSteps(env: RunLoopEnvironment, steps: readonly PlannedStep[], at: RunLoopControl): Promise<{ outcomes: ChangeOutcome[]; error: DeltaError | undefined }> {
  const { tracker, events, hooks, db, client } = env;
  const { runId, command, lock } = at;
  const log = (changeId: string) => (hookError: unknown) => events.emit('change:log', { runId, changeId, message: messageOf(hookError) });
  const outcomes: ChangeOutcome[] = [];
  let error: DeltaError | undefined;
  let services: Readonly<Record<string, unknown>> = {};
  let seq = nextAppliedSeq(at.history);
  const run: RunContext = {
    runId,
    total: steps.length,
    interrupt: at.interrupt,
    timeoutMs: at.timeoutMs,
    maxReplicationLagMs: at.maxReplicationLagMs,
    assertHeld: () => lock.assertHeld(),
    services: () => services,
    nextSeq: () => seq++,
    refused: new Map(),
  };
  const executor = new StepExecutor(env, run);
  // One transaction for several changes only where nothing has to happen between two of them
  // (per-change hooks) and nothing outside MongoDB could see a change run twice (services).
  const grouping =
    command === 'commit' &&
    env.groupTransactions &&
    env.tracker.sharesTargetClient &&
    env.services === undefined &&
    hooks?.beforeEach === undefined &&
    hooks?.afterEach === undefined &&
    hooks?.onError === undefined;

  // Without transactions the next change's `running` marker travels with this change's record
  // (one command fewer per change); a marker whose change never starts is removed.
  const recorded = new Set(at.history.map((r) => r.changeId));
  let markedAhead: string | undefined;
  const unmarkAhead = async () => {
    if (markedAhead !== undefined) await tracker.removeRecords([markedAhead]).catch(() => undefined);
    markedAhead = undefined;
  };
  const backup = (changeId: string | undefined, collections: readonly string[] | 'database') => runBackup(env.backup, { runId, changeId, collections }, { tracker, events });
  let context: RunHookContext | undefined;

  /** One step with its hooks; returns the error that stops the run, if any. */
  const runOne = async (hookContext: RunHookContext, step: PlannedStep, index: number, next: PlannedStep | undefined): Promise<DeltaError | undefined> => {
    const stop = stopReason(lock, at.interrupt);
    if (stop !== undefined) return stop;
    const change = { id: step.change.id, file: step.change.file, description: step.change.description, stage: step.change.stage };
    try {
      await callHook(hooks, 'beforeEach', { ...hookContext, change }, change.id);
      if (step.backup !== undefined) {
        // A backup that fails throws BackupFailedError: the change does not run. Ctrl-C or a lost
        // lease during a long backup stop the run here too.
        await backup(change.id, step.backup);
        const stopped = stopReason(lock, at.interrupt);
        if (stopped !== undefined) return stopped;
      }
      const markNext = command === 'commit' && next !== undefined && !recorded.has(next.change.id) && !step.transactional && !next.transactional ? next.change : undefined;
      const runningRecorded = markedAhead === change.id;
      if (runningRecorded) markedAhead = undefined;
      const done = await executor.run(step, command, { index, runningRecorded, markNext });
      outcomes.push(done.outcome);
      if (done.error === undefined && markNext !== undefined) markedAhead = markNext.id;
      if (done.error !== undefined) await callHook(hooks, 'onError', { ...hookContext, change, error: done.error }, change.id).catch(log(change.id));
      // A failing afterEach stops a run that was going well; after a failure it is only reported.
      await callHook(hooks, 'afterEach', { ...hookContext, change, outcome: done.outcome }, change.id).catch((hookError: unknown) => {
        if (done.error === undefined) throw hookError;
        log(change.id)(hookError);
      });
      return done.error;
    } catch (thrown) {
      // runBackup has audited its own failure as a failed `backup`.
      if (thrown instanceof BackupFailedError) return thrown;
      if (!(thrown instanceof HookFailedError)) throw thrown;
      await auditHookFailure(env, thrown, runId, command, change.id);
      return thrown;
    }
  };

  /** A stage's steps one after the other, consecutive groupable commits sharing a transaction. */
  const runInTurn = async (hookContext: RunHookContext, stageSteps: readonly IndexedStep[]): Promise<DeltaError | undefined> => {
    let position = 0;
    let stopped: DeltaError | undefined;
    while (position < stageSteps.length && stopped === undefined) {
      const groupable = grouping ? groupableRun(stageSteps, position, run) : 0;
      if (groupable >= 2) {
        const grouped = await commitGroup(stageSteps.slice(position, position + groupable), env, run, executor);
        outcomes.push(...grouped.outcomes);
        stopped = grouped.error;
        position += grouped.outcomes.length;
        // Aborted: the changes it had run run again, one per transaction, as if never grouped;
        // then the change that failed in it is recorded failed (it is not run a second time).
        for (let again = 0; again < grouped.again && stopped === undefined; again += 1, position += 1) {
          const g = stageSteps[position] as IndexedStep;
          stopped = await runOne(hookContext, g.step, g.index, undefined);
        }
        if (stopped === undefined && grouped.failed !== undefined) {
          const failed = await groupMemberFailed(grouped.failed, env, run);
          outcomes.push(failed.outcome);
          stopped = failed.error;
          position += 1;
        }
        continue;
      }
      const g = stageSteps[position] as IndexedStep;
      // The next change's marker rides along only inside the same stage.
      stopped = await runOne(hookContext, g.step, g.index, stageSteps[position + 1]?.step);
      position += 1;
    }
    return stopped;
  };

  try {
    try {
      services = await buildServices(env.services, { db, client, targetDb: tracker.targetDb, command });
      const hookContext: RunHookContext = { runId, command, targetDb: tracker.targetDb, db, client, planned: steps.map((s) => s.change.id), services };
      context = hookContext;
      await callHook(hooks, 'beforeAll', hookContext);
      if (command === 'commit' && at.backupDatabase) await backup(undefined, 'database');
      for (const group of stageRuns(steps, at.stages, command)) {
        const stageStarted = performance.now();
        const before = outcomes.length;
        if (group.stage !== undefined) {
          const { name, concurrency } = group.stage;
          events.emit('stage:start', { runId, stage: name, direction: command, parallel: group.parallel, concurrency, planned: group.steps.map((g) => g.step.change.id) });
        }
        error = group.parallel ? await runSideBySide(group.stage?.concurrency ?? 1, group.steps, (g) => runOne(hookContext, g.step, g.index, undefined)) : await runInTurn(hookContext, group.steps);
        if (group.stage !== undefined) {
          const done = outcomes.slice(before).filter((o) => o.status === 'done').length;
          events.emit('stage:end', { runId, stage: group.stage.name, direction: command, outcome: outcomeOf(error), durationMs: Math.round(performance.now() - stageStarted), done });
        }
        if (error !== undefined) break;
      }
    } catch (thrown) {
      if (!(thrown instanceof HookFailedError || thrown instanceof BackupFailedError)) throw thrown;
      error = thrown;
      // runBackup has audited its own failure as a failed `backup`.
      if (thrown instanceof HookFailedError) await auditHookFailure(env, thrown, runId, command, undefined);
    }
    // Outcomes in plan order (a parallel stage finishes in any order), then what did not run.
    const position = new Map(steps.map((s, index) => [s.change.id, index]));
    outcomes.sort((a, b) => (position.get(a.id) ?? 0) - (position.get(b.id) ?? 0));
    const ran = new Set(outcomes.map((o) => o.id));
    for (const skipped of steps.filter((s) => !ran.has(s.change.id))) {
      outcomes.push(changeOutcome(skipped.change, skipped.transactional, 'not-run'));
      events.emit('change:skipped', { runId, changeId: skipped.change.id, stage: skipped.change.stage, direction: command, reason: outcomeOf(error) });
    }
    await unmarkAhead();
    if (context !== undefined) {
      try {
        await callHook(hooks, 'afterAll', { ...context, result: at.result(outcomeOf(error), outcomes, error) });
      } catch (hookError) {
        if (error !== undefined || !(hookError instanceof HookFailedError)) log('')(hookError);
        else {
          error = hookError;
          await auditHookFailure(env, hookError, runId, command, undefined);
        }
      }
    }
  } finally {
    await unmarkAhead();
    await disposeServices(services, [client, db]).catch(() => undefined);
  }
  return { outcomes, error };
}

/** A failed hook goes to the audit log; the change's own record is untouched (it did not run). */
async function auditHookFailure(env: StepEnvironment, failure: HookFailedError, runId: string, command: Direction, changeId: string | undefined): Promise<void> {
  const { tracker } = env;
  await tracker
    .audit(auditEvent({ runId, changeId, targetDb: tracker.targetDb, action: command, outcome: 'failure', error: recordedError(failure), details: { hook: failure.hook } }))
    .catch(() => undefined);
}

/** Why the run must not start another change: Ctrl-C, or the lease lost. */
function stopReason(lock: Lease, interrupt: AbortSignal | undefined): DeltaError | undefined {
  if (interrupt?.aborted === true) return new InterruptedError('interrupted before the next change; nothing else was started');
  try {
    lock.assertHeld();
  } catch (error) {
    if (isDeltaError(error)) return error;
    throw error;
  }
  return undefined;
}
