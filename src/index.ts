import type { Sandbox, SandboxOptions } from './sandbox/index.js';

/**
 * mongo-delta: versioned, tracked, locked and reversible changes for MongoDB.
 * The programmatic API; the `delta` CLI is built on exactly this.
 */
export type { CreateDeltaOptions, Delta, UnlockResult } from './api/create-delta.js';
export type { RehearseOptions, RehearseResult } from './api/rehearse-action.js';
export type { RehearsalDifference } from './rehearse/rehearsal.js';
export type { ImportMigrateMongoOptions, ImportMigrateMongoResult, PendingFile, PlannedRecord } from './adopt/index.js';
export { createDelta } from './api/create-delta.js';
export type { BackupCommandResult, BackupOptions, RestoreOptions } from './api/backup-actions.js';
export type { FleetCommitOptions, FleetOptions, FleetRollbackOptions, FleetStatusOptions } from './api/fleet-actions.js';
export type { FleetRunResult, FleetStatusResult, FleetStatusTarget, FleetTargetResult } from './fleet/index.js';
export type { BackupListResult, BackupManifest, BackupProgress, BackupReason, BackupResult, BackupSummary, RestoredCollection, RestoreResult } from './backup/index.js';
export type { DeltaConfig, DeltaConfigInput } from './config/index.js';
export { defineConfig, redact } from './config/index.js';
export { checksumOf } from './loader/index.js';
export type {
  ChangeState,
  CommitOptions,
  DeltaEventName,
  DeltaEvents,
  DeltaListener,
  RollbackOptions,
  StatusEntry,
  StatusResult,
  BaselineOptions,
  MaintenanceAction,
  MaintenanceResult,
  RepairOptions,
  ValidationProblem,
  ValidationReport,
  BackupDone,
  BackupRequest,
  RunBackup,
  PreviewChange,
  PreviewOptions,
  PreviewResult,
  PreviewWrite,
} from './runner/index.js';
export type { AuditEvent, AuditQuery, BatchCheckpoint, BatchRanges, HistoryEntry, HistoryRecord, RangeCheckpoint, RecordStatus, Tracker } from './tracker/index.js';
export type { DeltaErrorCode } from './errors.js';
export {
  DeltaError,
  DeltaErrorCodes,
  UsageError,
  ConfigError,
  ChangeFileError,
  UnknownChangeError,
  TransactionUnsupportedError,
  RollbackUnavailableError,
  ChangeFailedError,
  HookFailedError,
  DatabaseError,
  LockHeldError,
  LockLostError,
  DriftError,
  ValidationError,
  InterruptedError,
  BackupFailedError,
  BackupInvalidError,
  RestoreRefusedError,
  FleetFailedError,
} from './errors.js';
export type {
  BatchContext,
  BatchOptions,
  BatchWalk,
  BatchWalkResult,
  ChangeContext,
  ChangeDefinition,
  ChangeExpectations,
  ChangeFileRole,
  ChangeFunction,
  ChangeMetadata,
  ChangeOutcome,
  ChangeUnit,
  CollectionLimits,
  CompanionFile,
  CountLimit,
  DdlAction,
  DeltaHooks,
  Direction,
  HookChange,
  LockHolder,
  OperationDefinition,
  OperationFunction,
  OperationRegistration,
  ProgramCommand,
  RecoveryStrategy,
  RepeatMode,
  RunHookContext,
  RunOutcome,
  RunResult,
  ServicesContext,
  ServicesFactory,
  StandardSchemaV1,
  TransactionMode,
  VerifyFunction,
  WriteCountKind,
  WriteCounts,
} from './vocabulary/index.js';
// Change file formats are "runners" to users (the configuration's `runners`): their public names.
export type { ChangeFormat as ChangeRunner, FormatFile as RunnerFile, FormatLoadContext as RunnerLoadContext, FormatMatch as RunnerMatch } from './vocabulary/index.js';
/** Metadata with every default (versioned, no author, tags or environments): for your own runners' changes. */
export { NO_METADATA } from './vocabulary/index.js';
export { defineMigration, defineOperation } from './vocabulary/index.js';

/**
 * Starts the in-memory MongoDB-compatible sandbox server (tests, demos).
 * Loaded on first call so applications that never use it do not pay for it.
 */
export async function startSandbox(options?: SandboxOptions): Promise<Sandbox> {
  const sandbox = await import('./sandbox/index.js');
  return sandbox.startSandbox(options);
}
export type { Sandbox, SandboxOptions };
