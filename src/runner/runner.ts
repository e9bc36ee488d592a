import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import type { ClientSession, Db, MongoClient } from 'mongodb';
import type { TransactionMode } from '../config/schema.js';
import type { Deployment } from '../connection/connect.js';
import type { DeltaError } from '../errors.js';
import { BackupFailedError, ChangeFailedError, HookFailedError, InterruptedError, LockLostError, TransactionUnsupportedError, isDeltaError, messageOf } from '../errors.js';
import type { ChangeCatalog, ChangeFunction, ChangeSource, ChangeUnit, StageSpec } from '../loader/change-types.js';
import { executedBy } from '../tracker/executed-by.js';
import type { AuditEvent, HistoryEntry, RecordStatus } from '../tracker/records.js';
import type { Tracker } from '../tracker/tracker.js';
import { toolVersion } from '../version.js';
import { storedMetadata } from '../loader/change-metadata.js';
import type { RunBackup } from './backup-step.js';
import { backupRequestOf, runBackup } from './backup-step.js';
import { batchWalker } from './batches.js';
import type { DeltaEventEmitter, Direction, RollbackReason, RunOutcome } from './events.js';
import { executeChange, hasErrorLabel, recordedError } from './execute-change.js';
import { commitWithRetry, inTransaction, startTransaction } from './transactions.js';
import type { Finished, StepWrites } from './step-writes.js';
import { runningMarker, stepWrites } from './step-writes.js';
import type { DeltaHooks, RunHookContext, ServicesFactory } from './hooks.js';
import { buildServices, callHook, disposeServices } from './hooks.js';
import type { CommitPlanOptions, RollbackPlanOptions } from './plan.js';
import type { BaselineOptions, MaintenanceAction, MaintenanceResult, RepairOptions } from './maintenance.js';
import { planBaseline, planRepair } from './maintenance.js';
import { assertRevertible, planCommit, planRollback } from './plan.js';
import type { ChangeOutcome, RunResult } from './results.js';

/** At most this many changes share one transaction (`groupTransactions`). */
export const GROUP_MAX_CHANGES = 100;
/** No change joins a group whose transaction has been open this long (milliseconds). */
export const GROUP_MAX_MS = 100;

/** How a run that had work ended, from the error that stopped it. */
function outcomeOf(error: DeltaError | undefined): RunOutcome {
  if (error === undefined) return 'success';
  if (error instanceof InterruptedError) return 'interrupted';
  if (error instanceof LockLostError) return 'lock-lost';
  return 'failed';
}

/** The lock as the runner sees it (src/lock's LeaseLock fits). */
export interface RunLock {
  /** Whether another runner holds a live lease right now (a read; takes nothing). */
  heldByOther(): Promise<boolean>;
  acquire(signal?: AbortSignal): Promise<void>;
  /** Throws when the lease was lost; called before every change. */
  assertHeld(): void;
  release(): Promise<void>;
}

export interface RunnerOptions {
  readonly client: MongoClient;
  /** The target database. */
  readonly db: Db;
  readonly deployment: Deployment;
  readonly tracker: Tracker;
  /** Makes the lock for one run; `onLost` is wired to the `lock:lost` event. */
  readonly lock: (command: string, onLost: (reason: string) => void) => RunLock;
  readonly lockScope: string;
  readonly events: DeltaEventEmitter;
  /** The run's transaction mode; a change's own mode wins. */
  readonly transaction: TransactionMode;
  /** Call a non-transactional change's rollback when its commit fails. */
  readonly autoRollback: boolean;
  /**
   * Let consecutive quick transactional commits share one transaction, their records committed
   * with them (one commit for up to GROUP_MAX_CHANGES changes); off: one transaction per change.
   */
  readonly groupTransactions?: boolean;
  /** Builds what changes receive as `services`, once per run with work; disposed after it. */
  readonly services?: ServicesFactory;
  readonly hooks?: DeltaHooks;
  /** Takes the backups a commit asks for (`backup` on a change, `backup` on the run), under the lock. */
  readonly backup?: RunBackup;
}

export interface RunControl {
  /** Print the plan; take no lock, write nothing. */
  readonly dryRun?: boolean;
  /** Ctrl-C: the current change is finished or aborted, recorded, and the run stops. */
  readonly interrupt?: AbortSignal;
  /** Default per-change time limit (a change's own `timeoutMs` wins). */
  readonly timeoutMs?: number;
  /** Commit only: back up the whole target database once, before the first change. */
  readonly backup?: boolean;
}

export type CommitOptions = CommitPlanOptions & RunControl;
export type RollbackOptions = RollbackPlanOptions & RunControl;

interface RunPlan {
  readonly steps: readonly PlannedStep[];
  readonly stages: readonly StageSpec[];
  readonly allowedDrift?: readonly string[];
}

/** Consecutive steps of one stage; a parallel stage's commits run side by side. */
interface StepGroup {
  readonly stage: StageSpec | undefined;
  readonly parallel: boolean;
  readonly steps: readonly { readonly step: PlannedStep; readonly index: number }[];
}

function stepGroups(steps: readonly PlannedStep[], stages: readonly StageSpec[], direction: Direction): StepGroup[] {
  const byName = new Map(stages.map((stage) => [stage.name, stage]));
  const groups: { stage: StageSpec | undefined; parallel: boolean; steps: { step: PlannedStep; index: number }[] }[] = [];
  for (const [index, step] of steps.entries()) {
    const last = groups.at(-1);
    if (last !== undefined && last.stage?.name === step.change.stage) last.steps.push({ step, index });
    else {
      const stage = step.change.stage === undefined ? undefined : byName.get(step.change.stage);
      // Rollbacks run one at a time, newest first: reverting is where order matters most.
      groups.push({ stage, parallel: direction === 'commit' && stage?.parallel === true, steps: [{ step, index }] });
    }
  }
  return groups;
}

/** A change whose commit threw inside a transaction group: recorded once the changes before it are re-applied. */
interface GroupMemberFailure {
  readonly step: PlannedStep;
  readonly writes: StepWrites;
  readonly thrown: unknown;
  readonly finished: Finished;
}

interface PlannedStep {
  readonly change: ChangeUnit;
  readonly record: HistoryEntry | undefined;
}

/**
 * Plans and executes commit and rollback runs. It takes every collaborator
 * as an argument, reads history only under the lock to make the plan it
 * executes, writes each record inside the change's transaction when it can,
 * never prints, and reports through events and a typed result.
 */
export class Runner {
  readonly #options: RunnerOptions;

  constructor(options: RunnerOptions) {
    this.#options = options;
  }

  /** Applies pending changes in id order. */
  async commit(source: ChangeSource, options: CommitOptions = {}): Promise<RunResult> {
    return this.#run('commit', options, source, async (catalog, history) => {
      const { pending, allowedDrift } = planCommit(catalog.changes, history, options, catalog.stages);
      return { steps: await Promise.all(pending.map(async (ref) => ({ change: await catalog.load(ref), record: undefined }))), stages: catalog.stages, allowedDrift };
    });
  }

  /** Reverts applied changes, newest first. */
  async rollback(source: ChangeSource, options: RollbackOptions = {}): Promise<RunResult> {
    return this.#run('rollback', options, source, async (catalog, history) => {
      const targets = planRollback(catalog.changes, history, options, catalog.stages);
      const loaded = await Promise.all(targets.map(async (target) => ({ change: await catalog.load(target.change), record: target.record })));
      assertRevertible(loaded);
      return { steps: loaded, stages: catalog.stages };
    });
  }

  /** Mends history after a hand fix (see planRepair); under the lock, one audit event per change. */
  async repair(source: ChangeSource, options: RepairOptions & { dryRun?: boolean } = {}): Promise<MaintenanceResult> {
    return this.#maintain('repair', source, options.dryRun === true, (catalog, history) => planRepair(catalog.changes, history, options));
  }

  /** Marks changes up to `to` applied without running them; under the lock, audited. */
  async baseline(source: ChangeSource, options: BaselineOptions & { dryRun?: boolean }): Promise<MaintenanceResult> {
    return this.#maintain('baseline', source, options.dryRun === true, (catalog, history) => ({ actions: planBaseline(catalog.changes, history, options, catalog.stages), left: [] }));
  }

  async #maintain(
    command: 'repair' | 'baseline',
    source: ChangeSource,
    dryRun: boolean,
    plan: (catalog: ChangeCatalog, history: readonly HistoryEntry[]) => { actions: MaintenanceAction[]; left: string[] },
  ): Promise<MaintenanceResult> {
    const { tracker } = this.#options;
    const result = (planned: { actions: MaintenanceAction[]; left: string[] }): MaintenanceResult => ({ command, targetDb: tracker.targetDb, dryRun, ...planned });
    const previewHistory = await tracker.history();
    const preview = plan(await source.open(previewHistory), previewHistory);
    if (dryRun || preview.actions.length === 0) return result(preview);

    const runId = randomUUID();
    const lock = this.#options.lock(command, (reason) => this.#options.events.emit('lock:lost', { runId, scope: this.#options.lockScope, reason }));
    await lock.acquire();
    try {
      const history = await tracker.history();
      const planned = plan(await source.open(history), history);
      await tracker.prepare();
      for (const action of planned.actions) {
        lock.assertHeld();
        await this.#apply(command, action, runId);
      }
      return result(planned);
    } finally {
      await lock.release().catch(() => undefined);
    }
  }

  async #apply(command: 'repair' | 'baseline', action: MaintenanceAction, runId: string): Promise<void> {
    const { tracker } = this.#options;
    const at = new Date();
    const audit = (details: Record<string, unknown>): AuditEvent => ({
      runId,
      changeId: action.changeId,
      targetDb: tracker.targetDb,
      action: command,
      outcome: 'success',
      at,
      executedBy: executedBy(),
      toolVersion: toolVersion(),
      details: { kind: action.kind, ...details },
    });
    switch (action.kind) {
      case 'update-checksum':
        return tracker.amendRecord(action.changeId, { checksum: action.after }, audit({ before: { checksum: action.before }, after: { checksum: action.after } }));
      case 'mark-failed': {
        const error = { message: 'interrupted: a run died during this change without a transaction; marked failed by delta repair', reviewed: true };
        return tracker.amendRecord(action.changeId, { status: 'failed', error }, audit({ before: { status: 'running' }, after: { status: 'failed' } }));
      }
      case 'mark-reviewed':
        return tracker.amendRecord(action.changeId, { error: { ...action.error, reviewed: true } }, audit({ before: { reviewed: false }, after: { reviewed: true } }));
      case 'remove-interrupted':
      case 'remove-missing':
        await tracker.removeRecords([action.changeId]);
        return tracker.audit(audit({ before: { status: action.kind === 'remove-missing' ? action.status : 'running' }, after: null }));
      case 'baseline':
        return tracker.record(
          {
            changeId: action.changeId,
            status: 'applied',
            checksum: action.checksum,
            file: action.file,
            description: action.description,
            stage: action.stage,
            metadata: storedMetadata(action.metadata),
            runId,
            transactional: false,
            at,
            durationMs: 0,
          },
          audit({ before: action.before === undefined ? null : { status: action.before }, after: { status: 'applied', checksum: action.checksum } }),
        );
    }
  }

  /** Whether a change runs in a transaction here; throws when it demands one the deployment lacks. */
  transactional(change: ChangeUnit): boolean {
    // A batched change runs a short transaction per batch, never one around the whole walk.
    if (change.metadata.batches) return false;
    const mode = change.transaction ?? this.#options.transaction;
    if (mode === 'never') return false;
    if (this.#options.deployment.transactions) return true;
    if (mode === 'always') {
      throw new TransactionUnsupportedError(
        `${change.id} requires a transaction (transaction: 'always'), but ${this.#options.db.databaseName} is on a standalone server; transactions need a replica set or sharded cluster`,
      );
    }
    return false;
  }

  async #run(
    command: Direction,
    control: RunControl,
    source: ChangeSource,
    plan: (catalog: ChangeCatalog, history: readonly HistoryEntry[]) => Promise<RunPlan>,
  ): Promise<RunResult> {
    const { tracker, events } = this.#options;
    const runId = randomUUID();
    const started = performance.now();
    const result = (outcome: RunOutcome, outcomes: readonly ChangeOutcome[], error?: DeltaError): RunResult => ({
      runId,
      command,
      targetDb: tracker.targetDb,
      outcome,
      dryRun: control.dryRun === true,
      changes: outcomes,
      durationMs: Math.round(performance.now() - started),
      error,
    });

    // A first look without the lock lets "nothing to do" (every start-up of an
    // up-to-date app) finish without taking it, and refuses bad requests, bad
    // files and drift before anything is written. Only when another runner
    // holds the lock does a commit skip it: its files are then imported under
    // the lock, against the history read there, so runners that waited import
    // nothing the winner applied. The plan that runs is always made under the lock.
    const lock = this.#options.lock(command, (reason) => events.emit('lock:lost', { runId, scope: this.#options.lockScope, reason }));
    const previewHistory = await tracker.history();
    const quick = source.withoutImports(previewHistory);
    if (quick !== undefined || command === 'rollback' || control.dryRun === true || !(await lock.heldByOther())) {
      const preview = (await plan(quick ?? (await source.open(previewHistory)), previewHistory)).steps;
      for (const step of preview) this.transactional(step.change);
      if (control.dryRun === true) {
        return result(preview.length === 0 ? 'nothing-to-do' : 'success', preview.map((step) => this.#notRun(step.change)));
      }
      if (preview.length === 0) {
        events.emit('run:end', { runId, command, outcome: 'nothing-to-do', durationMs: Math.round(performance.now() - started), done: 0 });
        return result('nothing-to-do', []);
      }
    }
    const waitStarted = performance.now();
    await lock.acquire(control.interrupt);
    const outcomes: ChangeOutcome[] = [];
    let error: DeltaError | undefined;
    let outcome: RunOutcome = 'success';
    try {
      events.emit('lock:acquired', { runId, scope: this.#options.lockScope, waitedMs: Math.round(performance.now() - waitStarted) });
      const history = await tracker.history();
      const planned = await plan(await source.open(history), history);
      const steps = planned.steps;
      for (const step of steps) this.transactional(step.change);
      if (steps.length === 0) {
        outcome = 'nothing-to-do';
      } else {
        // Indexes are ensured once, on the first run against this target: a history with records
        // was written by a run that ensured them (saves two commands on every later run).
        if (history.length === 0) await tracker.prepare();
        // Drift that --allow-drift let through goes to the audit log.
        const drift = planned.allowedDrift ?? [];
        if (drift.length > 0) {
          await tracker.audit({ runId, targetDb: tracker.targetDb, action: 'commit', outcome: 'success', at: new Date(), executedBy: executedBy(), toolVersion: toolVersion(), details: { allowedDrift: drift } });
        }
        events.emit('run:start', { runId, command, targetDb: tracker.targetDb, planned: steps.map((s) => s.change.id) });
        const ran = await this.#execute(command, steps, { runId, control, lock, history, stages: planned.stages, result });
        outcomes.push(...ran.outcomes);
        error = ran.error;
        outcome = outcomeOf(error);
      }
    } finally {
      await lock.release().catch(() => undefined);
    }
    const finished = result(outcome, outcomes, error);
    events.emit('run:end', { runId, command, outcome, durationMs: finished.durationMs, done: outcomes.filter((o) => o.status === 'done').length });
    return finished;
  }

  /**
   * Runs the planned steps, stage by stage, with the services and hooks around
   * them, stopping at the first failure, Ctrl-C or lost lock. In a parallel
   * stage the siblings already running finish and are recorded, and nothing
   * new starts. Every step that did not run is reported `not-run`.
   */
  async #execute(
    command: Direction,
    steps: readonly PlannedStep[],
    at: {
      runId: string;
      control: RunControl;
      lock: RunLock;
      history: readonly HistoryEntry[];
      stages: readonly StageSpec[];
      result: (outcome: RunOutcome, outcomes: readonly ChangeOutcome[], error?: DeltaError) => RunResult;
    },
  ): Promise<{ outcomes: ChangeOutcome[]; error: DeltaError | undefined }> {
    const { tracker, events, hooks, db, client } = this.#options;
    const { runId, control, lock } = at;
    const log = (changeId: string) => (hookError: unknown) => events.emit('change:log', { runId, changeId, message: messageOf(hookError) });
    const outcomes: ChangeOutcome[] = [];
    let error: DeltaError | undefined;
    // Without transactions the next change's `running` marker travels with this change's record
    // (one command fewer per change); a marker whose change never starts is removed.
    const recorded = new Set(at.history.map((r) => r.changeId));
    let markedAhead: string | undefined;
    const unmarkAhead = async () => {
      if (markedAhead !== undefined) await tracker.removeRecords([markedAhead]).catch(() => undefined);
      markedAhead = undefined;
    };
    let services: Readonly<Record<string, unknown>> = {};
    let context: RunHookContext | undefined;

    /** One step with its hooks; returns the error that stops the run, if any. */
    const runOne = async (hookContext: RunHookContext, step: PlannedStep, index: number, next: PlannedStep | undefined): Promise<DeltaError | undefined> => {
      const stop = this.#stopReason(lock, control);
      if (stop !== undefined) return stop;
      const change = { id: step.change.id, file: step.change.file, description: step.change.description, stage: step.change.stage };
      try {
        await callHook(hooks, 'beforeEach', { ...hookContext, change }, change.id);
        const asked = command === 'commit' ? backupRequestOf(step.change) : undefined;
        if (asked !== undefined) {
          // A backup that fails throws BackupFailedError: the change does not run. Ctrl-C or a lost
          // lease during a long backup stop the run here too.
          await backup(change.id, asked);
          const stopped = this.#stopReason(lock, control);
          if (stopped !== undefined) return stopped;
        }
        const markNext =
          command === 'commit' && next !== undefined && !recorded.has(next.change.id) && !this.transactional(step.change) && !this.transactional(next.change) ? next.change : undefined;
        const runningRecorded = markedAhead === change.id;
        if (runningRecorded) markedAhead = undefined;
        const done = await this.#step(command, step, { runId, index, total: steps.length, control, services, runningRecorded, markNext, assertHeld: () => lock.assertHeld() });
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
        await this.#auditHookFailure(thrown, runId, command, change.id);
        return thrown;
      }
    };
    const backup = (changeId: string | undefined, collections: readonly string[] | 'database') => runBackup(this.#options.backup, { runId, changeId, collections }, { tracker, events });

    try {
      try {
        services = await buildServices(this.#options.services, { db, client, targetDb: tracker.targetDb, command });
        const hookContext: RunHookContext = { runId, command, targetDb: tracker.targetDb, db, client, planned: steps.map((s) => s.change.id), services };
        context = hookContext;
        await callHook(hooks, 'beforeAll', hookContext);
        if (command === 'commit' && control.backup === true) await backup(undefined, 'database');
        for (const group of stepGroups(steps, at.stages, command)) {
          const stageStarted = performance.now();
          const before = outcomes.length;
          if (group.stage !== undefined) {
            const { name, concurrency } = group.stage;
            events.emit('stage:start', { runId, stage: name, direction: command, parallel: group.parallel, concurrency, planned: group.steps.map((g) => g.step.change.id) });
          }
          if (group.parallel) {
            error = await runSideBySide(group.stage?.concurrency ?? 1, group.steps, (g) => runOne(hookContext, g.step, g.index, undefined));
          } else {
            let position = 0;
            while (position < group.steps.length && error === undefined) {
              const groupable = this.#groupableRun(command, group.steps, position);
              if (groupable >= 2) {
                const grouped = await this.#commitGroup(group.steps.slice(position, position + groupable), { runId, control, lock, services, total: steps.length });
                outcomes.push(...grouped.outcomes);
                error = grouped.error;
                position += grouped.outcomes.length;
                // Aborted: the changes it had run run again, one per transaction, as if never grouped;
                // then the change that failed in it is recorded failed (it is not run a second time).
                for (let again = 0; again < grouped.again && error === undefined; again += 1, position += 1) {
                  const g = group.steps[position] as (typeof group.steps)[number];
                  error = await runOne(hookContext, g.step, g.index, undefined);
                }
                if (error === undefined && grouped.failed !== undefined) {
                  const recorded = await this.#groupMemberFailed(grouped.failed, runId);
                  outcomes.push(recorded.outcome);
                  error = recorded.error;
                  position += 1;
                }
                continue;
              }
              const g = group.steps[position] as (typeof group.steps)[number];
              // The next change's marker rides along only inside the same stage.
              error = await runOne(hookContext, g.step, g.index, group.steps[position + 1]?.step);
              position += 1;
            }
          }
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
        if (thrown instanceof HookFailedError) await this.#auditHookFailure(thrown, runId, command, undefined);
      }
      // Outcomes in plan order (a parallel stage finishes in any order), then what did not run.
      const position = new Map(steps.map((s, index) => [s.change.id, index]));
      outcomes.sort((a, b) => (position.get(a.id) ?? 0) - (position.get(b.id) ?? 0));
      const ran = new Set(outcomes.map((o) => o.id));
      for (const skipped of steps.filter((s) => !ran.has(s.change.id))) {
        outcomes.push(this.#notRun(skipped.change));
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
            await this.#auditHookFailure(hookError, runId, command, undefined);
          }
        }
      }
    } finally {
      await unmarkAhead();
      await disposeServices(services).catch(() => undefined);
    }
    return { outcomes, error };
  }

  /** A failed hook goes to the audit log; the change's own record is untouched (it did not run). */
  async #auditHookFailure(failure: HookFailedError, runId: string, command: Direction, changeId: string | undefined): Promise<void> {
    const { tracker } = this.#options;
    await tracker
      .audit({
        runId,
        changeId,
        targetDb: tracker.targetDb,
        action: command,
        outcome: 'failure',
        at: new Date(),
        executedBy: executedBy(),
        toolVersion: toolVersion(),
        error: recordedError(failure),
        details: { hook: failure.hook },
      })
      .catch(() => undefined);
  }

  #stopReason(lock: RunLock, control: RunControl): DeltaError | undefined {
    if (control.interrupt?.aborted === true) return new InterruptedError('interrupted before the next change; nothing else was started');
    try {
      lock.assertHeld();
    } catch (error) {
      if (isDeltaError(error)) return error;
      throw error;
    }
    return undefined;
  }

  async #step(
    direction: Direction,
    step: PlannedStep,
    at: {
      runId: string;
      index: number;
      total: number;
      control: RunControl;
      services: Readonly<Record<string, unknown>>;
      /** This change's `running` marker was written with the previous change's record. */
      runningRecorded: boolean;
      /** The next change, whose `running` marker this change's success record carries. */
      markNext: ChangeUnit | undefined;
      assertHeld: () => void;
    },
  ): Promise<{ outcome: ChangeOutcome; error: DeltaError | undefined }> {
    const { tracker, events } = this.#options;
    const { change } = step;
    const transactional = this.transactional(change);
    const fn = direction === 'commit' ? change.commit : change.rollback;
    if (fn === undefined) throw new Error(`planned ${direction} of ${change.id} has no function`);
    events.emit('change:start', { runId: at.runId, changeId: change.id, stage: change.stage, direction, transactional, index: at.index, total: at.total });
    if (direction === 'rollback') events.emit('rollback:start', { runId: at.runId, changeId: change.id, reason: 'requested' });

    const writes = stepWrites({ change, direction, before: step.record, runId: at.runId, targetDb: tracker.targetDb, transactional });
    const { elapsed, record, audit } = writes;
    const outcomeOfStep = { id: change.id, file: change.file, stage: change.stage, runner: change.runner, transactional };
    const successStatus: RecordStatus = direction === 'commit' ? 'applied' : 'rolled_back';
    const execute = (session: ClientSession | undefined, signalFn = fn) => this.#executeStep(change, direction, signalFn, session, at);

    let phase: 'change' | 'record' = 'change';
    // Whether the change's effect is in place for good (its transaction committed, or it ran
    // without one): from then on a failure is the record's, and the change must not run again.
    let done = false;
    try {
      if (transactional) {
        await inTransaction(this.#options.client, at.control.interrupt, async (session) => {
          phase = 'change';
          await execute(session);
          phase = 'record';
          // Internal mode: the record and its audit event commit with the change, or not at all.
          if (tracker.sharesTargetClient) await tracker.record(record(successStatus, { durationMs: elapsed() }), audit('success'), session);
          // Lost the lease while the change ran: another runner may be at work, so abort instead of committing.
          at.assertHeld();
        });
        done = true;
        if (!tracker.sharesTargetClient) await tracker.record(record(successStatus, { durationMs: elapsed() }), audit('success'));
      } else {
        // Recorded first so that a crash in the middle shows as `running`, never as nothing.
        if (!at.runningRecorded) await tracker.record(record('running'), undefined);
        await execute(undefined);
        done = true;
        phase = 'record';
        const next = at.markNext;
        const applied = { change: record(successStatus, { durationMs: elapsed() }), audit: audit('success') };
        await tracker.recordAll(next === undefined ? [applied] : [applied, { change: runningMarker(next, at.runId) }]);
      }
      events.emit('change:success', { runId: at.runId, changeId: change.id, direction, transactional, durationMs: elapsed() });
      if (direction === 'rollback') events.emit('rollback:success', { runId: at.runId, changeId: change.id, reason: 'requested', durationMs: elapsed() });
      return { outcome: { ...outcomeOfStep, status: 'done', durationMs: elapsed(), error: undefined, compensated: undefined }, error: undefined };
    } catch (thrown) {
      if (thrown instanceof LockLostError) {
        // The transaction was aborted and the lock may be someone else's: write no record
        // (it could overwrite theirs), only the append-only audit event.
        const stored = recordedError(thrown);
        await tracker.audit(audit('failure', stored)).catch(() => undefined);
        events.emit('change:failure', { runId: at.runId, changeId: change.id, direction, transactional, durationMs: elapsed(), error: stored, compensated: undefined });
        if (direction === 'rollback') events.emit('rollback:failure', { runId: at.runId, changeId: change.id, reason: 'requested', durationMs: elapsed(), error: stored });
        return { outcome: { ...outcomeOfStep, status: 'failed', durationMs: elapsed(), error: stored, compensated: undefined }, error: thrown };
      }
      if (done && direction === 'commit') {
        // The change ran, its record did not: `failed` would make the next commit run it again.
        // Leave it `running`, which status shows as interrupted and commit refuses until repair.
        const message = `${change.id} ran, but its history record could not be written (${messageOf(thrown)}); it is left 'running': check its effect, then run delta repair`;
        const stored = { ...recordedError(thrown), message: message.slice(change.id.length + 1) };
        await tracker.record(record('running'), audit('failure', stored)).catch(() => undefined);
        events.emit('change:failure', { runId: at.runId, changeId: change.id, direction, transactional, durationMs: elapsed(), error: stored, compensated: undefined });
        return { outcome: { ...outcomeOfStep, status: 'failed', durationMs: elapsed(), error: stored, compensated: undefined }, error: new ChangeFailedError(message, change.id, { cause: thrown }) };
      }
      const failedIn = phase as 'change' | 'record';
      let compensated: boolean | undefined;
      let compensationError: unknown;
      // A batched change is not undone: its checkpoints say how far it got, and the next commit resumes it.
      if (!transactional && direction === 'commit' && failedIn === 'change' && this.#options.autoRollback && change.rollback !== undefined && !change.metadata.batches) {
        const compensationStarted = performance.now();
        const reported = (reason: RollbackReason) => ({ runId: at.runId, changeId: change.id, reason, durationMs: Math.round(performance.now() - compensationStarted) });
        events.emit('rollback:start', { runId: at.runId, changeId: change.id, reason: 'compensation' });
        try {
          await execute(undefined, change.rollback);
          compensated = true;
          events.emit('rollback:success', reported('compensation'));
        } catch (rollbackError) {
          compensated = false;
          compensationError = rollbackError;
          events.emit('rollback:failure', { ...reported('compensation'), error: recordedError(rollbackError) });
        }
      }
      const interrupted = thrown instanceof InterruptedError;
      const message =
        `${change.id} ${direction === 'commit' ? 'failed' : 'rollback failed'}: ${messageOf(thrown)}` +
        (compensated === true ? ' (its rollback ran to compensate)' : '') +
        (compensationError === undefined ? '' : `; its compensating rollback also failed: ${messageOf(compensationError)}`);
      const error: DeltaError = interrupted ? new InterruptedError(`${change.id} was interrupted${transactional ? ' and its transaction aborted' : ''}`, { cause: thrown }) : new ChangeFailedError(message, change.id, { cause: thrown });
      const stored = { ...recordedError(thrown), message: interrupted ? error.message : message.slice(change.id.length + 1), ...(compensated === undefined ? {} : { compensated }) };
      try {
        if (direction === 'rollback' && transactional) {
          // The aborted transaction left the change applied: its record stays as it was.
          await tracker.audit(audit('failure', stored));
        } else {
          await tracker.record(record('failed', { durationMs: elapsed(), error: stored }), audit('failure', stored));
        }
      } catch {
        // The database is gone: the record stays `running` (non-transactional) or absent
        // (transaction aborted), both of which `status` reports truthfully.
      }
      events.emit('change:failure', { runId: at.runId, changeId: change.id, direction, transactional, durationMs: elapsed(), error: stored, compensated });
      if (direction === 'rollback') events.emit('rollback:failure', { runId: at.runId, changeId: change.id, reason: 'requested', durationMs: elapsed(), error: stored });
      return { outcome: { ...outcomeOfStep, status: 'failed', durationMs: elapsed(), error: stored, compensated }, error };
    }
  }

  /**
   * How many steps from `position` on may share one transaction: commits of transactional
   * changes whose records live beside them, with nothing that must happen between two changes
   * (per-change hooks, a backup, a batched walk with its own transactions).
   */
  #groupableRun(command: Direction, steps: readonly { readonly step: PlannedStep }[], position: number): number {
    const { hooks, tracker } = this.#options;
    if (command !== 'commit' || this.#options.groupTransactions === false || !tracker.sharesTargetClient) return 0;
    if (hooks?.beforeEach !== undefined || hooks?.afterEach !== undefined || hooks?.onError !== undefined) return 0;
    let count = 0;
    for (const { step } of steps.slice(position, position + GROUP_MAX_CHANGES)) {
      const change = step.change;
      if (change.metadata.batches || backupRequestOf(change) !== undefined || !this.transactional(change)) break;
      count += 1;
    }
    return count;
  }

  /**
   * Commits consecutive changes in one transaction with their records and audit events: one
   * `commitTransaction` for the group instead of one per change. Changes join while the group is
   * younger than GROUP_MAX_MS, so a group holds its documents about as long as one slow change
   * would. Each change keeps its own record, duration and events; all of the group commit or
   * none. When anything fails, the group is aborted and `again` says how many of its changes the
   * caller must run again one by one, so a failure is found, recorded and reported exactly as
   * without grouping (a change function may therefore run twice, as on a transient error).
   */
  async #commitGroup(
    candidates: readonly { readonly step: PlannedStep; readonly index: number }[],
    at: { runId: string; control: RunControl; lock: RunLock; services: Readonly<Record<string, unknown>>; total: number },
  ): Promise<{ outcomes: ChangeOutcome[]; error: DeltaError | undefined; again: number; failed?: GroupMemberFailure }> {
    const { client, tracker, events } = this.#options;
    const ran: { step: PlannedStep; writes: StepWrites; finished: Finished }[] = [];
    const started = performance.now();
    const session = client.startSession();
    try {
      startTransaction(session);
      for (const { step, index } of candidates) {
        if (ran.length > 0 && (performance.now() - started >= GROUP_MAX_MS || this.#stopReason(at.lock, at.control) !== undefined)) break;
        const { change } = step;
        events.emit('change:start', { runId: at.runId, changeId: change.id, stage: change.stage, direction: 'commit', transactional: true, index, total: at.total });
        const writes = stepWrites({ change, direction: 'commit', before: step.record, runId: at.runId, targetDb: tracker.targetDb, transactional: true });
        try {
          await this.#executeStep(change, 'commit', change.commit as ChangeFunction, session, at);
        } catch (thrown) {
          await session.abortTransaction().catch(() => undefined);
          const failed = { step, writes, thrown, finished: { at: new Date(), durationMs: writes.elapsed() } };
          if (thrown instanceof InterruptedError) {
            // Ctrl-C: nothing of the group is applied; the change that was running is recorded interrupted.
            const shared = ran.map((r) => r.step.change.id);
            const interrupted = new InterruptedError(`${change.id} was interrupted and its transaction aborted${shared.length === 0 ? '' : `, with ${shared.join(', ')}, which shared it: none of them is applied`}`, { cause: thrown });
            const recorded = await this.#groupMemberFailed(failed, at.runId, interrupted);
            return { outcomes: [recorded.outcome], error: recorded.error, again: 0 };
          }
          // A transient error may be the group's doing (a conflict, its size): that change runs again too.
          return hasErrorLabel(thrown, 'TransientTransactionError') ? { outcomes: [], error: undefined, again: ran.length + 1 } : { outcomes: [], error: undefined, again: ran.length, failed };
        }
        ran.push({ step, writes, finished: { at: new Date(), durationMs: writes.elapsed() } });
      }
      await tracker.recordAll(
        ran.map(({ writes, finished }) => ({ change: writes.record('applied', finished), audit: writes.audit('success', undefined, finished) })),
        session,
      );
      // Lost the lease while the group ran: abort instead of committing (the retry one by one stops at once).
      at.lock.assertHeld();
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
      await session.endSession().catch(() => undefined);
    }
    const outcomes: ChangeOutcome[] = [];
    for (const { step, finished } of ran) {
      const { change } = step;
      events.emit('change:success', { runId: at.runId, changeId: change.id, direction: 'commit', transactional: true, durationMs: finished.durationMs });
      outcomes.push({ id: change.id, file: change.file, stage: change.stage, runner: change.runner, transactional: true, status: 'done', durationMs: finished.durationMs, error: undefined, compensated: undefined });
    }
    return { outcomes, error: undefined, again: 0 };
  }

  /**
   * Records a change that failed in a group, as its own transaction's failure is recorded (the
   * aborted group left nothing of it), dated when it is recorded: after the changes before it.
   */
  async #groupMemberFailed(failed: GroupMemberFailure, runId: string, interrupted?: InterruptedError): Promise<{ outcome: ChangeOutcome; error: DeltaError }> {
    const { tracker, events } = this.#options;
    const { step, writes, thrown, finished } = failed;
    const { change } = step;
    // Worded as #step words a failed transactional commit: `<id> failed: <why>`, stored without the id.
    const error = interrupted ?? new ChangeFailedError(`${change.id} failed: ${messageOf(thrown)}`, change.id, { cause: thrown });
    const stored = { ...recordedError(thrown), message: interrupted === undefined ? error.message.slice(change.id.length + 1) : error.message };
    await tracker.record(writes.record('failed', { durationMs: finished.durationMs, error: stored }), writes.audit('failure', stored, { at: new Date(), durationMs: finished.durationMs })).catch(() => undefined);
    events.emit('change:failure', { runId, changeId: change.id, direction: 'commit', transactional: true, durationMs: finished.durationMs, error: stored, compensated: undefined });
    return { outcome: { id: change.id, file: change.file, stage: change.stage, runner: change.runner, transactional: true, status: 'failed', durationMs: finished.durationMs, error: stored, compensated: undefined }, error };
  }

  /** Runs a change's commit or rollback function with its context (timeout, Ctrl-C, log, batches). */
  #executeStep(
    change: ChangeUnit,
    direction: Direction,
    fn: ChangeFunction,
    session: ClientSession | undefined,
    at: { runId: string; control: RunControl; services: Readonly<Record<string, unknown>> },
  ): Promise<void> {
    const { tracker, events, client, db } = this.#options;
    return executeChange({
      fn,
      changeId: change.id,
      runId: at.runId,
      db,
      client,
      session,
      services: at.services,
      timeoutMs: change.timeoutMs ?? at.control.timeoutMs,
      interrupt: at.control.interrupt,
      log: (message) => events.emit('change:log', { runId: at.runId, changeId: change.id, message }),
      batches: change.metadata.batches
        ? (signal) =>
            batchWalker({
              changeId: change.id,
              db,
              client,
              tracker,
              transactions: this.#options.deployment.transactions && (change.transaction ?? this.#options.transaction) !== 'never',
              checkpointed: direction === 'commit',
              signal,
              progress: (progress) => events.emit('change:progress', { runId: at.runId, changeId: change.id, ...progress }),
            })
        : undefined,
    });
  }

  #notRun(change: ChangeUnit): ChangeOutcome {
    let transactional = false;
    try {
      transactional = this.transactional(change);
    } catch {
      transactional = false;
    }
    return { id: change.id, file: change.file, stage: change.stage, runner: change.runner, status: 'not-run', transactional, durationMs: undefined, error: undefined, compensated: undefined };
  }
}

/**
 * Runs `work` over `items` with at most `concurrency` at once; once one returns an error
 * nothing new starts, the running ones finish, and the first error is returned.
 */
async function runSideBySide<T>(concurrency: number, items: readonly T[], work: (item: T) => Promise<DeltaError | undefined>): Promise<DeltaError | undefined> {
  let first: DeltaError | undefined;
  let next = 0;
  const worker = async () => {
    while (first === undefined && next < items.length) {
      const item = items[next] as T;
      next += 1;
      const error = await work(item);
      first ??= error;
    }
  };
  const settled = await Promise.allSettled(Array.from({ length: Math.min(concurrency, items.length) }, worker));
  const crashed = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
  if (crashed !== undefined) throw crashed.reason;
  return first;
}

