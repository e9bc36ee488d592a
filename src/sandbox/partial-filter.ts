// Whether a query may use a partial index: every document the query matches must be in the
// index, i.e. the query implies the index's partialFilterExpression. Decided clause by clause:
// the same clause in the query, or a query predicate whose bounds lie inside the clause's exact
// bounds ($eq/$gt/$gte/$lt/$lte on scalars, $exists: true). Anything else: not implied (a scan or
// another index answers instead, which is slower but never wrong).
import type { Document } from 'bson';
import { bsonTypeOf, isPlainObject, valueKey } from './bson-values.js';
import type { FieldBounds, Interval } from './index-bounds.js';
import { admitsNull, compareBounds, predicateBounds, TypeEdge } from './index-bounds.js';
import { keyRank } from './index-keys.js';

const EXACT_TYPES = new Set(['double', 'int', 'long', 'decimal', 'string', 'objectId', 'bool', 'date', 'timestamp']);

/** Top-level clauses of a filter, with `$and` flattened, as [path, condition] pairs. */
function clauses(filter: Document): Array<[string, unknown]> {
  const out: Array<[string, unknown]> = [];
  for (const key of Object.keys(filter)) {
    const value = filter[key];
    if (key === '$and' && Array.isArray(value)) {
      for (const item of value) if (isPlainObject(item)) out.push(...clauses(item));
    } else {
      out.push([key, value]);
    }
  }
  return out;
}

/** The exact interval of one partial-filter operator, or undefined when it has none. */
function exactInterval(op: string, operand: unknown): Interval | undefined {
  if (!EXACT_TYPES.has(bsonTypeOf(operand))) return undefined;
  const rank = keyRank(operand);
  const at = (inclusive: boolean) => ({ value: operand, inclusive });
  switch (op) {
    case '$eq':
      return { low: at(true), high: at(true) };
    case '$gt':
    case '$gte':
      return { low: at(op === '$gte'), high: { value: new TypeEdge(rank, 'high'), inclusive: true } };
    case '$lt':
    case '$lte':
      return { low: { value: new TypeEdge(rank, 'low'), inclusive: true }, high: at(op === '$lte') };
    default:
      return undefined;
  }
}

function within(inner: Interval, outer: Interval): boolean {
  const low = compareBounds(inner.low.value, outer.low.value);
  if (low < 0 || (low === 0 && inner.low.inclusive && !outer.low.inclusive)) return false;
  const high = compareBounds(inner.high.value, outer.high.value);
  return !(high > 0 || (high === 0 && inner.high.inclusive && !outer.high.inclusive));
}

function boundsWithin(bounds: FieldBounds, outer: Interval): boolean {
  return bounds.every((interval) => within(interval, outer));
}

/** Whether every document matching `filter` also matches `partialFilter`. */
export function impliesPartialFilter(filter: Document, partialFilter: Document): boolean {
  const queryClauses = clauses(filter);
  const verbatim = new Set(queryClauses.map(([path, condition]) => `${path}\u0000${valueKey(condition)}`));
  const queryBounds = predicateBounds(filter);
  for (const [path, condition] of clauses(partialFilter)) {
    if (verbatim.has(`${path}\u0000${valueKey(condition)}`)) continue;
    if (path.startsWith('$')) return false;
    const predicates = queryBounds.get(path) ?? [];
    const operators = isPlainObject(condition) && Object.keys(condition).every((op) => op.startsWith('$')) ? condition : { $eq: condition };
    for (const op of Object.keys(operators)) {
      const operand = operators[op];
      if (op === '$exists' && operand === true) {
        if (!predicates.some((bounds) => !admitsNull(bounds))) return false;
        continue;
      }
      const interval = exactInterval(op, operand);
      // One query predicate inside the clause's interval suffices (on a multikey field the
      // query's predicates may be met by different elements, so they are not combined).
      if (interval === undefined || !predicates.some((bounds) => boundsWithin(bounds, interval))) return false;
    }
  }
  return true;
}
