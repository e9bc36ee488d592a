// The vocabulary every layer of delta shares: what a change is, how it runs and ends, what
// configurations register (formats, operations, hooks, services), and the naming rules. It
// imports nothing of delta's but the error types, so config, loader, tracker, lock and runner can
// all depend on it without depending on each other.
export type { AuditAction } from './audit-actions.js';
export { AUDIT_ACTIONS } from './audit-actions.js';
export type {
  BatchContext,
  BatchOptions,
  BatchWalk,
  BatchWalkResult,
  ChangeCatalog,
  ChangeContext,
  ChangeDefinition,
  ChangeFunction,
  ChangeRef,
  ChangeSource,
  ChangeUnit,
  KnownRecord,
  LegacyChangeFunction,
  StageConfig,
  StageSpec,
} from './change.js';
export { DEFAULT_STAGE_CONCURRENCY, defineMigration } from './change.js';
export type { ChangeExpectations, CollectionLimits, CountLimit, DdlAction, VerifyFunction, WriteCountKind, WriteCounts } from './expectations.js';
export { WRITE_COUNT_KINDS } from './expectations.js';
export type { ChangeFileRole, ChangeFormat, CompanionFile, FormatFile, FormatLoadContext, FormatMatch, FormatRegistry, ProgramCommand } from './formats.js';
export type { DeltaHooks, HookChange, HookName, RunHookContext, ServicesContext, ServicesFactory } from './hooks.js';
export { HOOK_NAMES } from './hooks.js';
export type { LockHolder } from './lock-holder.js';
export type { ChangeFilter, ChangeMetadata, RecoveryStrategy, RepeatMode, StoredMetadata } from './metadata.js';
export { NO_METADATA, RECOVERY_STRATEGIES } from './metadata.js';
export { DATABASE_NAME_PATTERN, DATABASE_NAME_RULE, METADATA_NAME_PATTERN, STAGE_NAME_PATTERN, isDatabaseName } from './names.js';
export type {
  BuiltInOperationName,
  OperationDefinition,
  OperationFunction,
  OperationRegistration,
  OperationRegistry,
  StandardIssue,
  StandardResult,
  StandardSchemaProps,
  StandardSchemaV1,
  TemplatePermissions,
} from './operations.js';
export { BUILT_IN_OPERATIONS, OPERATION_NAME_PATTERN, defineOperation, isOperationRegistration } from './operations.js';
export type { ChangeOutcome, Direction, RecordedError, RunOutcome, RunResult } from './results.js';
export type { TransactionMode } from './transaction-mode.js';
export { TRANSACTION_MODES, isTransactionMode, transactionModeProblem } from './transaction-mode.js';
export { DEFAULT_ID_PATTERN, ID_PLACEHOLDER, idPatternProblem } from './id-pattern.js';
export type { WaveSize } from './waves.js';
export { parseFailureRate, parseWaves, waveCounts } from './waves.js';
export type { BetweenWavesContext, BetweenWavesHook } from './waves.js';
