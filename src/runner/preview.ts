import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import type { ClientSession, Db, MongoClient } from 'mongodb';
import type { Deployment } from '../connection/connect.js';
import type { DeltaError } from '../errors.js';
import { ChangeFailedError, InterruptedError, isDeltaError, messageOf } from '../errors.js';
import type { Lease } from '../lock/under-lock.js';
import { underLock } from '../lock/under-lock.js';
import type { HistoryEntry } from '../tracker/records.js';
import type { Tracker } from '../tracker/tracker.js';
import { abortedTransactionAdvice, refusedInTransaction } from './driver-errors.js';
import { executeChange } from './execute-change.js';
import { brokenExpectations } from './expectations.js';
import type { CommitPlanOptions } from './plan.js';
import { planCommit } from './plan.js';
import type { PlannedStep } from './planned-step.js';
import { planStep } from './planned-step.js';
import { startTransaction } from './transactions.js';
import type { WriteTally } from './write-counter.js';
import { WriteCounter } from './write-counter.js';
import { WriteGuard } from './write-guard.js';
import type { ChangeSource, DdlAction, TransactionMode, WriteCounts } from '../vocabulary/index.js';

/** What a preview needs of the target: the same collaborators as a Runner. */
export interface PreviewEnvironment {
  readonly client: MongoClient;
  readonly db: Db;
  readonly deployment: Deployment;
  readonly tracker: Tracker;
  readonly lock: (command: string, onLost: (reason: string) => void) => Lease;
  readonly transaction: TransactionMode;
  readonly ownNamespaces?: readonly string[];
}

export interface PreviewOptions extends CommitPlanOptions {
  /** Ctrl-C: the preview's transaction is aborted at once. */
  readonly interrupt?: AbortSignal;
  /** Default per-change time limit (a change's own `timeoutMs` wins). */
  readonly timeoutMs?: number;
}

/** One collection's counts in a preview. */
export interface PreviewWrite extends WriteCounts {
  readonly collection: string;
}

/** What one pending change did in the preview, or why it was not previewed. */
export interface PreviewChange {
  readonly id: string;
  readonly previewed: boolean;
  /** Why it was not previewed. */
  readonly reason?: string;
  readonly writes: readonly PreviewWrite[];
  readonly ddl: readonly DdlAction[];
  /** Its declared limits that it broke (`expect`): the commit would fail it. */
  readonly expectations?: readonly string[];
  /** Why the commit would fail it (its error, a broken limit, its `verify`): the preview stops after it. */
  readonly failure?: string;
  readonly durationMs?: number;
}

export interface PreviewResult {
  readonly targetDb: string;
  readonly changes: readonly PreviewChange[];
  /** Why the preview ended before the last change (the time limit, a change that would fail), if it did. */
  readonly stopped?: string;
  /** A change would fail, or the preview was interrupted: the CLI's exit code. */
  readonly error?: DeltaError;
}

/** mongod's default transactionLifetimeLimitSeconds. */
const DEFAULT_LIFETIME_SECONDS = 60;

/**
 * Runs the pending changes (the plan `commit` would run, with its filters) inside one
 * transaction that is always aborted, and reports what each did, counted from the server's
 * replies: each change sees the effects of those before it, nothing is written (no history, no
 * audit event), and the lock keeps other runs out meanwhile. Changes that cannot run in a
 * transaction are listed with the reason; the preview stops before the server's transaction
 * lifetime limit rather than hold its locks longer.
 */
export async function previewCommit(env: PreviewEnvironment, source: ChangeSource, options: PreviewOptions = {}): Promise<PreviewResult> {
  const { tracker } = env;
  const rules = { direction: 'commit' as const, transaction: env.transaction, deployment: env.deployment, targetDb: env.db.databaseName };
  const plan = async (history: readonly HistoryEntry[]): Promise<PlannedStep[]> => {
    const catalog = await source.open(history);
    const planned = planCommit(catalog.changes, history, options, catalog.stages);
    const changes = await Promise.all(planned.pending.map((ref) => catalog.load(ref)));
    return changes.map((change) => planStep(change, undefined, rules));
  };
  const lock = env.lock('preview', () => undefined);
  return underLock<PlannedStep[], PreviewResult>(lock, {
    signal: options.interrupt,
    preview: async () => plan(await tracker.history()),
    finishEarly: (steps) => (steps.length === 0 ? { targetDb: tracker.targetDb, changes: [] } : undefined),
    plan: async () => plan(await tracker.history()),
    work: (steps) => new Preview(env, options, lock).run(steps),
  });
}

/** One preview: its session, its deadline, and what it found so far. */
class Preview {
  readonly #env: PreviewEnvironment;
  readonly #options: PreviewOptions;
  readonly #lock: Lease;
  readonly #runId = randomUUID();
  readonly #found: PreviewChange[] = [];
  /** Steps whose effect the current transaction holds, to run again when it has to be restarted. */
  readonly #inTransaction: PlannedStep[] = [];

  constructor(env: PreviewEnvironment, options: PreviewOptions, lock: Lease) {
    this.#env = env;
    this.#options = options;
    this.#lock = lock;
  }

  async run(steps: readonly PlannedStep[]): Promise<PreviewResult> {
    const { client, tracker } = this.#env;
    const limitSeconds = await lifetimeLimitSeconds(client);
    // A margin before the server's own limit: the preview ends itself, and says so.
    const deadline = performance.now() + limitSeconds * 900;
    const timeLimit = `the preview stopped at the transaction time limit (transactionLifetimeLimitSeconds, ${limitSeconds} s) rather than hold its locks longer`;
    const session = client.startSession();
    let stopped: string | undefined;
    let error: DeltaError | undefined;
    try {
      startTransaction(session);
      for (const step of steps) {
        const { change } = step;
        if (stopped !== undefined) {
          this.#found.push(notPreviewed(change.id, stopped));
          continue;
        }
        if (this.#options.interrupt?.aborted === true) {
          error = new InterruptedError('preview interrupted (Ctrl-C); its transaction was aborted');
          stopped = 'interrupted (Ctrl-C)';
          this.#found.push(notPreviewed(change.id, stopped));
          continue;
        }
        this.#lock.assertHeld();
        const unfit = whyNotPreviewed(step, this.#env.deployment);
        if (unfit !== undefined) {
          this.#found.push(notPreviewed(change.id, unfit));
          continue;
        }
        const left = deadline - performance.now();
        if (left <= 0) {
          stopped = timeLimit;
          this.#found.push(notPreviewed(change.id, stopped));
          continue;
        }
        const started = performance.now();
        const ran = await this.#runOne(step, session, left);
        const durationMs = Math.round(performance.now() - started);
        if (ran.kind === 'done') {
          this.#inTransaction.push(step);
          this.#found.push({ id: change.id, previewed: true, ...counts(ran.tally), durationMs });
          continue;
        }
        if (ran.kind === 'refused') {
          // The server refused an operation in a transaction: `commit` would run this change
          // without one, where a preview cannot follow it. The transaction is gone; the changes
          // before it run again in a new one, so that the next ones still see their effects.
          this.#found.push(
            notPreviewed(change.id, `the server refuses an operation of it inside a transaction (${ran.message}); commit would run it without one, and later changes are previewed without its effect`),
          );
          const restarted = await this.#restart(session);
          if (restarted !== undefined) stopped = restarted;
          continue;
        }
        if (ran.kind === 'time-limit') {
          stopped = timeLimit;
          this.#found.push(notPreviewed(change.id, stopped));
          continue;
        }
        if (ran.kind === 'interrupted') {
          error = new InterruptedError('preview interrupted (Ctrl-C); its transaction was aborted');
          stopped = 'interrupted (Ctrl-C)';
          this.#found.push(notPreviewed(change.id, stopped));
          continue;
        }
        this.#found.push({ id: change.id, previewed: true, ...counts(ran.tally), failure: ran.message, ...(ran.broken.length > 0 ? { expectations: ran.broken } : {}), durationMs });
        error = new ChangeFailedError(`${change.id} would fail: ${ran.message}`, change.id, { cause: ran.cause });
        stopped = `commit would stop at ${change.id}`;
      }
    } finally {
      // Always aborted: nothing of the preview stays.
      if (session.inTransaction()) await session.abortTransaction().catch(() => undefined);
      await session.endSession().catch(() => undefined);
    }
    return { targetDb: tracker.targetDb, changes: this.#found, ...(stopped === undefined ? {} : { stopped }), ...(error === undefined ? {} : { error }) };
  }

  /** Aborts the transaction and starts another holding the effects of the changes previewed so far; a reason to stop if it cannot. */
  async #restart(session: ClientSession): Promise<string | undefined> {
    if (session.inTransaction()) await session.abortTransaction().catch(() => undefined);
    startTransaction(session);
    for (const step of this.#inTransaction) {
      const again = await this.#runOne(step, session, undefined);
      if (again.kind !== 'done') return `${step.change.id} could not be run again after a transaction restart: ${again.kind === 'failed' ? again.message : again.kind}`;
    }
    return undefined;
  }

  async #runOne(step: PlannedStep, session: ClientSession, leftMs: number | undefined): Promise<Ran> {
    const { client, db } = this.#env;
    const { change } = step;
    const own = this.#env.ownNamespaces ?? [];
    const limit = change.timeoutMs ?? this.#options.timeoutMs;
    const byDeadline = leftMs !== undefined && (limit === undefined || leftMs < limit);
    let tally: WriteTally = { writes: new Map(), ddl: [] };
    let broken: string[] = [];
    try {
      await executeChange({
        fn: async (context) => {
          const stop = WriteCounter.of(client).count(db.databaseName, session, own);
          try {
            await change.commit(context);
          } finally {
            tally = stop();
          }
          broken = brokenExpectations(change.expect, tally);
          if (broken.length > 0) throw new ChangeFailedError(`expectation not met: ${broken.join('; ')}`, change.id);
          if (change.verify === undefined) return;
          try {
            await change.verify(context);
          } catch (verifyError) {
            throw new ChangeFailedError(`verify failed: ${messageOf(verifyError)}`, change.id, { cause: verifyError });
          }
        },
        changeId: change.id,
        runId: this.#runId,
        db,
        client,
        session,
        // A preview reaches no other system: changes that need a service fail in it, visibly.
        services: {},
        timeoutMs: byDeadline ? Math.max(1, Math.floor(leftMs)) : limit,
        interrupt: this.#options.interrupt,
        log: () => undefined,
        watchWrites: () => WriteGuard.of(client).watch(db.databaseName, session, own),
      });
      return { kind: 'done', tally };
    } catch (thrown) {
      if (thrown instanceof InterruptedError) return { kind: 'interrupted' };
      if (abortedTransactionAdvice(thrown) !== undefined || (byDeadline && isDeltaError(thrown) && /^timed out after/.test(thrown.message))) return { kind: 'time-limit' };
      const refused = refusedInTransaction(thrown);
      // `always` never falls back: commit would fail it with the server's error.
      if (refused !== undefined && step.mode === 'auto') return { kind: 'refused', message: refused };
      return { kind: 'failed', message: messageOf(thrown), broken, tally, cause: thrown };
    }
  }
}

type Ran =
  | { readonly kind: 'done'; readonly tally: WriteTally }
  | { readonly kind: 'refused'; readonly message: string }
  | { readonly kind: 'time-limit' }
  | { readonly kind: 'interrupted' }
  | { readonly kind: 'failed'; readonly message: string; readonly broken: string[]; readonly tally: WriteTally; readonly cause: unknown };

/** Why a change cannot be previewed in the preview's transaction, or undefined. */
function whyNotPreviewed(step: PlannedStep, deployment: Deployment): string | undefined {
  const { change } = step;
  if (change.metadata.batches) return 'batches: true commits each batch in its own transaction';
  if (change.metadata.sideEffects) return 'sideEffects: true acts on systems outside MongoDB, which a preview must not touch';
  if (step.mode === 'never') return `it runs without a transaction (transaction: 'never'${change.runner === undefined || change.runner === 'driver' ? '' : `, a ${change.runner} change`})`;
  if (!deployment.transactions) return 'the server has no transactions (a standalone server)';
  return undefined;
}

function notPreviewed(id: string, reason: string): PreviewChange {
  return { id, previewed: false, reason, writes: [], ddl: [] };
}

function counts(tally: WriteTally): { writes: PreviewWrite[]; ddl: readonly DdlAction[] } {
  return { writes: [...tally.writes].map(([collection, n]) => ({ collection, ...n })), ddl: tally.ddl };
}

/** The server's transactionLifetimeLimitSeconds, or its default where the server will not say. */
async function lifetimeLimitSeconds(client: MongoClient): Promise<number> {
  try {
    const reply = await client.db('admin').command({ getParameter: 1, transactionLifetimeLimitSeconds: 1 });
    const seconds = Number(reply.transactionLifetimeLimitSeconds);
    return Number.isFinite(seconds) && seconds > 0 ? seconds : DEFAULT_LIFETIME_SECONDS;
  } catch {
    // Not allowed to ask (no getParameter privilege): assume the default.
    return DEFAULT_LIFETIME_SECONDS;
  }
}
