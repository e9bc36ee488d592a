// explain: plans the inner command (find, count, distinct, aggregate, update, delete,
// findAndModify) with the query planner and answers queryPlanner.winningPlan without executing it.
import type { Document } from 'bson';
import { isPlainObject } from '../bson-values.js';
import { CommandError } from '../errors.js';
import { explainPlan } from '../query-explain.js';
import type { ExplainShape } from '../query-explain.js';
import { planQuery } from '../query-planner.js';
import type { QueryPlan } from '../query-planner.js';
import { validateSort } from '../find-engine.js';
import { AGGREGATE_COMMANDS } from './aggregate-command.js';
import type { CommandContext, CommandSpec } from './command-context.js';
import { checkHint } from './crud-commands.js';

const EXPLAINABLE = new Set(['find', 'count', 'distinct', 'aggregate', 'update', 'delete', 'findAndModify', 'findandmodify']);

interface ExplainTarget {
  readonly filter: Document;
  readonly shape: ExplainShape;
  readonly hint: unknown;
  readonly collation: unknown;
  /** The stage mongod puts above the query plan (UPDATE, DELETE, COUNT). */
  readonly wrapper: string | undefined;
}

function asDocument(value: unknown): Document {
  return isPlainObject(value) ? value : {};
}

function asNumber(value: unknown): number | undefined {
  if (value === undefined || value === null) return undefined;
  const n = Number(value);
  return Number.isFinite(n) ? n : undefined;
}

/** What to plan for each explainable command. */
function targetOf(name: string, inner: Document): ExplainTarget {
  switch (name) {
    case 'find':
      return {
        filter: asDocument(inner.filter),
        shape: { sort: validateSort(inner.sort), skip: asNumber(inner.skip), limit: asNumber(inner.limit), projection: isPlainObject(inner.projection) ? inner.projection : undefined },
        hint: inner.hint,
        collation: inner.collation,
        wrapper: undefined,
      };
    case 'count':
      return { filter: asDocument(inner.query), shape: {}, hint: inner.hint, collation: inner.collation, wrapper: 'COUNT' };
    case 'distinct':
      return { filter: asDocument(inner.query), shape: {}, hint: inner.hint, collation: inner.collation, wrapper: undefined };
    case 'update': {
      const statement = asDocument(Array.isArray(inner.updates) ? inner.updates[0] : undefined);
      const single = statement.multi !== true;
      return { filter: asDocument(statement.q), shape: { sort: validateSort(statement.sort), limit: single ? 1 : undefined }, hint: statement.hint, collation: statement.collation, wrapper: 'UPDATE' };
    }
    case 'delete': {
      const statement = asDocument(Array.isArray(inner.deletes) ? inner.deletes[0] : undefined);
      return { filter: asDocument(statement.q), shape: { limit: asNumber(statement.limit) === 1 ? 1 : undefined }, hint: statement.hint, collation: statement.collation, wrapper: 'DELETE' };
    }
    default:
      return {
        filter: asDocument(inner.query),
        shape: { sort: validateSort(inner.sort), limit: 1 },
        hint: inner.hint,
        collation: inner.collation,
        wrapper: inner.remove === true ? 'DELETE' : 'UPDATE',
      };
  }
}

async function explainCommand(command: Document, context: CommandContext): Promise<Document> {
  const inner = command.explain;
  if (inner === undefined || inner === null) throw new CommandError('Location40414', "BSON field 'explain.explain' is missing but a required field");
  if (!isPlainObject(inner)) throw new CommandError('TypeMismatch', "BSON field 'explain.explain' is the wrong type, expected type 'object'");
  const name = Object.keys(inner)[0] ?? '';
  if (!EXPLAINABLE.has(name)) throw new CommandError('CommandNotFound', `Explain failed due to unknown command: ${name}`);
  const verbosity = command.verbosity ?? 'allPlansExecution';
  if (!['queryPlanner', 'executionStats', 'allPlansExecution'].includes(String(verbosity))) {
    throw new CommandError('FailedToParse', `verbosity string must be one of {'queryPlanner', 'executionStats', 'allPlansExecution'}`);
  }
  const collectionName = typeof inner[name] === 'string' ? (inner[name] as string) : '';
  const serverInfo = { host: context.state.topology.hostPort, version: '8.0.0' };
  if (name === 'aggregate') {
    const reply = await AGGREGATE_COMMANDS.aggregate?.handler({ ...inner, explain: true, $db: context.db }, context);
    return { ...reply, command: { ...inner, $db: context.db }, serverInfo, ok: 1 };
  }
  const target = targetOf(name, inner);
  const collection = context.state.storage.getCollection(context.db, collectionName);
  checkHint(collection, target.hint);
  const plan: QueryPlan =
    collection === undefined
      ? { kind: 'collscan', sort: target.shape.sort }
      : planQuery(collection, { filter: target.filter, sort: target.shape.sort, limit: target.shape.limit, hint: target.hint, collation: target.collation });
  let winningPlan = explainPlan(plan, target.filter, target.shape);
  if (collection === undefined) winningPlan = { stage: 'EOF' };
  if (target.wrapper !== undefined) winningPlan = { stage: target.wrapper, inputStage: winningPlan };
  return {
    explainVersion: '1',
    queryPlanner: {
      namespace: `${context.db}.${collectionName}`,
      parsedQuery: target.filter,
      indexFilterSet: false,
      winningPlan,
      rejectedPlans: [],
    },
    command: { ...inner, $db: context.db },
    serverInfo,
    ok: 1,
  };
}

export const EXPLAIN_COMMANDS: Record<string, CommandSpec> = {
  explain: { handler: explainCommand, fields: ['explain', 'verbosity'] },
};
