import { performance } from 'node:perf_hooks';
import { storedMetadata } from '../loader/change-metadata.js';
import { auditEvent } from '../tracker/audit-event.js';
import type { AuditEvent, HistoryEntry, RecordStatus } from '../tracker/records.js';
import type { RecordChange } from '../tracker/tracker.js';
import type { ChangeUnit, Direction, RecordedError } from '../vocabulary/index.js';

/** The history writes of one change's step: its record's states and its audit events, timed from its start. */
export interface StepWrites {
  /** Milliseconds since the step started. */
  elapsed(): number;
  record(status: RecordStatus, extra?: Partial<RecordChange>): RecordChange;
  /**
   * The step's audit event. `error` is the error as recorded (built once, by the caller, for the
   * record and the event alike); `finished` when the event is written later than the change ended
   * (a group's records, written at its commit).
   */
  audit(outcome: 'success' | 'failure', error?: RecordedError, finished?: Finished): AuditEvent;
}

/** When a change ended, and how long it took. */
export interface Finished {
  readonly at: Date;
  readonly durationMs: number;
}

export interface StepFacts {
  readonly change: ChangeUnit;
  readonly direction: Direction;
  /** The change's record before the step (a rollback keeps the checksum it was applied with). */
  readonly before: HistoryEntry | undefined;
  readonly runId: string;
  readonly targetDb: string;
  readonly transactional: boolean;
  /** Why a change of mode `auto` runs without a transaction after all: what the server refused in one. */
  readonly fallback?: string | undefined;
}

export function stepWrites(facts: StepFacts): StepWrites {
  const { change, direction, runId, transactional } = facts;
  const started = performance.now();
  const elapsed = () => Math.round(performance.now() - started);
  return {
    elapsed,
    record: (status, extra = {}) => ({
      ...changeRecord(change, status, runId, transactional),
      // A rollback keeps the checksum the change was applied with.
      ...(direction === 'rollback' && facts.before !== undefined ? { checksum: facts.before.checksum } : {}),
      ...extra,
    }),
    audit: (outcome, error, finished) =>
      auditEvent({
        runId,
        changeId: change.id,
        ...(change.stage === undefined ? {} : { stage: change.stage }),
        ...storedMetadata(change.metadata),
        targetDb: facts.targetDb,
        ...(change.runner === undefined ? {} : { runner: change.runner }),
        action: direction,
        outcome,
        at: finished?.at ?? new Date(),
        durationMs: finished?.durationMs ?? elapsed(),
        transactional,
        ...(error === undefined ? {} : { error }),
        ...details(change, facts.fallback),
      }),
  };
}

/** What an event says beyond its fields: the checksum a repeatable change ran with, a transaction fallback. */
function details(change: ChangeUnit, fallback: string | undefined): Pick<AuditEvent, 'details'> {
  const facts = {
    // Each application of a repeatable change stays in the audit log with the checksum it ran with.
    ...(change.metadata.repeat === 'once' ? {} : { checksum: change.checksum }),
    ...(fallback === undefined ? {} : { transactionFallback: fallback }),
  };
  return Object.keys(facts).length === 0 ? {} : { details: facts };
}

/** The `running` marker of a change about to run without a transaction. */
export function runningMarker(change: ChangeUnit, runId: string): RecordChange {
  return changeRecord(change, 'running', runId, false);
}

/** A change's record in a state, as of now. */
function changeRecord(change: ChangeUnit, status: RecordStatus, runId: string, transactional: boolean): RecordChange {
  return {
    changeId: change.id,
    status,
    checksum: change.checksum,
    file: change.file,
    description: change.description,
    stage: change.stage,
    metadata: storedMetadata(change.metadata),
    runner: change.runner,
    runId,
    transactional,
    at: new Date(),
  };
}
