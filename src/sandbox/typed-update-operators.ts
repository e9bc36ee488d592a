// The update operators whose results depend on exact BSON types or equality, evaluated here
// rather than by mingo (which computes with JS numbers): `$inc`/`$mul` keep mongod's result types
// (int32 overflowing to long, long to double, decimal wins), `$min`/`$max` compare in BSON order,
// `$addToSet` compares whole BSON values, `$currentDate` uses the command's time.
import { Decimal128, Double, Long, Timestamp } from 'bson';
import type { Document } from 'bson';
import { compareBson } from './bson-order.js';
import { bsonTypeOf, getPath, isPlainObject, NUMERIC_RANK, numberOf, numericTypeOf, renderValue, valueKey } from './bson-values.js';
import type { NumericType } from './bson-values.js';
import { CommandError } from './errors.js';

const INT32_MIN = -(2n ** 31n);
const INT32_MAX = 2n ** 31n - 1n;
const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

function toBigInt(value: unknown): bigint {
  if (typeof value === 'number') return BigInt(value);
  return BigInt(String(value));
}

/** A double result as it must be stored: integral values in int32 range would come back as int32. */
function asDouble(value: number): unknown {
  return Number.isInteger(value) && value >= -(2 ** 31) && value < 2 ** 31 ? new Double(value) : value;
}

function zeroOf(type: NumericType): unknown {
  switch (type) {
    case 'int':
      return 0;
    case 'long':
      return Long.ZERO;
    case 'double':
      return new Double(0);
    case 'decimal':
      return Decimal128.fromString('0');
  }
}

/**
 * `$inc` / `$mul` with mongod's result types: the wider of the two operand types, int32 results
 * that overflow become int64, int64 overflow is refused. (mingo computes with JS numbers only,
 * which would store an integral double back as an int32 and lose Long/Decimal128 operands.)
 */
function arithmetic(op: '$inc' | '$mul', current: unknown, operand: unknown, path: string, document: Document): unknown {
  const operandType = numericTypeOf(operand) as NumericType;
  if (current === undefined) return op === '$inc' ? operand : zeroOf(operandType);
  const currentType = numericTypeOf(current) as NumericType;
  const rank = Math.max(NUMERIC_RANK[currentType], NUMERIC_RANK[operandType]);
  if (rank === NUMERIC_RANK.decimal) {
    // Computed in binary floating point: exact for the values tests and migrations use.
    const a = numberOf(current) as number;
    const b = numberOf(operand) as number;
    return Decimal128.fromString(String(op === '$inc' ? a + b : a * b));
  }
  if (rank === NUMERIC_RANK.double) {
    const a = numberOf(current) as number;
    const b = numberOf(operand) as number;
    return asDouble(op === '$inc' ? a + b : a * b);
  }
  const a = toBigInt(current);
  const b = toBigInt(operand);
  const result = op === '$inc' ? a + b : a * b;
  if (rank === NUMERIC_RANK.int && result >= INT32_MIN && result <= INT32_MAX) return Number(result);
  if (result >= INT64_MIN && result <= INT64_MAX) return Long.fromBigInt(result);
  throw new CommandError('BadValue', `Failed to apply ${op} operations to current value (${renderValue(current)}) for document {_id: ${renderValue(document._id)}} at path '${path}'`);
}

function addToSet(current: unknown, argument: unknown): unknown[] {
  const existing = Array.isArray(current) ? current.slice() : [];
  let values: unknown[] = [argument];
  if (isPlainObject(argument) && Object.prototype.hasOwnProperty.call(argument, '$each')) {
    if (!Array.isArray(argument.$each)) {
      throw new CommandError('TypeMismatch', `The argument to $each in $addToSet must be an array but it was of type ${bsonTypeOf(argument.$each)}`);
    }
    values = argument.$each;
  }
  const keys = new Set(existing.map(valueKey));
  for (const value of values) {
    const key = valueKey(value);
    if (keys.has(key)) continue;
    keys.add(key);
    existing.push(value);
  }
  return existing;
}

/**
 * Evaluates the operators whose results depend on exact BSON types or equality ($inc, $mul, $min,
 * $max, $addToSet, $currentDate) on plain paths, turning them into `$set`s; what remains (and
 * every positional path) is left to mingo.
 */
export function resolveTypedOperators(document: Document, modifier: Document, now: Date): Document {
  const remaining: Document = {};
  const sets: Document = {};
  for (const op of Object.keys(modifier)) {
    const args = modifier[op] as Document;
    if (!['$inc', '$mul', '$min', '$max', '$addToSet', '$currentDate'].includes(op)) {
      remaining[op] = args;
      continue;
    }
    const leftover: Document = {};
    for (const path of Object.keys(args)) {
      if (path.includes('$')) {
        leftover[path] = args[path];
        continue;
      }
      const current = getPath(document, path);
      const operand = args[path];
      switch (op) {
        case '$inc':
        case '$mul':
          sets[path] = arithmetic(op, current, operand, path, document);
          break;
        case '$min':
        case '$max': {
          const order = current === undefined ? 0 : compareBson(operand, current);
          if (current === undefined || (op === '$min' ? order < 0 : order > 0)) sets[path] = operand;
          break;
        }
        case '$addToSet':
          sets[path] = addToSet(current, operand);
          break;
        default:
          sets[path] = isPlainObject(operand) && operand.$type === 'timestamp' ? new Timestamp({ t: Math.floor(now.getTime() / 1000), i: 1 }) : new Date(now.getTime());
      }
    }
    if (Object.keys(leftover).length > 0) remaining[op] = leftover;
  }
  if (Object.keys(sets).length > 0) remaining.$set = { ...(remaining.$set as Document | undefined), ...sets };
  return remaining;
}
