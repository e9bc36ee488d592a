import { randomUUID } from 'node:crypto';
import type { MongoClient } from 'mongodb';
import type { ConfigFlags, DeltaConfig } from '../config/resolve-config.js';
import { resolveConfig } from '../config/resolve-config.js';
import type { DeltaConfigInput } from '../config/schema.js';
import type { Connection } from '../connection/connect.js';
import { adoptClient, openConnection } from '../connection/connect.js';
import { ConfigError, DatabaseError, DeltaError, LockHeldError, UsageError, messageOf } from '../errors.js';
import { redact, secretsOf } from '../config/redact.js';
import { fileChangeSource, memoryChangeSource } from '../loader/change-catalog.js';
import { changesFromDefinitions } from '../loader/memory-source.js';
import { scanChangeFiles, stageSpec } from '../loader/change-folder.js';
import { formatRegistry } from '../loader/formats/format-registry.js';
import { duplicateIdProblems, tryImportChangeFiles } from '../loader/file-loader.js';
import type { BaselineOptions, MaintenanceResult, RepairOptions, ValidationReport } from '../runner/maintenance.js';
import { validationProblems } from '../runner/maintenance.js';
import { computeStatus } from '../runner/plan.js';
import type { AuditEvent } from '../tracker/records.js';
import type { AuditQuery } from '../tracker/tracker.js';
import type { Lease, LockStore } from '../lock/lock-store.js';
import { mongoLockStore, sqliteLockStore } from '../lock/lock-store.js';
import { isSqliteUri, openSqliteFile, sqlitePath } from '../sqlite/sqlite-file.js';
import type { DeltaEventName, DeltaListener } from '../runner/events.js';
import { DeltaEventEmitter } from '../runner/events.js';
import type { StatusResult } from '../runner/results.js';
import type { CommitOptions, RollbackOptions } from '../runner/runner.js';
import { Runner } from '../runner/runner.js';
import { statusReport } from '../runner/status-report.js';
import { executedBy } from '../tracker/executed-by.js';
import { MongoTracker } from '../tracker/mongo-tracker.js';
import { toolVersion } from '../version.js';
import type { Tracker } from '../tracker/tracker.js';
import type { AdoptionHost, ImportMigrateMongoOptions, ImportMigrateMongoResult } from '../adopt/index.js';
import type { BackupListResult, RestoreResult } from '../backup/index.js';
import type { BackupCommandResult, BackupHost, BackupOptions, RestoreOptions } from './backup-actions.js';
import type { FleetCommitOptions, FleetRollbackOptions, FleetStatusOptions, FleetHost } from './fleet-actions.js';
import type { FleetRunResult, FleetStatusResult } from '../fleet/index.js';
import type { ChangeDefinition, ChangeFilter, ChangeSource, LockHolder, RunResult, StageSpec } from '../vocabulary/index.js';

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

interface Session {
  readonly config: DeltaConfig;
  readonly target: Connection;
  readonly trackerConnection: Connection | undefined;
  readonly targetDb: string;
  readonly tracker: Tracker;
  /** Where the locks live (beside the tracker) and this target's scope there. */
  readonly locks: LockStore;
  readonly lockScope: string;
  /** Closes a tracker store that is not a MongoDB connection (the SQLite file). */
  readonly closeTracker?: () => void;
  /** delta's own collections when the tracker lives in the target database (never backed up). */
  readonly ownCollections: readonly string[];
  /** delta's own namespaces (`db.collection`) on the target's client: history, audit, lock. */
  readonly ownNamespaces: readonly string[];
}

/**
 * The programmatic API, and the only one the CLI uses: resolves the
 * configuration, loads change files before touching the database, connects,
 * and wires tracker, lock and runner together.
 */
export function createDelta(options: CreateDeltaOptions = {}): Delta {
  const events = new DeltaEventEmitter();
  let configPromise: Promise<DeltaConfig> | undefined;
  let sessionPromise: Promise<Session> | undefined;
  /** A fleet's connections, opened once and shared by all its targets. */
  let fleetPromise: Promise<OpenConnections> | undefined;
  let closed = false;

  const config = () => {
    configPromise ??= resolveConfig({ flags: options.flags, env: options.env, cwd: options.cwd, inline: options.config });
    return configPromise;
  };

  /**
   * Reads and hashes the change files (or checks the in-memory changes)
   * before connecting; the files' code is imported once history is known,
   * skipping files applied and unchanged since (see openFileCatalog).
   */
  const changeSource = async (): Promise<ChangeSource> => {
    const resolved = await config();
    if (options.changes !== undefined) {
      const stages = configuredStages(resolved);
      return memoryChangeSource(changesFromDefinitions(options.changes, stages), stages);
    }
    return fileChangeSource(await scanChangeFiles({ path: resolved.path, pathSource: resolved.pathSource, stages: resolved.stages, runners: projectRunners(resolved, options) }), { operations: resolved.operations });
  };

  const session = () => {
    if (closed) throw new ConfigError('this delta instance is closed');
    sessionPromise ??= connect(options, config);
    return sessionPromise;
  };

  const backupHost = (opened: Session): BackupHost => ({
    config: opened.config,
    targetDb: opened.targetDb,
    db: (name) => opened.target.db(name),
    tracker: opened.tracker,
    ownCollections: opened.ownCollections,
    lock: (db, command) => (db === opened.targetDb ? leaseLock(opened, command) : leaseLock({ ...opened, lockScope: db }, command)),
    events,
  });
  const backupActions = () => import('./backup-actions.js');

  /** `onBackup` is told of every backup the run takes (retention runs after a successful run that took one). */
  const runner = async (onBackup?: () => void, given?: Session) => {
    const opened = given ?? (await session());
    const { config: resolved, target, tracker, targetDb, lockScope: scope } = opened;
    return new Runner({
      client: target.client,
      db: target.db(targetDb),
      deployment: target.deployment,
      tracker,
      lockScope: scope,
      lock: (command, onLost) => leaseLock(opened, command, onLost),
      events,
      transaction: resolved.transaction,
      autoRollback: resolved.autoRollback,
      groupTransactions: resolved.groupTransactions,
      hooks: resolved.hooks,
      services: resolved.services,
      ownNamespaces: opened.ownNamespaces,
      backup: async (request) => {
        onBackup?.();
        const actions = await backupActions();
        return actions.takeBackupFor(backupHost(opened), { ...request, reason: request.changeId === undefined ? 'run' : 'change' });
      },
    });
  };

  /** What src/api/fleet-actions.ts needs: a Session per target over the fleet's shared connections. */
  const fleetHost = async (): Promise<FleetHost> => {
    if (closed) throw new ConfigError('this delta instance is closed');
    const resolved = await config();
    fleetPromise ??= openConnections(options, resolved);
    const connections = await fleetPromise;
    return {
      config: resolved,
      cwd: options.cwd ?? process.cwd(),
      events,
      changeSource,
      listDatabases: () => wrapDatabaseErrors(async () => (await connections.target.client.db('admin').admin().listDatabases({ nameOnly: true })).databases.map((d) => d.name)),
      trackerDb: resolved.tracker.db,
      target(targetDb) {
        // One lock per target (its database name): targets of a fleet never wait on each other.
        const opened = mongoSession(resolved, connections, targetDb, targetDb);
        return {
          commit: async (source, commitOptions) => {
            let backedUp = false;
            const run = await runner(() => (backedUp = true), opened);
            const result = await run.commit(source, commitOptions);
            if (result.outcome === 'success' && backedUp) await (await backupActions()).prune(backupHost(opened), result.runId);
            return result;
          },
          rollback: async (source, rollbackOptions) => (await runner(undefined, opened)).rollback(source, rollbackOptions),
          status: async (source, filter) => {
            const [history, holder] = await Promise.all([opened.tracker.history(), opened.locks.holder(opened.lockScope)]);
            return statusReport(targetDb, await source.open(history), history, holder, filter);
          },
        };
      },
    };
  };
  const fleetActions = () => import('./fleet-actions.js');

  return {
    async commitFleet(fleetOptions = {}) {
      return (await fleetActions()).commitFleet(await fleetHost(), fleetOptions);
    },
    async rollbackFleet(fleetOptions = {}) {
      return (await fleetActions()).rollbackFleet(await fleetHost(), fleetOptions);
    },
    async statusFleet(fleetOptions = {}) {
      return (await fleetActions()).statusFleet(await fleetHost(), fleetOptions);
    },
    async commit(commitOptions = {}) {
      const source = await changeSource();
      const resolved = await config();
      const env = commitOptions.env ?? resolved.env;
      return wrapDatabaseErrors(async () => {
        let backedUp = false;
        const run = await runner(() => (backedUp = true));
        const result = await run.commit(source, { ...commitOptions, env, backup: commitOptions.backup ?? resolved.backup.default });
        if (result.outcome === 'success' && backedUp) await (await backupActions()).prune(backupHost(await session()), result.runId);
        return result;
      });
    },
    async rollback(rollbackOptions = {}) {
      const source = await changeSource();
      return wrapDatabaseErrors(async () => (await runner()).rollback(source, rollbackOptions));
    },
    async status(filter = {}) {
      const source = await changeSource();
      const env = filter.env ?? (await config()).env;
      return wrapDatabaseErrors(async () => {
        const { tracker, targetDb, locks, lockScope } = await session();
        const [history, holder] = await Promise.all([tracker.history(), locks.holder(lockScope)]);
        return statusReport(targetDb, await source.open(history), history, holder, { ...filter, env });
      });
    },
    async validate() {
      // Every file is imported (applied ones too): validate is where a broken file shows.
      const resolved = await config();
      const { units, stages } =
        options.changes !== undefined
          ? { units: { units: changesFromDefinitions(options.changes, configuredStages(resolved)), problems: [] }, stages: configuredStages(resolved) }
          : await (async () => {
              const folder = await scanChangeFiles({ path: resolved.path, pathSource: resolved.pathSource, stages: resolved.stages, runners: projectRunners(resolved, options) });
              return { units: await tryImportChangeFiles(folder.files, { operations: resolved.operations }), stages: folder.stages };
            })();
      return wrapDatabaseErrors(async () => {
        const { tracker, targetDb } = await session();
        const statuses = computeStatus(units.units, await tracker.history(), stages);
        return { targetDb, problems: validationProblems(statuses, units.problems, duplicateIdProblems(units.units)), changes: statuses.length };
      });
    },
    async history(query = {}) {
      return wrapDatabaseErrors(async () => (await session()).tracker.auditLog(query));
    },
    async repair(repairOptions = {}) {
      const source = await changeSource();
      return wrapDatabaseErrors(async () => (await runner()).repair(source, repairOptions));
    },
    async baseline(baselineOptions) {
      const source = await changeSource();
      return wrapDatabaseErrors(async () => (await runner()).baseline(source, baselineOptions));
    },
    async importMigrateMongo(importOptions = {}) {
      if (closed) throw new ConfigError('this delta instance is closed');
      // Loaded on use: applications that never import pay nothing for it.
      const adopt = await import('../adopt/index.js');
      return wrapDatabaseErrors(() => adopt.importMigrateMongo(importOptions, adoptionHost(options)));
    },
    async backup(backupOptions = {}) {
      return wrapDatabaseErrors(async () => (await backupActions()).backupNow(backupHost(await session()), backupOptions));
    },
    async backups() {
      const { listBackups } = await import('../backup/index.js');
      return listBackups((await config()).backup.dir);
    },
    async restore(restoreOptions) {
      const resolved = await config();
      const { resolveBackup, verifyBackup } = await import('../backup/index.js');
      if (restoreOptions.toDb !== undefined && !/^[^/\\. "$*<>:|?]{1,63}$/.test(restoreOptions.toDb)) {
        throw new UsageError(`--to-db ${restoreOptions.toDb}: not a database name (1 to 63 characters, none of /\\. "$*<>:|?)`);
      }
      // Every checksum is checked before connecting: a damaged backup is refused having touched nothing.
      const folder = await resolveBackup(resolved.backup.dir, restoreOptions.backup, options.cwd ?? process.cwd());
      const verified = await verifyBackup(folder, restoreOptions.collections);
      return wrapDatabaseErrors(async () => (await backupActions()).restoreNow(backupHost(await session()), verified, restoreOptions));
    },
    async unlock(unlockOptions = {}) {
      return wrapDatabaseErrors(async () => {
        const { tracker, targetDb, locks, lockScope: scope } = await session();
        const holder = await locks.holder(scope);
        if (holder === undefined) return { scope, holder, removed: false };
        const force = unlockOptions.force === true;
        const removed = await locks.remove(scope, holder.owner, force);
        if (!removed) {
          const still = await locks.holder(scope);
          if (still?.owner === holder.owner) {
            throw new LockHeldError(
              `lock ${scope} is held by ${holder.host} pid ${holder.pid} (${holder.command}) since ${holder.acquiredAt.toISOString()}, lease until ${holder.expiresAt.toISOString()}: ` +
                'its lease is fresh, so that run is probably alive; pass --force to remove it anyway',
              holder,
            );
          }
          // Released or taken over by someone else meanwhile: not ours to remove.
          return { scope, holder: still, removed: false };
        }
        await tracker.audit({
          runId: randomUUID(),
          targetDb,
          action: 'unlock',
          outcome: 'success',
          at: new Date(),
          executedBy: executedBy(),
          toolVersion: toolVersion(),
          details: { scope, forced: force, holder: { host: holder.host, pid: holder.pid, command: holder.command, acquiredAt: holder.acquiredAt, expiresAt: holder.expiresAt } },
        });
        return { scope, holder, removed: true };
      });
    },
    on: (event, listener) => events.on(event, listener),
    config,
    async close() {
      closed = true;
      const fleet = fleetPromise;
      fleetPromise = undefined;
      const fleetOpened = await fleet?.catch(() => undefined);
      if (fleetOpened !== undefined) {
        if (options.client === undefined) await fleetOpened.target.close();
        await fleetOpened.trackerConnection?.close();
      }
      const pending = sessionPromise;
      sessionPromise = undefined;
      if (pending === undefined) return;
      const opened = await pending.catch(() => undefined);
      if (opened === undefined) return;
      if (options.client === undefined) await opened.target.close();
      await opened.trackerConnection?.close();
      opened.closeTracker?.();
    },
  };
}

async function connect(options: CreateDeltaOptions, config: () => Promise<DeltaConfig>): Promise<Session> {
  const resolved = await config();
  assertConnectionString(options, resolved);
  const targetDb = resolved.db ?? options.client?.db().databaseName;
  if (targetDb === undefined) {
    throw new ConfigError('no database name: pass --db, set DELTA_DB, or put it in the connection string (mongodb://host/<db>)');
  }
  const lockScope = resolved.lock.scope ?? targetDb;
  if (!isSqliteUri(resolved.tracker.uri)) return mongoSession(resolved, await openConnections(options, resolved), targetDb, lockScope);
  // A SQLite tracker's file is opened first: a missing better-sqlite3 is bad input, whatever the target's state.
  const sqliteFile = await openSqliteFile(sqlitePath(resolved.tracker.uri, options.cwd ?? process.cwd()), resolved.tracker.uriSource ?? 'tracker.uri');
  let target: Connection | undefined;
  try {
    target = await openTarget(options, resolved);
    // History, audit and lock in a SQLite file: an external tracker whose writes never join a MongoDB transaction.
    const { SqliteTracker } = await import('../tracker/sqlite-tracker.js');
    const tracker = new SqliteTracker({ db: sqliteFile, targetDb });
    return { config: resolved, target, trackerConnection: undefined, targetDb, tracker, locks: sqliteLockStore(sqliteFile), lockScope, ownCollections: [], ownNamespaces: [], closeTracker: () => sqliteFile.close() };
  } catch (error) {
    if (options.client === undefined) await target?.close().catch(() => undefined);
    sqliteFile.close();
    throw error;
  }
}

function assertConnectionString(options: CreateDeltaOptions, resolved: DeltaConfig): void {
  if (resolved.uri === undefined && options.client === undefined) {
    throw new ConfigError('no connection string: pass --uri, set DELTA_URI (or MONGODB_URI), or set uri in the config file');
  }
}

/** The target's connection: the application's own client, or one opened from the configured URI. */
function openTarget(options: CreateDeltaOptions, resolved: DeltaConfig): Promise<Connection> {
  assertConnectionString(options, resolved);
  return options.client !== undefined ? adoptClient(options.client) : openConnection({ uri: resolved.uri ?? '', source: resolved.uriSource ?? 'uri', connectTimeoutMs: resolved.connectTimeoutMs });
}

/** A target connection and, for a tracker on another deployment, its own: one pool each, shared by all targets of a fleet. */
interface OpenConnections {
  readonly target: Connection;
  readonly trackerConnection: Connection | undefined;
}

/** The target's connection and, for a MongoDB tracker on another deployment (which must name its database), the tracker's. */
async function openConnections(options: CreateDeltaOptions, resolved: DeltaConfig): Promise<OpenConnections> {
  const target = await openTarget(options, resolved);
  try {
    const separateTracker = resolved.tracker.uri !== undefined && resolved.tracker.uri !== resolved.uri;
    if (separateTracker && resolved.tracker.db === undefined) {
      throw new ConfigError(`no tracker database: put it in ${resolved.tracker.uriSource ?? 'the tracker URI'} (mongodb://host/<db>) or pass --tracker-db`);
    }
    const trackerConnection = separateTracker
      ? await openConnection({ uri: resolved.tracker.uri ?? '', source: resolved.tracker.uriSource ?? 'tracker.uri', connectTimeoutMs: resolved.connectTimeoutMs })
      : undefined;
    return { target, trackerConnection };
  } catch (error) {
    if (options.client === undefined) await target.close().catch(() => undefined);
    throw error;
  }
}

/**
 * A target over open connections, history and lock in MongoDB: its own tracker scope (its own
 * collections in its own database, or records keyed `<targetDb>/<id>` in a shared tracker
 * database) and its lock under `lockScope`. Used by single runs and by each target of a fleet.
 */
function mongoSession(resolved: DeltaConfig, connections: OpenConnections, targetDb: string, lockScope: string): Session {
  const { target, trackerConnection } = connections;
  const trackerDbName = resolved.tracker.db ?? targetDb;
  const trackerSide = trackerConnection ?? target;
  const tracker = new MongoTracker({
    client: trackerSide.client,
    trackerDb: trackerDbName,
    targetDb,
    collections: resolved.tracker.collections,
    sharesTargetClient: trackerConnection === undefined,
    clientBulkWrite: trackerSide.deployment.clientBulkWrite,
    secrets: [...secretsOf(resolved.uri), ...secretsOf(resolved.tracker.uri)],
  });
  const { migrations, audit, lock } = resolved.tracker.collections;
  return {
    config: resolved,
    target,
    trackerConnection,
    targetDb,
    tracker,
    locks: mongoLockStore(trackerSide.client.db(trackerDbName).collection(lock)),
    lockScope,
    ownCollections: trackerConnection === undefined && trackerDbName === targetDb ? [migrations, audit, lock] : [],
    ownNamespaces: trackerConnection === undefined ? [migrations, audit, lock].map((collection) => `${trackerDbName}.${collection}`) : [],
  };
}

/** Configuration and connections for src/adopt, built from an inline layer apart from this instance's own. */
function adoptionHost(options: CreateDeltaOptions): AdoptionHost {
  return {
    cwd: options.cwd ?? process.cwd(),
    sharedClient: options.client !== undefined,
    resolveConfig: (inline) => resolveConfig({ flags: options.flags, env: options.env, cwd: options.cwd, inline: { ...options.config, ...inline } }),
    async open(resolved) {
      const opened = await connect(options, () => Promise.resolve(resolved));
      return {
        targetDb: opened.targetDb,
        db: opened.target.db(opened.targetDb),
        tracker: opened.tracker,
        lock: (command) => leaseLock(opened, command),
        async close() {
          if (options.client === undefined) await opened.target.close();
          await opened.trackerConnection?.close();
          opened.closeTracker?.();
        },
      };
    },
  };
}

/** The built-in runners and the configured ones; shell changes get the target's URI and run in the project's folder. */
function projectRunners(config: DeltaConfig, options: CreateDeltaOptions) {
  return formatRegistry({ runners: config.runners, programs: config.programs, uri: config.uri, cwd: options.cwd ?? process.cwd() });
}

/** The configuration's stages as the runner sees them (for changes given in memory). */
function configuredStages(config: DeltaConfig): StageSpec[] {
  return (config.stages ?? []).map(stageSpec);
}

/** The lock of a connected target, as its configuration sets it. */
function leaseLock(opened: Session, command: string, onLost?: (reason: string) => void): Lease {
  const { lock } = opened.config;
  return opened.locks.lease({ scope: opened.lockScope, leaseMs: lock.leaseMs, waitMs: lock.waitMs, command, onLost });
}

/** Driver errors outside a change (history read, lock) become DatabaseErrors; DeltaErrors pass. */
async function wrapDatabaseErrors<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    if (error instanceof DeltaError) throw error;
    throw new DatabaseError(`database error: ${redact(messageOf(error))}`, { cause: error });
  }
}
