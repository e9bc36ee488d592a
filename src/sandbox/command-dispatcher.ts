// Runs one command document: generic argument checks, session and transaction resolution
// (lsid/txnNumber/autocommit/startTransaction), retryable-write replay, and error replies.
import type { Document } from 'bson';
import { LATEST_VIEW } from './doc-versions.js';
import { GENERIC_FIELDS } from './commands/command-context.js';
import type { CommandContext, CommandSpec, SandboxState } from './commands/command-context.js';
import { COMMANDS } from './commands/command-table.js';
import { CommandError, unknownFieldError } from './errors.js';
import { translateMingoError } from './query-engine.js';
import type { Session, Transaction } from './transactions.js';

export interface ConnectionInfo {
  readonly id: number;
  readonly remoteAddress: string;
}

export interface CommandOutcome {
  readonly reply: Document;
  /** The command changed data or metadata. */
  readonly wrote: boolean;
}

const TRANSACTION_CONTROL = new Set(['commitTransaction', 'abortTransaction']);
const READ_CONCERN_LEVELS = new Set(['local', 'majority', 'linearizable', 'available', 'snapshot']);

function toNumber(value: unknown): number | undefined {
  if (typeof value === 'number') return value;
  const tag = (value as { _bsontype?: string } | null | undefined)?._bsontype;
  if (tag === 'Long' || tag === 'Int32' || tag === 'Double') return Number(value);
  return undefined;
}

interface SessionBinding {
  readonly session: Session | undefined;
  readonly txn: Transaction | undefined;
  /** Set for a retryable write: the session and txnNumber whose reply must be remembered. */
  readonly retryable: { readonly session: Session; readonly txnNumber: number } | undefined;
}

function bindSession(state: SandboxState, name: string, spec: CommandSpec, command: Document): SessionBinding {
  const lsid = command.lsid;
  const session = lsid === undefined ? undefined : state.transactions.session(lsid as Document);
  const rawTxnNumber = command.txnNumber;
  const autocommit = command.autocommit;
  const startTransaction = command.startTransaction;
  if (rawTxnNumber === undefined) {
    if (autocommit !== undefined) throw new CommandError('InvalidOptions', "'autocommit' field requires a transaction number to also be specified");
    if (startTransaction !== undefined) throw new CommandError('InvalidOptions', "'startTransaction' field requires a transaction number to also be specified");
    return { session, txn: undefined, retryable: undefined };
  }
  if (state.topology.replicaSetName === undefined) {
    throw new CommandError('IllegalOperation', 'Transaction numbers are only allowed on a replica set member or mongos');
  }
  const txnNumber = toNumber(rawTxnNumber);
  if (txnNumber === undefined || !Number.isInteger(txnNumber) || txnNumber < 0) {
    throw new CommandError('TypeMismatch', "BSON field 'OperationSessionInfo.txnNumber' is the wrong type, expected type 'long'");
  }
  if (session === undefined) throw new CommandError('InvalidOptions', 'Transaction number requires a session ID to also be specified');
  if (autocommit === undefined) {
    if (startTransaction !== undefined) throw new CommandError('InvalidOptions', 'Specifying startTransaction requires autocommit: false');
    if (spec.retryableWrite !== true) {
      throw new CommandError(
        'NotARetryableWriteCommand',
        `txnNumber may only be provided for multi-document transactions and retryable write commands. autocommit:false was not provided, and ${name} is not a retryable write command.`,
      );
    }
    if (txnNumber < session.txnNumber) {
      throw new CommandError(
        'TransactionTooOld',
        `Retryable write with txnNumber ${txnNumber} is prohibited on session ${session.key} because a newer retryable write with txnNumber ${session.txnNumber} has already started on this session.`,
      );
    }
    if (txnNumber === session.txnNumber && session.txn !== undefined) {
      throw new CommandError('InvalidOptions', 'Must specify autocommit=false on all operations of a multi-statement transaction.');
    }
    if (txnNumber > session.txnNumber) {
      if (session.txn?.state === 'inProgress') state.transactions.abort(session.txn, 'a newer retryable write was started on its session');
      session.txnNumber = txnNumber;
      session.txn = undefined;
      session.retryReply = undefined;
    }
    return { session, txn: undefined, retryable: { session, txnNumber } };
  }
  if (autocommit !== false) throw new CommandError('InvalidOptions', 'autocommit field can only be specified as false');
  if (spec.inTransaction !== true) {
    throw new CommandError('OperationNotSupportedInTransaction', `Cannot run '${name}' in a multi-document transaction.`);
  }
  if (startTransaction !== undefined) {
    if (startTransaction !== true) throw new CommandError('InvalidOptions', 'startTransaction field can only be specified as true');
    if (name === 'commitTransaction') throw new CommandError('OperationNotSupportedInTransaction', 'Cannot start a transaction with a commit');
    if (name === 'abortTransaction') throw new CommandError('OperationNotSupportedInTransaction', 'Cannot start a transaction with an abort');
    if (name === 'killCursors') {
      throw new CommandError('OperationNotSupportedInTransaction', 'Cannot run killCursors as the first operation in a multi-document transaction.');
    }
    const started = state.transactions.begin(session, txnNumber);
    const level = (command.readConcern as Document | undefined)?.level;
    if (typeof level === 'string') started.readConcernLevel = level;
    checkExplicitCreation(name, started);
    return { session, txn: started, retryable: undefined };
  }
  const txn = state.transactions.continueTransaction(session, txnNumber, name);
  if (command.readConcern !== undefined && !TRANSACTION_CONTROL.has(name)) {
    throw new CommandError('InvalidOptions', 'Only the first command in a transaction may specify a readConcern');
  }
  checkExplicitCreation(name, txn);
  return { session, txn, retryable: undefined };
}

/** mongod creates collections and indexes explicitly inside a transaction only under read concern 'local'. */
function checkExplicitCreation(name: string, txn: { readonly readConcernLevel: string }): void {
  if ((name === 'create' || name === 'createIndexes') && txn.readConcernLevel !== 'local') {
    throw new CommandError(
      'OperationNotSupportedInTransaction',
      `Cannot run '${name}' in a multi-document transaction with read concern level '${txn.readConcernLevel}': creating a collection or an index explicitly requires read concern 'local'`,
    );
  }
}

function checkGenericArguments(name: string, spec: CommandSpec, command: Document, db: string, inTransaction: boolean): number | undefined {
  if (spec.adminOnly === true && db !== 'admin') {
    throw new CommandError('Unauthorized', `${name} may only be run against the admin database.`);
  }
  if (spec.fields !== undefined) {
    for (const field of Object.keys(command)) {
      if (!GENERIC_FIELDS.has(field) && !spec.fields.includes(field)) throw unknownFieldError(name, field);
    }
  }
  const readConcern = command.readConcern as Document | undefined;
  if (readConcern !== undefined) {
    if (readConcern === null || typeof readConcern !== 'object') throw new CommandError('TypeMismatch', "BSON field 'readConcern' is the wrong type, expected type 'object'");
    const level = readConcern.level;
    if (level !== undefined && (typeof level !== 'string' || !READ_CONCERN_LEVELS.has(level))) {
      throw new CommandError('FailedToParse', `Enumeration value '${String(level)}' for field 'readConcern.level' is not a valid value.`);
    }
  }
  if (inTransaction && command.writeConcern !== undefined && !TRANSACTION_CONTROL.has(name)) {
    throw new CommandError('InvalidOptions', 'writeConcern is not allowed within a multi-statement transaction');
  }
  const rawMaxTime = command.maxTimeMS;
  if (rawMaxTime === undefined || rawMaxTime === null) return undefined;
  const maxTimeMS = toNumber(rawMaxTime);
  if (maxTimeMS === undefined) throw new CommandError('BadValue', 'maxTimeMS must be a number');
  if (maxTimeMS < 0) throw new CommandError('BadValue', `BSON field 'maxTimeMS' value must be >= 0, actual value '${Math.floor(maxTimeMS)}'`);
  if (!Number.isInteger(maxTimeMS)) throw new CommandError('BadValue', 'maxTimeMS has non-integral value');
  return maxTimeMS === 0 ? undefined : maxTimeMS;
}

/** Executes a command and always resolves with a reply (errors become `ok: 0` replies). */
export async function executeCommand(state: SandboxState, command: Document, connection: ConnectionInfo): Promise<CommandOutcome> {
  let wrote = false;
  let binding: SessionBinding | undefined;
  const name = Object.keys(command)[0] ?? '';
  try {
    const db = command.$db;
    if (typeof db !== 'string') throw new CommandError('Location40571', 'OP_MSG requests require a $db argument');
    const spec = COMMANDS.get(name);
    // The bulkWrite command came with MongoDB 8.0 (wire version 25): older servers do not know it.
    if (spec === undefined || (name === 'bulkWrite' && state.topology.maxWireVersion < 25)) throw new CommandError('CommandNotFound', `no such command: '${name}'`);
    binding = bindSession(state, name, spec, command);
    const maxTimeMS = checkGenericArguments(name, spec, command, db, binding.txn !== undefined);
    const bound = binding;
    const context: CommandContext = {
      state,
      db,
      name,
      command,
      connectionId: connection.id,
      clientAddress: connection.remoteAddress,
      session: bound.session,
      txn: bound.txn,
      view: bound.txn === undefined ? LATEST_VIEW : { snapshot: bound.txn.snapshot, txn: bound.txn },
      // Without maxTimeMS a blocked write waits for the blocking transaction, which the
      // transaction lifetime limit bounds; the extra margin only guards against a stuck state.
      deadline: Date.now() + (maxTimeMS ?? state.transactionLifetimeLimitMs + 10_000),
      now: new Date(),
      noteWrite: () => {
        wrote = true;
      },
    };
    const run = async (): Promise<Document> => spec.handler(command, context);
    let reply: Document;
    const retryable = bound.retryable;
    if (retryable !== undefined) {
      const previous = retryable.session.retryReply;
      if (previous !== undefined && retryable.session.txnNumber === retryable.txnNumber) {
        // A retried retryable write: answer what the first attempt answered, apply nothing twice.
        reply = await previous;
      } else {
        const pending = run().catch((error: unknown) => {
          retryable.session.retryReply = undefined;
          throw error;
        });
        retryable.session.retryReply = pending;
        reply = await pending;
      }
    } else {
      reply = await run();
    }
    if (wrote && bound.txn === undefined) state.clock.tick();
    return { reply, wrote };
  } catch (error) {
    const commandError = error instanceof CommandError ? error : translateUnexpected(state, name, error);
    const txn = binding?.txn;
    // Any failed statement aborts the transaction on the server; the client sees NoSuchTransaction afterwards.
    if (txn !== undefined && txn.state === 'inProgress' && !TRANSACTION_CONTROL.has(name)) {
      state.transactions.abort(txn, `${name} failed: ${commandError.message}`);
    }
    return { reply: commandError.toReply(), wrote };
  }
}

function translateUnexpected(state: SandboxState, name: string, error: unknown): CommandError {
  const translated = translateMingoError(error);
  if (!(error instanceof Error) || error.constructor.name === 'MingoError' || error instanceof SyntaxError) return translated;
  state.log(`internal error while running '${name}': ${error.stack ?? error.message}`);
  return new CommandError('InternalError', `internal error in the delta sandbox while running '${name}': ${error.message}`);
}
