// The MongoDB 8.0 `bulkWrite` admin command (client.bulkWrite() in drivers for wire version 25):
// operations on many namespaces in one command, answered with a cursor of per-operation results.
import { Long } from 'bson';
import type { Document } from 'bson';
import { isPlainObject } from '../bson-values.js';
import { CommandError, ERROR_CODES, unknownFieldError } from '../errors.js';
import { validateCollectionName, validateDatabaseName } from '../storage.js';
import { executeDelete, executeUpdate, insertDocument } from '../write-operations.js';
import { optionalArray, optionalBoolean, optionalDocument } from './command-context.js';
import type { CommandContext, CommandSpec } from './command-context.js';

const OP_FIELDS = {
  insert: new Set(['insert', 'document']),
  update: new Set(['update', 'filter', 'updateMods', 'multi', 'upsert', 'arrayFilters', 'hint', 'collation', 'sort', 'constants']),
  delete: new Set(['delete', 'filter', 'multi', 'hint', 'collation']),
} as const;

interface Namespace {
  readonly db: string;
  readonly coll: string;
}

function parseNamespaces(nsInfo: unknown[]): Namespace[] {
  return nsInfo.map((entry) => {
    if (!isPlainObject(entry) || typeof entry.ns !== 'string') throw new CommandError('Location40414', "BSON field 'bulkWrite.nsInfo.ns' is missing but a required field");
    const dot = entry.ns.indexOf('.');
    if (dot <= 0) throw new CommandError('InvalidNamespace', `Invalid namespace specified '${entry.ns}'`);
    const db = entry.ns.slice(0, dot);
    validateDatabaseName(db);
    return { db, coll: validateCollectionName(db, entry.ns.slice(dot + 1)) };
  });
}

function namespaceOf(namespaces: Namespace[], index: unknown): Namespace {
  const i = typeof index === 'number' ? index : Number(index);
  const namespace = namespaces[i];
  if (!Number.isInteger(i) || namespace === undefined) {
    throw new CommandError('BadValue', `BulkWrite ops entry refers to namespace index ${String(index)}, but only ${namespaces.length} namespaces were given`);
  }
  return namespace;
}

async function bulkWriteCommand(command: Document, context: CommandContext): Promise<Document> {
  const ops = optionalArray(command, 'bulkWrite', 'ops');
  const nsInfo = optionalArray(command, 'bulkWrite', 'nsInfo');
  if (ops === undefined) throw new CommandError('Location40414', "BSON field 'bulkWrite.ops' is missing but a required field");
  if (nsInfo === undefined) throw new CommandError('Location40414', "BSON field 'bulkWrite.nsInfo' is missing but a required field");
  if (ops.length === 0) throw new CommandError('InvalidLength', 'Write batch sizes must be between 1 and 100000. Got 0 operations.');
  const namespaces = parseNamespaces(nsInfo);
  const ordered = optionalBoolean(command, 'bulkWrite', 'ordered') ?? true;
  const errorsOnly = optionalBoolean(command, 'bulkWrite', 'errorsOnly') ?? false;
  const bypass = optionalBoolean(command, 'bulkWrite', 'bypassDocumentValidation') ?? false;
  const letVariables = optionalDocument(command, 'bulkWrite', 'let');
  const results: Document[] = [];
  const totals = { nErrors: 0, nInserted: 0, nMatched: 0, nModified: 0, nUpserted: 0, nDeleted: 0 };

  for (let idx = 0; idx < ops.length; idx++) {
    const op = ops[idx];
    try {
      if (!isPlainObject(op)) throw new CommandError('TypeMismatch', 'bulkWrite ops entries must be objects');
      const kind = (['insert', 'update', 'delete'] as const).find((name) => Object.prototype.hasOwnProperty.call(op, name));
      if (kind === undefined) throw new CommandError('FailedToParse', 'Unrecognized bulkWrite operation: expected insert, update or delete');
      for (const field of Object.keys(op)) if (!OP_FIELDS[kind].has(field)) throw unknownFieldError(`bulkWrite.ops.${kind}`, field);
      const namespace = namespaceOf(namespaces, op[kind]);
      const scoped: CommandContext = { ...context, db: namespace.db };
      if (kind === 'insert') {
        await insertDocument(scoped, namespace.coll, op.document, bypass);
        totals.nInserted += 1;
        if (!errorsOnly) results.push({ ok: 1, idx, n: 1 });
      } else if (kind === 'update') {
        const outcome = await executeUpdate(scoped, namespace.coll, {
          q: op.filter,
          u: op.updateMods,
          multi: op.multi === true,
          upsert: op.upsert === true,
          arrayFilters: op.arrayFilters as Document[] | undefined,
          collation: op.collation as Document | undefined,
          sort: op.sort,
          let: { ...letVariables, ...(isPlainObject(op.constants) ? op.constants : {}) },
          bypassValidation: bypass,
        });
        const upserted = outcome.upsertedId !== undefined;
        totals.nMatched += upserted ? 0 : outcome.n;
        totals.nModified += outcome.nModified;
        if (upserted) totals.nUpserted += 1;
        if (!errorsOnly) {
          const result: Document = { ok: 1, idx, n: outcome.n, nModified: outcome.nModified };
          if (upserted) result.upserted = { _id: outcome.upsertedId };
          results.push(result);
        }
      } else {
        const n = await executeDelete(scoped, namespace.coll, { q: op.filter, limit: op.multi === true ? 0 : 1, collation: op.collation as Document | undefined, let: letVariables });
        totals.nDeleted += n;
        if (!errorsOnly) results.push({ ok: 1, idx, n });
      }
    } catch (error) {
      if (context.txn !== undefined || !(error instanceof CommandError) || error.code === ERROR_CODES.MaxTimeMSExpired) throw error;
      totals.nErrors += 1;
      results.push({ ok: 0, idx, code: error.code, codeName: error.codeName, errmsg: error.message, ...error.extra });
      if (ordered) break;
    }
  }
  context.state.counters.opcounters.command += 1;
  return {
    cursor: { id: Long.ZERO, firstBatch: results, ns: 'admin.$cmd.bulkWrite' },
    ...totals,
    ok: 1,
  };
}

export const BULK_WRITE_COMMANDS: Record<string, CommandSpec> = {
  bulkWrite: {
    handler: bulkWriteCommand,
    fields: ['bulkWrite', 'ops', 'nsInfo', 'ordered', 'errorsOnly', 'bypassDocumentValidation', 'let', 'cursor'],
    inTransaction: true,
    retryableWrite: true,
    adminOnly: true,
  },
};
