// commitTransaction, abortTransaction, endSessions, killSessions, killAllSessions.
import type { Document } from 'bson';
import { CommandError } from '../errors.js';
import { sessionKeyOf } from '../transactions.js';
import type { CommandContext, CommandSpec } from './command-context.js';

function requireTransaction(context: CommandContext) {
  const txn = context.txn;
  if (txn === undefined) {
    throw new CommandError('InvalidOptions', `${context.name} must be run within a transaction`);
  }
  return txn;
}

function commitTransaction(_command: Document, context: CommandContext): Document {
  const txn = requireTransaction(context);
  // A commit retried by the driver after a network error finds the transaction committed: ok.
  if (txn.state === 'committed') return { ok: 1 };
  const wrote = txn.hasWrites;
  context.state.transactions.commit(txn);
  if (wrote) context.noteWrite();
  return { ok: 1 };
}

function abortTransaction(_command: Document, context: CommandContext): Document {
  const txn = requireTransaction(context);
  context.state.transactions.abort(txn, 'abortTransaction');
  return { ok: 1 };
}

function endSessions(command: Document, context: CommandContext): Document {
  const list = command[context.name];
  if (!Array.isArray(list)) throw new CommandError('TypeMismatch', `BSON field '${context.name}.${context.name}' is the wrong type, expected type 'array'`);
  for (const lsid of list) {
    const key = sessionKeyOf(lsid);
    if (key !== undefined) context.state.transactions.endSession(key);
  }
  return { ok: 1 };
}

function killAllSessions(_command: Document, context: CommandContext): Document {
  context.state.transactions.endAll();
  return { ok: 1 };
}

export const SESSION_COMMANDS: Record<string, CommandSpec> = {
  commitTransaction: { handler: commitTransaction, inTransaction: true, adminOnly: true, fields: ['commitTransaction', 'recoveryToken'] },
  abortTransaction: { handler: abortTransaction, inTransaction: true, adminOnly: true, fields: ['abortTransaction', 'recoveryToken'] },
  endSessions: { handler: endSessions },
  killSessions: { handler: endSessions },
  killAllSessions: { handler: killAllSessions },
  killAllSessionsByPattern: { handler: killAllSessions },
};
