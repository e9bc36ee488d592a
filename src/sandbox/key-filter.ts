// Filters decided from index keys alone. A filter made only of $eq / $in / $gt / $gte / $lt /
// $lte on scalar values (JS numbers, strings, booleans, dates, ObjectIds) over fields of one index
// that are not multikey is answered by comparing each row's key, without fetching the document
// into the matcher: the common `{ _id: { $in: [...] } }`, `{ email }` and `_id` range pages.
// Keys the comparison cannot decide exactly (Long and Decimal128 values, which compare as
// doubles here, and NaN) are left to the full filter.
import type { Document } from 'bson';
import { isPlainObject, valueKey } from './bson-values.js';
import { compareKeyValues, keyRank } from './index-keys.js';
import type { OrderedIndex } from './ordered-index.js';

/** true / false: the row's document matches or not; undefined: ask the full filter. */
export type KeyFilter = (key: unknown) => boolean | undefined;

type Check = (value: unknown) => boolean;

function exactOperand(value: unknown): boolean {
  return (
    typeof value === 'string' ||
    (typeof value === 'number' && !Number.isNaN(value)) ||
    typeof value === 'boolean' ||
    value instanceof Date ||
    (value as { _bsontype?: string } | null)?._bsontype === 'ObjectId'
  );
}

/** Key values compared exactly: JS numbers, strings, booleans, dates, ObjectIds. */
function decidable(value: unknown): boolean {
  if (typeof value === 'number') return !Number.isNaN(value);
  if (typeof value === 'string' || typeof value === 'boolean' || value instanceof Date) return true;
  return (value as { _bsontype?: string } | null)?._bsontype === 'ObjectId' || value === null;
}

function operatorCheck(op: string, operand: unknown): Check | undefined {
  if (op === '$in') {
    if (!Array.isArray(operand) || !operand.every(exactOperand)) return undefined;
    // For these values (no wrappers, no NaN) equal canonical keys mean equal values of one type.
    const keys = new Set(operand.map(valueKey));
    return (value) => keys.has(valueKey(value));
  }
  if (!exactOperand(operand)) return undefined;
  const rank = keyRank(operand);
  // Comparisons hold only within one type (mongod's type bracketing); null never matches these.
  const order = (value: unknown): number | undefined => (keyRank(value) === rank ? compareKeyValues(value, operand) : undefined);
  switch (op) {
    case '$eq':
      return (value) => order(value) === 0;
    case '$gt':
      return (value) => (order(value) ?? 0) > 0;
    case '$gte':
      return (value) => order(value) !== undefined && (order(value) as number) >= 0;
    case '$lt':
      return (value) => (order(value) ?? 0) < 0;
    case '$lte':
      return (value) => order(value) !== undefined && (order(value) as number) <= 0;
    default:
      return undefined;
  }
}

/** The key filter of `filter` on `index`, or undefined when the filter needs the matcher. */
export function keyFilterFor(filter: Document, index: OrderedIndex): KeyFilter | undefined {
  const fields = Object.keys(filter);
  if (fields.length === 0 || index.sparse || index.partial) return undefined;
  const checks: Array<[number, Check]> = [];
  for (const field of fields) {
    const position = index.fields.indexOf(field);
    if (position < 0 || index.multikey[position] === true) return undefined;
    const condition = filter[field];
    if (!isPlainObject(condition)) {
      const check = operatorCheck('$eq', condition);
      if (check === undefined) return undefined;
      checks.push([position, check]);
      continue;
    }
    const ops = Object.keys(condition);
    if (ops.length === 0) return undefined;
    for (const op of ops) {
      const check = operatorCheck(op, condition[op]);
      if (check === undefined) return undefined;
      checks.push([position, check]);
    }
  }
  return (key) => {
    for (const [position, check] of checks) {
      // An array stored since planning: its elements may meet the conditions separately.
      if (index.multikey[position] === true) return undefined;
      const value = index.keyPart(key, position);
      if (!decidable(value)) return undefined;
      if (!check(value)) return false;
    }
    return true;
  };
}
