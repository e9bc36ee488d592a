// The programmatic API's types: what createDelta() takes and the Delta it returns.
import type { MongoClient } from 'mongodb';
import type { ConfigFlags, DeltaConfig } from '../config/resolve-config.js';
import type { DeltaConfigInput } from '../config/schema.js';
import type { BaselineOptions, MaintenanceResult, RepairOptions, ValidationReport } from '../runner/maintenance.js';
import type { AuditEvent } from '../tracker/records.js';
import type { AuditQuery } from '../tracker/tracker.js';
import type { DeltaEventName, DeltaListener } from '../runner/events.js';
import type { StatusResult } from '../runner/results.js';
import type { CommitOptions, RollbackOptions } from '../runner/runner.js';
import type { PreviewOptions, PreviewResult } from '../runner/preview.js';
import type { RehearseOptions, RehearseResult } from './rehearse-action.js';
import type { ImportMigrateMongoOptions, ImportMigrateMongoResult } from '../adopt/index.js';
import type { BackupListResult, RestoreResult } from '../backup/index.js';
import type { BackupCommandResult, BackupOptions, RestoreOptions } from './backup-actions.js';
import type { FleetCommitOptions, FleetRollbackOptions, FleetStatusOptions } from './fleet-actions.js';
import type { FleetRunResult, FleetStatusResult } from '../fleet/index.js';
import type { ChangeDefinition, ChangeFilter, LockHolder, RunResult } from '../vocabulary/index.js';

export interface CreateDeltaOptions {
  /** Configuration given in code; when set, no configuration file is searched. */
  readonly config?: DeltaConfigInput;
  /** Command-line values (they win over everything). */
  readonly flags?: ConfigFlags;
  /** Environment to read `DELTA_*` variables from; defaults to `process.env`. */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** Where relative paths and the configuration file are looked up; defaults to `process.cwd()`. */
  readonly cwd?: string;
  /** An application's own client, shared instead of opening one (delta never closes it). */
  readonly client?: MongoClient;
  /** Changes given in memory instead of a folder of files; each needs an `id`. */
  readonly changes?: readonly ChangeDefinition[];
}

export interface Delta {
  /** Applies pending changes. Expected failures come back in the result's `error`. */
  commit(options?: CommitOptions): Promise<RunResult>;
  /**
   * Runs the pending changes `commit` would run (same filters) in one transaction that is always
   * aborted, under the lock, and reports what each did (`commit --preview`). Nothing is written.
   */
  preview(options?: PreviewOptions): Promise<PreviewResult>;
  /**
   * Proves the pending changes can be rolled back (`delta rehearse`): copies the target's
   * collections (options, validators, indexes, a sample of documents) into a scratch database,
   * commits the changes, rolls them back, commits them again, and reports every difference.
   * The target is only read; the scratch database is dropped afterwards unless `keep`.
   */
  rehearse(options?: RehearseOptions): Promise<RehearseResult>;
  /** Reverts applied changes (default: the last one). */
  rollback(options?: RollbackOptions): Promise<RunResult>;
  /**
   * Every change's state, from one history query; takes no lock. `env`
   * (default: the configuration's) and `tags` show which changes a commit
   * with them would leave out (`skipped`).
   */
  status(options?: ChangeFilter): Promise<StatusResult>;
  /**
   * Removes the lock of this target (`delta unlock`): at once when its lease
   * has expired, and only with `force` while it is fresh (else LockHeldError).
   * Recorded in the audit log.
   */
  unlock(options?: { force?: boolean }): Promise<UnlockResult>;
  /** Every problem between files and history (imports every file; one history query; no lock). */
  validate(): Promise<ValidationReport>;
  /** The audit log, newest first. */
  history(query?: AuditQuery): Promise<AuditEvent[]>;
  /** Mends history after a hand fix; takes the lock; one audit event per change. */
  repair(options?: RepairOptions & { dryRun?: boolean }): Promise<MaintenanceResult>;
  /** Marks every change up to `to` applied without running it; takes the lock; audited. */
  baseline(options: BaselineOptions & { dryRun?: boolean }): Promise<MaintenanceResult>;
  /**
   * Adopts a migrate-mongo project (`delta import migrate-mongo`): copies its
   * changelog into delta's history under the lock and writes a
   * `delta.config.mjs`; the changelog is only read. migrate-mongo's
   * configuration stands in for delta's configuration file (over
   * `config` given here); flags and environment still win.
   */
  importMigrateMongo(options?: ImportMigrateMongoOptions): Promise<ImportMigrateMongoResult>;
  /**
   * Backs up collections of the target database now (`delta backup`; default: all of them) under
   * the lock; audited; older backups beyond `backup.keep` runs are pruned afterwards.
   */
  backup(options?: BackupOptions): Promise<BackupCommandResult>;
  /** The backups in the backup folder, oldest first (reads files only; no connection). */
  backups(): Promise<BackupListResult>;
  /**
   * Restores a backup (`delta restore`): checks every file's checksum before connecting, refuses
   * collections that hold documents unless `drop`, writes under the lock; audited.
   */
  restore(options: RestoreOptions): Promise<RestoreResult>;
  /**
   * Applies pending changes to every target of a fleet (`commit --targets`): each target with
   * its own history and lock, `concurrency` at once over one shared connection pool. A target
   * that fails does not stop the others (unless `failFast`); the result has a row per target.
   */
  commitFleet(options?: FleetCommitOptions): Promise<FleetRunResult>;
  /** Reverts changes on every target of a fleet (`rollback --targets`), as `commitFleet` runs commits. */
  rollbackFleet(options?: FleetRollbackOptions): Promise<FleetRunResult>;
  /** Where every target of a fleet stands (`status --targets`); takes no lock. */
  statusFleet(options?: FleetStatusOptions): Promise<FleetStatusResult>;
  on<E extends DeltaEventName>(event: E, listener: DeltaListener<E>): () => void;
  /** The resolved configuration. */
  config(): Promise<DeltaConfig>;
  /** Closes the connections delta opened. */
  close(): Promise<void>;
}

export interface UnlockResult {
  readonly scope: string;
  /** Who held the lock; undefined when there was none. */
  readonly holder: LockHolder | undefined;
  readonly removed: boolean;
}
