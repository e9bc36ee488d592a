export type { DeltaEvents, DeltaEventName, DeltaListener, Direction, RunOutcome } from './events.js';
export { DeltaEventEmitter } from './events.js';
export type { ChangeState, ChangeStatus, CommitPlanOptions, RollbackPlanOptions, RollbackTarget } from './plan.js';
export { CHANGE_STATES, assertRevertible, computeStatus, planCommit, planRollback } from './plan.js';
export type { ChangeOutcome, RunResult, StatusEntry, StatusResult } from './results.js';
export type { CommitOptions, RollbackOptions, RunControl, RunLock, RunnerOptions } from './runner.js';
export { Runner } from './runner.js';
export { statusReport } from './status-report.js';
