import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import type { Db, MongoClient } from 'mongodb';
import type { Deployment } from '../connection/connect.js';
import type { DeltaError } from '../errors.js';
import type { Lease } from '../lock/under-lock.js';
import { underLock } from '../lock/under-lock.js';
import { auditEvent } from '../tracker/audit-event.js';
import type { HistoryEntry } from '../tracker/records.js';
import type { Tracker } from '../tracker/tracker.js';
import type { RunBackup } from './backup-step.js';
import type { DeltaEventEmitter } from './events.js';
import type { BaselineOptions, MaintenanceAction, MaintenanceResult, RepairOptions } from './maintenance.js';
import { planBaseline, planRepair } from './maintenance.js';
import { applyMaintenance } from './maintenance-writes.js';
import { changeOutcome, outcomeOf } from './outcomes.js';
import type { CommitPlanOptions, RollbackPlanOptions } from './plan.js';
import { assertRevertible, nextAppliedSeq, planCommit, planRollback } from './plan.js';
import type { PlannedStep, StepRules } from './planned-step.js';
import { planStep } from './planned-step.js';
import { runSteps } from './run-loop.js';

export type { Lease } from '../lock/under-lock.js';
import type { ChangeCatalog, ChangeOutcome, ChangeSource, DeltaHooks, Direction, RunOutcome, RunResult, ServicesFactory, StageSpec, TransactionMode } from '../vocabulary/index.js';

export interface RunnerOptions {
  readonly client: MongoClient;
  /** The target database. */
  readonly db: Db;
  readonly deployment: Deployment;
  readonly tracker: Tracker;
  /** Makes the lock for one run; `onLost` is wired to the `lock:lost` event. */
  readonly lock: (command: string, onLost: (reason: string) => void) => Lease;
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
  /**
   * delta's own namespaces (`db.collection`) on the target's client: history, audit and lock.
   * Writes there while a change runs are delta's, not the change's (see WriteGuard).
   */
  readonly ownNamespaces?: readonly string[];
}

export interface RunControl {
  /** Print the plan; take no lock, write nothing. */
  readonly dryRun?: boolean;
  /** Ctrl-C: the current change is finished or aborted, recorded, and the run stops. */
  readonly interrupt?: AbortSignal;
  /** Default per-change time limit (a change's own `timeoutMs` wins). */
  readonly timeoutMs?: number;
  /** Default `throttle.maxReplicationLagMs` of every `ctx.batches` walk (`--max-lag`; a walk's own wins). */
  readonly maxReplicationLagMs?: number;
  /** Commit only: back up the whole target database once, before the first change. */
  readonly backup?: boolean;
}

export type CommitOptions = CommitPlanOptions & RunControl;
export type RollbackOptions = RollbackPlanOptions & RunControl;

interface RunPlan {
  readonly steps: readonly PlannedStep[];
  readonly stages: readonly StageSpec[];
  readonly allowedDrift?: readonly string[];
  /** Changes a commit leaves out on purpose while applying newer ones (see CommitPlan.deferred). */
  readonly deferred?: readonly {
    readonly change: { readonly id: string; readonly checksum: string; readonly file: string | undefined; readonly description: string | undefined; readonly stage: string | undefined };
    readonly reason: string;
  }[];
}

/**
 * Plans and executes commit and rollback runs, and the history mending of repair and
 * baseline. It takes every collaborator as an argument, plans what runs only under the lock
 * (underLock), decides how each change runs once (planStep), runs the plan stage by stage
 * (runSteps: one change at a time with StepExecutor, or several in one transaction with
 * commitGroup), never prints, and reports through events and a typed result.
 */
export class Runner {
  readonly #options: RunnerOptions;

  constructor(options: RunnerOptions) {
    this.#options = options;
  }

  /** Applies pending changes in id order. */
  async commit(source: ChangeSource, options: CommitOptions = {}): Promise<RunResult> {
    return this.#run('commit', options, source, async (catalog, history) => {
      const planned = planCommit(catalog.changes, history, options, catalog.stages);
      const changes = await Promise.all(planned.pending.map((ref) => catalog.load(ref)));
      return { steps: changes.map((change) => planStep(change, undefined, this.#rules('commit'))), stages: catalog.stages, allowedDrift: planned.allowedDrift, deferred: planned.deferred };
    });
  }

  /** Reverts applied changes, newest application first. */
  async rollback(source: ChangeSource, options: RollbackOptions = {}): Promise<RunResult> {
    return this.#run('rollback', options, source, async (catalog, history) => {
      const targets = planRollback(catalog.changes, history, options, catalog.stages);
      const loaded = await Promise.all(targets.map(async (target) => ({ change: await catalog.load(target.change), record: target.record })));
      assertRevertible(loaded);
      return { steps: loaded.map((target) => planStep(target.change, target.record, this.#rules('rollback'))), stages: catalog.stages };
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

  #rules(direction: Direction): StepRules {
    return { direction, transaction: this.#options.transaction, deployment: this.#options.deployment, targetDb: this.#options.db.databaseName };
  }

  #lock(command: string, runId: string): Lease {
    const { events, lockScope } = this.#options;
    return this.#options.lock(command, (reason) => events.emit('lock:lost', { runId, scope: lockScope, reason }));
  }

  async #maintain(
    command: 'repair' | 'baseline',
    source: ChangeSource,
    dryRun: boolean,
    plan: (catalog: ChangeCatalog, history: readonly HistoryEntry[]) => { actions: MaintenanceAction[]; left: string[] },
  ): Promise<MaintenanceResult> {
    const { tracker } = this.#options;
    const result = (planned: { actions: MaintenanceAction[]; left: string[] }): MaintenanceResult => ({ command, targetDb: tracker.targetDb, dryRun, ...planned });
    const read = async () => {
      const history = await tracker.history();
      return { history, planned: plan(await source.open(history), history) };
    };
    const lock = this.#lock(command, randomUUID());
    return underLock(lock, {
      preview: read,
      finishEarly: ({ planned }) => (dryRun || planned.actions.length === 0 ? result(planned) : undefined),
      plan: read,
      work: async ({ history, planned }) => {
        await tracker.prepare();
        await tracker.flushAudit();
        let seq = nextAppliedSeq(history);
        const runId = randomUUID();
        for (const action of planned.actions) {
          lock.assertHeld();
          await applyMaintenance(tracker, command, action, runId, seq++);
        }
        return result(planned);
      },
    });
  }

  async #run(command: Direction, control: RunControl, source: ChangeSource, plan: (catalog: ChangeCatalog, history: readonly HistoryEntry[]) => Promise<RunPlan>): Promise<RunResult> {
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
    const ended = (finished: RunResult): RunResult => {
      events.emit('run:end', { runId, command, outcome: finished.outcome, durationMs: finished.durationMs, done: finished.changes.filter((o) => o.status === 'done').length });
      return finished;
    };

    // A first look without the lock lets "nothing to do" (every start-up of an up-to-date app)
    // finish without taking it, and refuses bad requests, bad files and drift before anything is
    // written. Only when another runner holds the lock does a commit skip it: its files are then
    // imported under the lock, against the history read there, so runners that waited import
    // nothing the winner applied. The plan that runs is always made under the lock.
    const lock = this.#lock(command, runId);
    const previewHistory = await tracker.history();
    // Audit events a killed run kept in its records (the read above says whether there are any)
    // move to the log now, even when there is nothing to do: safe without the lock (see flushAudit).
    // A dry run writes nothing.
    if (control.dryRun !== true) await tracker.flushAudit();
    const quick = source.withoutImports(previewHistory);
    const look = quick !== undefined || command === 'rollback' || control.dryRun === true || !(await lock.heldByOther());
    return underLock(lock, {
      signal: control.interrupt,
      preview: look ? async () => ({ history: previewHistory, planned: await plan(quick ?? (await source.open(previewHistory)), previewHistory) }) : undefined,
      finishEarly: ({ planned: { steps } }) => {
        if (control.dryRun === true)
          return result(
            steps.length === 0 ? 'nothing-to-do' : 'success',
            steps.map((step) => changeOutcome(step.change, step.transactional, 'not-run')),
          );
        return steps.length === 0 ? ended(result('nothing-to-do', [])) : undefined;
      },
      plan: async () => {
        const history = await tracker.history();
        return { history, planned: await plan(await source.open(history), history) };
      },
      // A commit that waits while another runner applies the same changes learns from one read,
      // when that run ends, that nothing is left, as the first look would have (files applied
      // since are known from their records: nothing is imported). Anything else waits its turn.
      whileWaiting:
        command === 'commit'
          ? async () => {
              const history = await tracker.history();
              const catalog = source.withoutImports(history);
              if (catalog === undefined) return undefined;
              // A plan that throws (drift, a bad request) is made again, and reported, under the lock.
              const steps = await plan(catalog, history).then(
                (planned) => planned.steps,
                () => undefined,
              );
              return steps?.length === 0 ? ended(result('nothing-to-do', [])) : undefined;
            }
          : undefined,
      work: async ({ history, planned }, waitedMs) => {
        events.emit('lock:acquired', { runId, scope: this.#options.lockScope, waitedMs });
        const steps = planned.steps;
        if (steps.length === 0) return ended(result('nothing-to-do', []));
        // Indexes are ensured once, on the first run against this target: a history with records
        // was written by a run that ensured them (saves two commands on every later run).
        if (history.length === 0) await tracker.prepare();
        await this.#recordRunFacts(runId, planned);
        events.emit('run:start', { runId, command, targetDb: tracker.targetDb, planned: steps.map((s) => s.change.id) });
        const ran = await runSteps(this.#environment(), steps, {
          runId,
          command,
          lock,
          history,
          stages: planned.stages,
          interrupt: control.interrupt,
          timeoutMs: control.timeoutMs,
          maxReplicationLagMs: control.maxReplicationLagMs,
          backupDatabase: control.backup === true,
          result,
        }).finally(() =>
          // Still under the lock. Should the database be gone, the events stay kept in their records,
          // where auditLog reads them and the next run moves them.
          tracker.flushAudit().catch(() => undefined),
        );
        return ended(result(outcomeOf(ran.error), ran.outcomes, ran.error));
      },
    });
  }

  /**
   * What the audit log and history must know of a run before it starts: drift that --allow-drift
   * let through, and the changes it leaves pending on purpose (recorded `deferred`, so that a
   * later commit applies them without calling them out of order).
   */
  async #recordRunFacts(runId: string, planned: RunPlan): Promise<void> {
    const { tracker } = this.#options;
    const drift = planned.allowedDrift ?? [];
    if (drift.length > 0) {
      await tracker.audit(auditEvent({ runId, targetDb: tracker.targetDb, action: 'commit', outcome: 'success', details: { allowedDrift: drift } }));
    }
    const deferred = planned.deferred ?? [];
    if (deferred.length > 0) {
      const at = new Date();
      await tracker.recordAll(
        deferred.map(({ change, reason }) => ({
          change: {
            changeId: change.id,
            status: 'deferred',
            checksum: change.checksum,
            file: change.file,
            description: change.description,
            stage: change.stage,
            runId,
            transactional: false,
            at,
            reason,
          },
        })),
      );
    }
  }

  #environment() {
    const { client, db, tracker, events, autoRollback, deployment, hooks, services, backup, groupTransactions, ownNamespaces, transaction } = this.#options;
    return {
      client,
      db,
      tracker,
      events,
      autoRollback,
      transaction,
      batchTransactions: deployment.transactions,
      ownNamespaces: ownNamespaces ?? [],
      hooks,
      services,
      backup,
      groupTransactions: groupTransactions !== false,
    };
  }
}
