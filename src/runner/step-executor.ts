import { performance } from 'node:perf_hooks';
import type { ClientSession, Db, MongoClient } from 'mongodb';
import type { DeltaError } from '../errors.js';
import { ChangeFailedError, InterruptedError, LockLostError, UsageError, WriteOutsideTransactionError, messageOf } from '../errors.js';
import type { RecordStatus } from '../tracker/records.js';
import type { Tracker } from '../tracker/tracker.js';
import { batchWalker } from './batches.js';
import { abortedTransactionAdvice, refusedInTransaction } from './driver-errors.js';
import type { DeltaEventEmitter, RollbackReason } from './events.js';
import { executeChange } from './execute-change.js';
import { checkedCommit } from './expectations.js';
import { changeOutcome, recordedError } from './outcomes.js';
import type { PlannedStep } from './planned-step.js';
import type { StepWrites } from './step-writes.js';
import { runningMarker, stepWrites } from './step-writes.js';
import { inTransaction } from './transactions.js';
import { WriteCounter } from './write-counter.js';
import { WriteGuard } from './write-guard.js';
import type { ChangeFunction, ChangeOutcome, ChangeUnit, Direction, RecordedError, TransactionMode } from '../vocabulary/index.js';

/** How one step ended: its line in the result, and the error that stops the run (if any). */
export interface StepResult {
  readonly outcome: ChangeOutcome;
  readonly error: DeltaError | undefined;
}

/** What the executor needs from the run's configuration. */
export interface StepEnvironment {
  readonly client: MongoClient;
  readonly db: Db;
  readonly tracker: Tracker;
  readonly events: DeltaEventEmitter;
  /** Call a non-transactional change's rollback when its commit fails. */
  readonly autoRollback: boolean;
  /** The run's transaction mode (a stage's or a change's own wins). */
  readonly transaction: TransactionMode;
  /** Each `ctx.batches` batch in its own transaction (the deployment has them, and the change's mode is not `never`). */
  readonly batchTransactions: boolean;
  /** delta's own namespaces on the target's client (history, audit, lock): writes there are not a change's. */
  readonly ownNamespaces: readonly string[];
}

/** What one run gives each of its steps. */
export interface RunContext {
  readonly runId: string;
  readonly total: number;
  /** Ctrl-C: a transaction is abandoned at once, a change without one finishes. */
  readonly interrupt: AbortSignal | undefined;
  /** The run's per-change time limit (a change's own wins). */
  readonly timeoutMs: number | undefined;
  /** The run's default `throttle.maxReplicationLagMs` for `ctx.batches` walks (`--max-lag`). */
  readonly maxReplicationLagMs?: number | undefined;
  /** Throws when the run's lease was lost. */
  assertHeld(): void;
  /** What changes receive as `services`. */
  services(): Readonly<Record<string, unknown>>;
  /** The `appliedSeq` of the next application (see HistoryRecord.appliedSeq). */
  nextSeq(): number;
  /** Changes the server refused to run in a transaction during this run (id: the server's words): they run without one. */
  readonly refused: Map<string, string>;
}

/** Where a step stands in its run, beyond the step itself. */
export interface StepPosition {
  readonly index: number;
  /** This change's `running` marker was written with the previous change's record. */
  readonly runningRecorded: boolean;
  /** The next change, whose `running` marker this change's success record carries. */
  readonly markNext: ChangeUnit | undefined;
}

/** How a failed step is recorded: what ran, and what was already in place for good. */
interface FailureFacts {
  readonly transactional: boolean;
  readonly writes: StepWrites;
  /** The change's effect is in place for good (its transaction committed, or it ran without one). */
  readonly done: boolean;
  /** Where it failed: writing its `running` marker (nothing of it ran), its own code, or writing its record. */
  readonly phase: 'marker' | 'change' | 'record';
  readonly fn: ChangeFunction;
}

/**
 * Runs one step of a plan and records it: in a transaction with its record (or after it, for a
 * tracker elsewhere), or without one behind a `running` marker, with the change's rollback as
 * compensation when it fails. In `auto` mode a change whose operation the server refuses inside
 * a transaction (263) runs again from the start without one, as `never` would.
 */
export class StepExecutor {
  readonly #env: StepEnvironment;
  readonly #run: RunContext;

  constructor(env: StepEnvironment, run: RunContext) {
    this.#env = env;
    this.#run = run;
  }

  async run(step: PlannedStep, direction: Direction, position: StepPosition): Promise<StepResult> {
    const { events } = this.#env;
    const { change } = step;
    const fn = direction === 'commit' ? change.commit : change.rollback;
    if (fn === undefined) throw new Error(`planned ${direction} of ${change.id} has no function`);
    const refused = this.#run.refused.get(change.id);
    const transactional = step.transactional && refused === undefined;
    events.emit('change:start', { runId: this.#run.runId, changeId: change.id, stage: change.stage, direction, transactional, index: position.index, total: this.#run.total });
    if (direction === 'rollback') events.emit('rollback:start', { runId: this.#run.runId, changeId: change.id, reason: 'requested' });
    // Refused in a transaction group earlier in this run: straight to running without one.
    if (refused !== undefined) events.emit('change:fallback', { runId: this.#run.runId, changeId: change.id, direction, reason: refused });
    if (!transactional) return this.#withoutTransaction(step, direction, fn, position, refused);

    const attempt = await this.#inTransaction(step, direction, fn);
    if (attempt.refused === undefined) return attempt.result;
    this.#run.refused.set(change.id, attempt.refused);
    events.emit('change:fallback', { runId: this.#run.runId, changeId: change.id, direction, reason: attempt.refused });
    return this.#withoutTransaction(step, direction, fn, { ...position, runningRecorded: false, markNext: undefined }, attempt.refused);
  }

  /**
   * Calls a change function with its context (timeout, Ctrl-C, `ctx.batches`, the write guard);
   * in a transaction `ctx.db` and `ctx.client` are bound to `session`. `log` replaces the event
   * stream for a change whose lines must wait (a transaction group).
   */
  execute(change: ChangeUnit, direction: Direction, fn: ChangeFunction, session: ClientSession | undefined, log?: (message: string) => void): Promise<void> {
    const { tracker, events, client, db } = this.#env;
    const runId = this.#run.runId;
    return executeChange({
      // A commit's `expect` and `verify` are part of it: they fail it before its transaction commits.
      fn: direction === 'commit' ? checkedCommit(change, fn, (counted) => WriteCounter.of(client).count(db.databaseName, counted, this.#env.ownNamespaces)) : fn,
      changeId: change.id,
      runId,
      db,
      client,
      session,
      services: this.#run.services(),
      timeoutMs: change.timeoutMs ?? this.#run.timeoutMs,
      interrupt: this.#run.interrupt,
      log: log ?? ((message) => events.emit('change:log', { runId, changeId: change.id, message })),
      watchWrites: () => WriteGuard.of(client).watch(db.databaseName, session, this.#env.ownNamespaces),
      batches: change.metadata.batches
        ? (signal) =>
            batchWalker({
              changeId: change.id,
              db,
              client,
              tracker,
              transactions: this.#env.batchTransactions && (change.transaction ?? this.#env.transaction) !== 'never',
              checkpointed: direction === 'commit',
              signal,
              maxReplicationLagMs: this.#run.maxReplicationLagMs,
              progress: (progress) => events.emit('change:progress', { runId, changeId: change.id, ...progress }),
            })
        : undefined,
    });
  }

  /** The fields a success record adds: its duration, and for a commit its place in the history. */
  successRecord(writes: StepWrites, direction: Direction, durationMs = writes.elapsed()): { status: RecordStatus; extra: { durationMs: number; appliedSeq?: number } } {
    return direction === 'commit' ? { status: 'applied', extra: { durationMs, appliedSeq: this.#run.nextSeq() } } : { status: 'rolled_back', extra: { durationMs } };
  }

  async #inTransaction(step: PlannedStep, direction: Direction, fn: ChangeFunction): Promise<{ result: StepResult; refused?: undefined } | { refused: string }> {
    const { tracker, client } = this.#env;
    const { change } = step;
    const writes = stepWrites({ change, direction, before: step.record, runId: this.#run.runId, targetDb: tracker.targetDb, transactional: true });
    let phase: 'change' | 'record' = 'change';
    let committed = false;
    try {
      await inTransaction(client, this.#run.interrupt, async (session) => {
        phase = 'change';
        await this.execute(change, direction, fn, session);
        phase = 'record';
        // Internal mode: the record and its audit event commit with the change, or not at all.
        if (tracker.sharesTargetClient) {
          const success = this.successRecord(writes, direction);
          await tracker.record(writes.record(success.status, success.extra), writes.audit('success'), session);
        }
        // Lost the lease while the change ran: another runner may be at work, so abort instead of committing.
        this.#run.assertHeld();
      });
      committed = true;
      if (!tracker.sharesTargetClient) {
        const success = this.successRecord(writes, direction);
        await tracker.record(writes.record(success.status, success.extra), writes.audit('success'));
      }
      return { result: this.#succeeded(change, direction, true, writes) };
    } catch (thrown) {
      // Nothing of the attempt stayed (aborted, and no write escaped it): `auto` runs it again without a transaction.
      const refused = committed || phase !== 'change' || thrown instanceof WriteOutsideTransactionError ? undefined : refusedInTransaction(thrown);
      if (refused !== undefined && step.mode === 'auto') return { refused };
      return { result: await this.#failed(step, direction, thrown, { transactional: true, writes, done: committed, phase, fn }) };
    }
  }

  async #withoutTransaction(step: PlannedStep, direction: Direction, fn: ChangeFunction, position: StepPosition, fallback: string | undefined): Promise<StepResult> {
    const { tracker } = this.#env;
    const { change } = step;
    const writes = stepWrites({ change, direction, before: step.record, runId: this.#run.runId, targetDb: tracker.targetDb, transactional: false, fallback });
    let phase: 'marker' | 'change' | 'record' = 'marker';
    let done = false;
    try {
      // Recorded first so that a crash in the middle shows as `running`, never as nothing.
      if (!position.runningRecorded) await tracker.record(writes.record('running'), undefined);
      phase = 'change';
      await this.execute(change, direction, fn, undefined);
      done = true;
      phase = 'record';
      const success = this.successRecord(writes, direction);
      const applied = { change: writes.record(success.status, success.extra), audit: writes.audit('success') };
      const next = position.markNext;
      // One command: the record, its audit event (kept in the record before MongoDB 8.0, see
      // Tracker.recordAllAuditLater) and the next change's `running` marker.
      await tracker.recordAllAuditLater(next === undefined ? [applied] : [applied, { change: runningMarker(next, this.#run.runId) }]);
      return this.#succeeded(change, direction, false, writes);
    } catch (thrown) {
      return this.#failed(step, direction, thrown, { transactional: false, writes, done, phase, fn });
    }
  }

  #succeeded(change: ChangeUnit, direction: Direction, transactional: boolean, writes: StepWrites): StepResult {
    const { events } = this.#env;
    const runId = this.#run.runId;
    const durationMs = writes.elapsed();
    events.emit('change:success', { runId, changeId: change.id, direction, transactional, durationMs });
    if (direction === 'rollback') events.emit('rollback:success', { runId, changeId: change.id, reason: 'requested', durationMs });
    return { outcome: changeOutcome(change, transactional, 'done', { durationMs }), error: undefined };
  }

  /** Records a failed step (record and audit event with the same stored error) and reports it. */
  async #failed(step: PlannedStep, direction: Direction, thrown: unknown, facts: FailureFacts): Promise<StepResult> {
    const { tracker } = this.#env;
    const { change } = step;
    const { transactional, writes } = facts;
    if (thrown instanceof LockLostError) {
      // The transaction was aborted and the lock may be someone else's: write no record
      // (it could overwrite theirs), only the append-only audit event.
      const stored = recordedError(thrown);
      await tracker.audit(writes.audit('failure', stored)).catch(() => undefined);
      return this.#reportFailure(change, direction, transactional, writes, stored, thrown);
    }
    if (facts.done && direction === 'commit') {
      // The change ran, its record did not: `failed` would make the next commit run it again.
      // Leave it `running`, which status shows as interrupted and commit refuses until repair.
      const reason = `it ran, but its history record could not be written (${messageOf(thrown)}); it is left 'running': check its effect, then run delta repair`;
      const stored = recordedError(thrown, { message: reason });
      await tracker.record(writes.record('running'), writes.audit('failure', stored)).catch(() => undefined);
      return this.#reportFailure(change, direction, transactional, writes, stored, new ChangeFailedError(`${change.id} failed: ${reason}`, change.id, { cause: thrown }));
    }
    if (facts.phase === 'marker') {
      // Nothing of the change ran: its record stays as it was (a marker the server did write
      // after all says `running`, which blocks until someone looks), the failure is only an event.
      const stored = recordedError(thrown, { message: `its running marker could not be written, so it did not run: ${messageOf(thrown)}` });
      await tracker.audit(writes.audit('failure', stored)).catch(() => undefined);
      return this.#reportFailure(
        change,
        direction,
        transactional,
        writes,
        stored,
        new ChangeFailedError(`${change.id} ${direction === 'commit' ? 'failed' : 'rollback failed'}: ${stored.message}`, change.id, { cause: thrown }),
      );
    }
    const compensation = await this.#compensate(step, direction, facts);
    const interrupted = thrown instanceof InterruptedError;
    const reason =
      (interrupted ? `interrupted (Ctrl-C)${transactional ? '; its transaction was aborted' : ''}` : messageOf(thrown)) +
      (transactional && !interrupted ? prefixed(abortedTransactionAdvice(thrown)) : '') +
      (compensation.compensated === true ? ' (its rollback ran to compensate)' : '') +
      (compensation.error === undefined ? '' : `; its compensating rollback also failed: ${messageOf(compensation.error)}`);
    const escaped = thrown instanceof WriteOutsideTransactionError;
    // A rollback that failed without a transaction (or whose writes escaped one) may be half done: it blocks further rollbacks.
    const halfReverted = direction === 'rollback' && (!transactional || escaped);
    const stored = recordedError(thrown, {
      message: reason,
      ...(compensation.compensated === undefined ? {} : { compensated: compensation.compensated }),
      ...(halfReverted ? { during: 'rollback' as const } : {}),
    });
    const error: DeltaError = interrupted
      ? new InterruptedError(`${change.id} was interrupted${transactional ? ' and its transaction aborted' : ''}`, { cause: thrown })
      : thrown instanceof UsageError
        ? // delta refused how the change called it (ctx.batches options): bad input, which exits 2 like a bad file.
          new UsageError(`${change.id} ${direction === 'commit' ? 'failed' : 'rollback failed'}: ${reason}`, { cause: thrown })
        : new ChangeFailedError(`${change.id} ${direction === 'commit' ? 'failed' : 'rollback failed'}: ${reason}`, change.id, { cause: thrown });
    try {
      if (direction === 'rollback' && !halfReverted) {
        // The aborted transaction left the change applied: its record stays as it was.
        await tracker.audit(writes.audit('failure', stored));
      } else {
        await tracker.record(writes.record('failed', { durationMs: writes.elapsed(), error: stored }), writes.audit('failure', stored));
      }
    } catch {
      // The database is gone: the record stays `running` (non-transactional) or absent
      // (transaction aborted), both of which `status` reports truthfully.
    }
    return this.#reportFailure(change, direction, transactional, writes, stored, error);
  }

  /** A commit that failed without a transaction runs its rollback to undo what it did (unless --no-auto-rollback). */
  async #compensate(step: PlannedStep, direction: Direction, facts: FailureFacts): Promise<{ compensated?: boolean; error?: unknown }> {
    const { change } = step;
    // A batched change is not undone: its checkpoints say how far it got, and the next commit resumes it.
    if (facts.transactional || direction !== 'commit' || facts.phase !== 'change' || !this.#env.autoRollback || change.rollback === undefined || change.metadata.batches) return {};
    const { events } = this.#env;
    const runId = this.#run.runId;
    const started = performance.now();
    const reported = (reason: RollbackReason) => ({ runId, changeId: change.id, reason, durationMs: Math.round(performance.now() - started) });
    events.emit('rollback:start', { runId, changeId: change.id, reason: 'compensation' });
    try {
      await this.execute(change, 'rollback', change.rollback, undefined);
      events.emit('rollback:success', reported('compensation'));
      return { compensated: true };
    } catch (error) {
      events.emit('rollback:failure', { ...reported('compensation'), error: recordedError(error) });
      return { compensated: false, error };
    }
  }

  #reportFailure(change: ChangeUnit, direction: Direction, transactional: boolean, writes: StepWrites, stored: RecordedError, error: DeltaError): StepResult {
    const { events } = this.#env;
    const runId = this.#run.runId;
    const durationMs = writes.elapsed();
    events.emit('change:failure', { runId, changeId: change.id, direction, transactional, durationMs, error: stored, compensated: stored.compensated });
    if (direction === 'rollback') events.emit('rollback:failure', { runId, changeId: change.id, reason: 'requested', durationMs, error: stored });
    return { outcome: changeOutcome(change, transactional, 'failed', { durationMs, error: stored, compensated: stored.compensated }), error };
  }
}

/** `; <text>`, or nothing. */
function prefixed(text: string | undefined): string {
  return text === undefined ? '' : `; ${text}`;
}
