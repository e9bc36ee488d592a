// How createDelta() reaches a target: the connections it opens (or the application's client it
// adopts), the tracker and lock store beside them, and the one way all of that is closed.
import type { MongoClient } from 'mongodb';
import type { DeltaConfig } from '../config/resolve-config.js';
import { secretsOf } from '../config/redact.js';
import type { Connection } from '../connection/connect.js';
import { adoptClient, openConnection } from '../connection/connect.js';
import { ConfigError, UsageError } from '../errors.js';

/** MongoDB's own databases: never a target by accident. */
const SYSTEM_DATABASES: ReadonlySet<string> = new Set(['admin', 'local', 'config']);
import type { Lease } from '../lock/lease.js';
import type { LockStore } from '../lock/lock-store.js';
import { mongoLockStore, sqliteLockStore } from '../lock/lock-store.js';
import { isSqliteUri, openSqliteFile, sqlitePath } from '../sqlite/sqlite-file.js';
import { MongoTracker } from '../tracker/mongo-tracker.js';
import { checkpointsCollection } from '../tracker/records.js';
import { RedactingTracker } from '../tracker/redacting-tracker.js';
import type { Tracker } from '../tracker/tracker.js';

/** What opening a target needs of the createDelta() options. */
export interface ConnectOptions {
  /** An application's own client: adopted, never closed by delta. */
  readonly client?: MongoClient;
  readonly cwd: string;
}

/** A target database with its connections, history and lock, ready for an action. */
export interface ConnectedTarget {
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
  /** The namespaces of a MongoDB tracker and its lock, wherever they live: never written by a restore. */
  readonly trackerNamespaces: readonly string[];
}

/** A target connection and, for a tracker on another deployment, its own: one pool each, shared by all targets of a fleet. */
export interface OpenConnections {
  readonly target: Connection;
  readonly trackerConnection: Connection | undefined;
}

/** Opens the configured target: its database, its tracker (MongoDB or a SQLite file) and its lock. */
export async function connectTarget(options: ConnectOptions, resolved: DeltaConfig): Promise<ConnectedTarget> {
  assertConnectionString(options, resolved);
  const targetDb = resolved.db ?? options.client?.db().databaseName;
  if (targetDb === undefined) {
    throw new ConfigError('no database name: pass --db, set DELTA_DB, or put it in the connection string (mongodb://host/<db>)');
  }
  if (SYSTEM_DATABASES.has(targetDb) && !resolved.allowSystemDb) {
    throw new UsageError(
      `${targetDb} is one of MongoDB's own databases (admin, local, config): delta changes it only with --allow-system-db` +
        (resolved.uri !== undefined && new RegExp(`/${targetDb}(\\?|$)`).test(resolved.uri)
          ? `; if ${resolved.uriSource ?? 'the URI'} names /${targetDb} to authenticate, write ?authSource=${targetDb} and name the target with --db`
          : ''),
    );
  }
  const lockScope = resolved.lock.scope ?? targetDb;
  if (!isSqliteUri(resolved.tracker.uri)) return mongoTarget(resolved, await openConnections(options, resolved), targetDb, lockScope);
  // A SQLite tracker's file is opened first: a missing better-sqlite3 is bad input, whatever the target's state.
  const sqliteFile = await openSqliteFile(sqlitePath(resolved.tracker.uri, options.cwd), resolved.tracker.uriSource ?? 'tracker.uri');
  let target: Connection | undefined;
  try {
    target = await openTarget(options, resolved);
    // History, audit and lock in a SQLite file: an external tracker whose writes never join a MongoDB transaction.
    const { SqliteTracker } = await import('../tracker/sqlite-tracker.js');
    const tracker = redacting(new SqliteTracker({ db: sqliteFile, targetDb }), resolved);
    return {
      config: resolved,
      target,
      trackerConnection: undefined,
      targetDb,
      tracker,
      locks: sqliteLockStore(sqliteFile),
      lockScope,
      ownCollections: [],
      ownNamespaces: [],
      trackerNamespaces: [],
      closeTracker: () => sqliteFile.close(),
    };
  } catch (error) {
    if (options.client === undefined) await target?.close().catch(() => undefined);
    sqliteFile.close();
    throw error;
  }
}

/** The target's connection and, for a MongoDB tracker on another deployment (which must name its database), the tracker's. */
export async function openConnections(options: ConnectOptions, resolved: DeltaConfig): Promise<OpenConnections> {
  const target = await openTarget(options, resolved);
  try {
    return { target, trackerConnection: await openTrackerConnection(resolved) };
  } catch (error) {
    if (options.client === undefined) await target.close().catch(() => undefined);
    throw error;
  }
}

/** A MongoDB tracker's own connection when it is on another deployment than the run's connection string; undefined otherwise. */
export async function openTrackerConnection(resolved: DeltaConfig): Promise<Connection | undefined> {
  const separateTracker = resolved.tracker.uri !== undefined && resolved.tracker.uri !== resolved.uri;
  if (!separateTracker) return undefined;
  if (resolved.tracker.db === undefined) {
    throw new ConfigError(`no tracker database: put it in ${resolved.tracker.uriSource ?? 'the tracker URI'} (mongodb://host/<db>) or pass --tracker-db`);
  }
  return openConnection({ uri: resolved.tracker.uri ?? '', source: resolved.tracker.uriSource ?? 'tracker.uri', connectTimeoutMs: resolved.connectTimeoutMs });
}

/** Where a fleet target on a deployment other than the run's own stands (src/api/fleet-deployments.ts). */
export interface OtherDeployment {
  /** Its name (host list), carried by its records in a tracker shared across deployments. */
  readonly name: string;
  /** Passwords of its connection string, hidden from anything its tracker stores. */
  readonly secrets: readonly string[];
}

/**
 * A target over open connections, history and lock in MongoDB: its own tracker scope (its own
 * collections in its own database, or records keyed `<targetDb>/<id>` in a shared tracker
 * database) and its lock under `lockScope`. Used by single runs and by each target of a fleet.
 */
export function mongoTarget(resolved: DeltaConfig, connections: OpenConnections, targetDb: string, lockScope: string, other?: OtherDeployment): ConnectedTarget {
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
    // Only a tracker apart from the target's database tells deployments apart.
    deployment: other !== undefined && (trackerConnection !== undefined || trackerDbName !== targetDb) ? other.name : undefined,
  });
  const { migrations, audit, lock } = resolved.tracker.collections;
  const own = [migrations, audit, lock, checkpointsCollection(migrations)];
  const trackerNamespaces = own.map((collection) => `${trackerDbName}.${collection}`);
  return {
    config: resolved,
    target,
    trackerConnection,
    targetDb,
    tracker: redacting(tracker, resolved, other?.secrets),
    locks: mongoLockStore(trackerSide.client.db(trackerDbName).collection(lock)),
    lockScope,
    ownCollections: trackerConnection === undefined && trackerDbName === targetDb ? own : [],
    ownNamespaces: trackerConnection === undefined ? trackerNamespaces : [],
    trackerNamespaces,
  };
}

/** The lock of a connected target, as its configuration sets it. */
export function leaseLock(opened: ConnectedTarget, command: string, onLost?: (reason: string) => void): Lease {
  const { lock } = opened.config;
  return opened.locks.lease({ scope: opened.lockScope, leaseMs: lock.leaseMs, waitMs: lock.waitMs, command, onLost });
}

/**
 * The one close: the connections delta opened (an adopted client stays open: it is the
 * application's), a tracker's own connection, and a SQLite tracker's file.
 */
export async function closeConnections(opened: OpenConnections & { readonly closeTracker?: () => void }, sharedClient: boolean): Promise<void> {
  if (!sharedClient) await opened.target.close();
  await opened.trackerConnection?.close();
  opened.closeTracker?.();
}

/** Every store gets the same redaction in front of it: passwords of the configured URIs and of any URI an error quotes. */
function redacting(tracker: Tracker, resolved: DeltaConfig, more: readonly string[] = []): Tracker {
  return new RedactingTracker(tracker, [...secretsOf(resolved.uri), ...secretsOf(resolved.tracker.uri), ...more]);
}

function assertConnectionString(options: ConnectOptions, resolved: DeltaConfig): void {
  if (resolved.uri === undefined && options.client === undefined) {
    throw new ConfigError('no connection string: pass --uri, set DELTA_URI (or MONGODB_URI), or set uri in the config file');
  }
}

/** The target's connection: the application's own client, or one opened from the configured URI. */
export function openTarget(options: ConnectOptions, resolved: DeltaConfig): Promise<Connection> {
  assertConnectionString(options, resolved);
  return options.client !== undefined ? adoptClient(options.client) : openConnection({ uri: resolved.uri ?? '', source: resolved.uriSource ?? 'uri', connectTimeoutMs: resolved.connectTimeoutMs });
}
