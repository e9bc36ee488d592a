// What a command handler receives, and small argument parsers shared by the handlers, each raising
// the error mongod's IDL parser raises for a bad argument.
import type { Document, ObjectId } from 'bson';
import { isPlainObject } from '../bson-values.js';
import type { ClusterClock } from '../cluster-clock.js';
import type { Collection } from '../collection.js';
import { LATEST_VIEW } from '../doc-versions.js';
import type { ReadView } from '../doc-versions.js';
import type { CursorRegistry } from '../cursors.js';
import { CommandError, typeMismatch } from '../errors.js';
import type { DocumentStream } from '../find-engine.js';
import type { EvaluationOptions } from '../query-engine.js';
import type { Storage } from '../storage.js';
import { validateCollectionName } from '../storage.js';
import type { Session, Transaction, TransactionManager } from '../transactions.js';

export interface TopologyInfo {
  /** Undefined for a standalone server (no replica set: no transactions, no retryable writes). */
  readonly replicaSetName: string | undefined;
  /** `host:port` as advertised in hello's `hosts`, `primary`, `me`. */
  readonly hostPort: string;
  readonly processId: ObjectId;
  readonly electionId: ObjectId;
  readonly startedAt: Date;
  /** What hello reports: 25 is MongoDB 8.0, 21 is 7.0 (the driver then sends no `bulkWrite` command). */
  readonly maxWireVersion: number;
}

export interface ServerCounters {
  readonly opcounters: Record<'insert' | 'query' | 'update' | 'delete' | 'getmore' | 'command', number>;
  connectionsCurrent: number;
  connectionsTotal: number;
}

/** The server-wide state every command can reach. */
export interface SandboxState {
  readonly storage: Storage;
  readonly cursors: CursorRegistry;
  readonly transactions: TransactionManager;
  readonly clock: ClusterClock;
  readonly topology: TopologyInfo;
  readonly counters: ServerCounters;
  readonly transactionLifetimeLimitMs: number;
  /** Test-only conditions the server simulates (`sandbox.faults.replicationLag`). */
  readonly simulated: { readonly replicationLagMs: number };
  log(line: string): void;
}

export interface CommandContext {
  readonly state: SandboxState;
  /** The command's `$db`. */
  readonly db: string;
  /** The command name as sent (first field of the body). */
  readonly name: string;
  readonly command: Document;
  readonly connectionId: number;
  readonly clientAddress: string;
  readonly session: Session | undefined;
  /** The multi-document transaction this command runs in, if any. */
  readonly txn: Transaction | undefined;
  readonly view: ReadView;
  /** Absolute time (ms) after which waiting operations answer MaxTimeMSExpired. */
  readonly deadline: number;
  /** The command's time: `$$NOW` and `$currentDate` use this one value for the whole command. */
  readonly now: Date;
  /** Records that the command changed data or metadata (stats.writes, cluster time). */
  noteWrite(): void;
}

export type CommandHandler = (command: Document, context: CommandContext) => Promise<Document> | Document;

export interface CommandSpec {
  readonly handler: CommandHandler;
  /** Command-specific fields; when given, any other non-generic field is refused with 40415. */
  readonly fields?: readonly string[];
  /** Whether the command may run inside a multi-document transaction. */
  readonly inTransaction?: boolean;
  /** Whether a `txnNumber` outside a transaction makes it a retryable write. */
  readonly retryableWrite?: boolean;
  /** Only runs against the admin database (code 13 Unauthorized otherwise). */
  readonly adminOnly?: boolean;
}

/** Fields every command accepts (session, transaction, read/write concern, API version...). */
export const GENERIC_FIELDS = new Set([
  '$db',
  'lsid',
  'txnNumber',
  'autocommit',
  'startTransaction',
  'readConcern',
  'writeConcern',
  'maxTimeMS',
  'comment',
  '$clusterTime',
  '$readPreference',
  'readPreference',
  'apiVersion',
  'apiStrict',
  'apiDeprecationErrors',
  '$audit',
  '$client',
  'mayBypassWriteBlocking',
  '$configServerState',
  '$topologyTime',
  '$configTime',
  'databaseVersion',
  'shardVersion',
  'clientOperationKey',
  'maxTimeMSOpOnly',
  'recoveryToken',
  'stmtId',
  'stmtIds',
  '$queryOptions',
]);

/** The read view of the command: its transaction's snapshot, or the latest committed state. */
export function readViewOf(context: CommandContext): ReadView {
  return context.view ?? LATEST_VIEW;
}

/** The collection named by the command's first field (a string), validated as mongod does. */
export function collectionNameArgument(command: Document, name: string, db: string): string {
  const value = command[name];
  if (typeof value !== 'string') {
    throw new CommandError('InvalidNamespace', `collection name has invalid type ${value === null ? 'null' : Array.isArray(value) ? 'array' : typeof value}`);
  }
  return validateCollectionName(db, value);
}

export function optionalDocument(command: Document, commandName: string, field: string): Document | undefined {
  const value = command[field];
  if (value === undefined || value === null) return undefined;
  if (!isPlainObject(value)) throw typeMismatch(commandName, field, 'object', value);
  return value;
}

export function optionalBoolean(command: Document, commandName: string, field: string): boolean | undefined {
  const value = command[field];
  if (value === undefined || value === null) return undefined;
  if (typeof value === 'boolean') return value;
  if (typeof value === 'number') return value !== 0;
  throw typeMismatch(commandName, field, 'bool', value);
}

export function optionalNumber(command: Document, commandName: string, field: string): number | undefined {
  const value = command[field];
  if (value === undefined || value === null) return undefined;
  if (typeof value === 'number') return value;
  const tag = (value as { _bsontype?: string })._bsontype;
  if (tag === 'Long' || tag === 'Int32' || tag === 'Double') return Number(value);
  throw typeMismatch(commandName, field, 'long', value);
}

/** A non-negative integer argument (skip, limit, batchSize) with mongod's "must be >= 0" error. */
export function nonNegativeInteger(command: Document, commandName: string, field: string): number | undefined {
  const value = optionalNumber(command, commandName, field);
  if (value === undefined) return undefined;
  if (!Number.isInteger(value)) throw new CommandError('FailedToParse', `${field} must be an integer, got ${value}`);
  if (value < 0) {
    throw new CommandError('Location51024', `BSON field '${field}' value must be >= 0, actual value '${value}'`);
  }
  return value;
}

export function optionalArray(command: Document, commandName: string, field: string): unknown[] | undefined {
  const value = command[field];
  if (value === undefined || value === null) return undefined;
  if (!Array.isArray(value)) throw typeMismatch(commandName, field, 'array', value);
  return value;
}

/** Evaluation options (let variables, $$CLUSTER_TIME, collation, $lookup resolution) for a command. */
export function evaluationOptions(context: CommandContext, extra: { let?: Document; collation?: Document } = {}): EvaluationOptions {
  const variables: Document = { CLUSTER_TIME: context.state.clock.now(), ...(extra.let ?? {}) };
  const view = readViewOf(context);
  return {
    variables,
    now: context.now,
    collation: extra.collation,
    collectionResolver: (name: string) => {
      const collection = context.state.storage.getCollection(context.db, name);
      return collection === undefined ? [] : [...collection.scan(view)];
    },
  };
}

function usesText(filter: unknown): boolean {
  if (!isPlainObject(filter)) return false;
  if (Object.prototype.hasOwnProperty.call(filter, '$text')) return true;
  return ['$and', '$or', '$nor'].some((key) => Array.isArray(filter[key]) && (filter[key] as unknown[]).some(usesText));
}

/** `$text` needs a text index (code 27, as mongod's planner answers) before anything else. */
export function assertTextIndex(collection: Collection | undefined, filter: unknown): void {
  if (collection === undefined || !usesText(filter)) return;
  const hasText = collection.indexes.some((index) => Object.values(index.key).includes('text'));
  if (!hasText) throw new CommandError('IndexNotFound', 'text index required for $text query');
}

/** Finds a collection or creates it implicitly (inserts, upserts, createIndexes), as mongod does. */
export function collectionForWrite(context: CommandContext, name: string): Collection {
  const storage = context.state.storage;
  const existing = storage.getCollection(context.db, name);
  if (existing !== undefined) return existing;
  if (name.startsWith('system.')) throw new CommandError('InvalidNamespace', `Invalid system namespace: ${context.db}.${name}`);
  const created = storage.createCollection(context.db, name);
  context.txn?.createdCollections.push(created);
  context.noteWrite();
  return created;
}

/**
 * Opens the reply cursor of a find/aggregate/listing command: bound to the command's session,
 * and to its transaction (it dies with it) when there is one. Returns the reply document.
 */
export async function openCursorReply(context: CommandContext, namespace: string, stream: DocumentStream, options: { batchSize: number; singleBatch: boolean }): Promise<Document> {
  const { cursorDocument, cursor } = await context.state.cursors.open(namespace, stream, {
    ...options,
    sessionKey: context.session?.key,
    transactionId: context.txn?.id,
  });
  if (cursor !== undefined) context.txn?.cursorIds.add(cursor.id);
  return { cursor: cursorDocument, ok: 1 };
}
