// Helpers over deserialized BSON values: canonical keys (for the _id map and unique indexes),
// copying documents without losing bson types, BSON type names, and mongod's value rendering.
import type { Document } from 'bson';

interface BsonTagged {
  readonly _bsontype: string;
}

function bsonTag(value: object): string | undefined {
  return (value as Partial<BsonTagged>)._bsontype;
}

export function isPlainObject(value: unknown): value is Document {
  if (value === null || typeof value !== 'object') return false;
  const proto = Object.getPrototypeOf(value) as unknown;
  return proto === Object.prototype || proto === null;
}

/**
 * A string equal for two values exactly when mongod's index treats them as the same key:
 * numbers compare by value across int/long/double (so _id 1 and 1.0 collide, as in mongod),
 * objects compare field by field in order.
 */
export function valueKey(value: unknown): string {
  switch (typeof value) {
    case 'string':
      return `s${value}`;
    case 'number':
      return `n${Object.is(value, -0) ? 0 : value}`;
    case 'boolean':
      return value ? 'b1' : 'b0';
    case 'bigint':
      return `n${value}`;
    case 'undefined':
      return 'N';
    default:
      break;
  }
  if (value === null) return 'N';
  if (Array.isArray(value)) return `[${JSON.stringify(value.map(valueKey))}`;
  if (value instanceof Date) return `D${value.getTime()}`;
  if (value instanceof RegExp) return `R${value.source}/${value.flags}`;
  if (typeof value === 'object') {
    const tag = bsonTag(value);
    switch (tag) {
      case 'ObjectId':
        return `o${(value as { toHexString(): string }).toHexString()}`;
      case 'Long':
      case 'Int32':
      case 'Double':
        return `n${String((value as { valueOf(): unknown }).valueOf?.() ?? value)}`;
      case 'Decimal128':
        return `n${normalizeDecimalString(String(value))}`;
      case 'Binary': {
        const binary = value as { sub_type: number; toString(encoding: 'base64'): string };
        return `B${binary.sub_type}:${binary.toString('base64')}`;
      }
      case 'Timestamp': {
        const ts = value as { t: number; i: number };
        return `T${ts.t}:${ts.i}`;
      }
      case 'MinKey':
        return '-';
      case 'MaxKey':
        return '+';
      case 'BSONRegExp': {
        const re = value as { pattern: string; options: string };
        return `R${re.pattern}/${re.options}`;
      }
      case 'Code':
        return `c${String((value as { code: unknown }).code)}`;
      case 'BSONSymbol':
        return `s${String(value)}`;
      default:
        break;
    }
    const entries = Object.keys(value).map((k) => [k, valueKey((value as Document)[k])]);
    return `{${JSON.stringify(entries)}`;
  }
  return `?${String(value)}`;
}

function normalizeDecimalString(text: string): string {
  const n = Number(text);
  return Number.isFinite(n) && String(n) === text.replace(/\.0+$/, '') ? String(n) : text;
}

/**
 * A deep copy of a document: plain objects, arrays and Dates are copied; bson value classes
 * (ObjectId, Long, Decimal128, Binary, Timestamp, ...) are immutable in practice and shared,
 * which keeps their types intact where structuredClone would turn them into plain objects.
 */
export function cloneValue<T>(value: T): T {
  if (value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) {
    const copy = new Array<unknown>(value.length);
    for (let i = 0; i < value.length; i++) copy[i] = cloneValue(value[i] as unknown);
    return copy as T;
  }
  if (value instanceof Date) return new Date(value.getTime()) as T;
  if (isPlainObject(value)) {
    const source: Document = value;
    const copy: Document = {};
    for (const key of Object.keys(source)) copy[key] = cloneValue(source[key]);
    return copy as T;
  }
  return value;
}

export function cloneDocument(document: Document): Document {
  return cloneValue(document);
}

export type BsonTypeName =
  | 'double'
  | 'string'
  | 'object'
  | 'array'
  | 'binData'
  | 'undefined'
  | 'objectId'
  | 'bool'
  | 'date'
  | 'null'
  | 'regex'
  | 'javascript'
  | 'symbol'
  | 'int'
  | 'timestamp'
  | 'long'
  | 'decimal'
  | 'minKey'
  | 'maxKey'
  | 'missing';

/**
 * The BSON type a stored value will have on the wire. JS numbers are serialized as int32 when
 * integral and in range, otherwise as double, so that is what they are reported as.
 */
export function bsonTypeOf(value: unknown): BsonTypeName {
  switch (typeof value) {
    case 'undefined':
      return 'missing';
    case 'string':
      return 'string';
    case 'boolean':
      return 'bool';
    case 'bigint':
      return 'long';
    case 'number':
      return Number.isInteger(value) && value >= -(2 ** 31) && value < 2 ** 31 ? 'int' : 'double';
    default:
      break;
  }
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  if (value instanceof Date) return 'date';
  if (value instanceof RegExp) return 'regex';
  const tag = bsonTag(value as object);
  switch (tag) {
    case 'ObjectId':
      return 'objectId';
    case 'Long':
      return 'long';
    case 'Int32':
      return 'int';
    case 'Double':
      return 'double';
    case 'Decimal128':
      return 'decimal';
    case 'Binary':
      return 'binData';
    case 'Timestamp':
      return 'timestamp';
    case 'MinKey':
      return 'minKey';
    case 'MaxKey':
      return 'maxKey';
    case 'BSONRegExp':
      return 'regex';
    case 'Code':
      return 'javascript';
    case 'BSONSymbol':
      return 'symbol';
    default:
      return 'object';
  }
}

/** Renders a value the way mongod's BSONObj::toString does in error messages (E11000 dup key: { email: "a" }). */
export function renderValue(value: unknown): string {
  if (value === undefined) return 'undefined';
  if (value === null) return 'null';
  switch (typeof value) {
    case 'string':
      return JSON.stringify(value);
    case 'number':
      if (Number.isInteger(value) && bsonTypeOf(value) === 'double') return `${value}.0`;
      return String(value);
    case 'boolean':
    case 'bigint':
      return String(value);
    default:
      break;
  }
  if (Array.isArray(value)) return value.length === 0 ? '[]' : `[ ${value.map(renderValue).join(', ')} ]`;
  if (value instanceof Date) return `new Date(${value.getTime()})`;
  if (value instanceof RegExp) return `/${value.source}/${value.flags}`;
  const tag = bsonTag(value as object);
  switch (tag) {
    case 'ObjectId':
      return `ObjectId('${(value as { toHexString(): string }).toHexString()}')`;
    case 'Double': {
      const n = (value as { value: number }).value;
      return Number.isInteger(n) ? `${n}.0` : String(n);
    }
    case 'Long':
    case 'Int32':
      return String(value);
    case 'Decimal128':
      return String(value);
    case 'Binary': {
      const binary = value as { sub_type: number; toString(encoding: 'base64'): string };
      return `BinData(${binary.sub_type}, ${binary.toString('base64')})`;
    }
    case 'Timestamp': {
      const ts = value as { t: number; i: number };
      return `Timestamp(${ts.t}, ${ts.i})`;
    }
    case 'MinKey':
      return 'MinKey';
    case 'MaxKey':
      return 'MaxKey';
    default:
      break;
  }
  const keys = Object.keys(value as Document);
  if (keys.length === 0) return '{}';
  return `{ ${keys.map((k) => `${k}: ${renderValue((value as Document)[k])}`).join(', ')} }`;
}

/** Reads a dotted path without array traversal (`a.0.b` indexes arrays); undefined when missing. */
export function getPath(document: Document, path: string): unknown {
  let current: unknown = document;
  for (const part of path.split('.')) {
    if (current === null || typeof current !== 'object') return undefined;
    if (Array.isArray(current)) {
      if (!/^\d+$/.test(part)) return undefined;
      current = current[Number(part)];
    } else {
      if (!Object.prototype.hasOwnProperty.call(current, part)) return undefined;
      current = (current as Document)[part];
    }
  }
  return current;
}

/** Approximate BSON size of a document, used for dbStats/collStats only. */
export function approximateSize(value: unknown): number {
  switch (typeof value) {
    case 'string':
      return value.length + 5;
    case 'number':
      return 8;
    case 'boolean':
      return 1;
    case 'undefined':
      return 0;
    default:
      break;
  }
  if (value === null) return 0;
  if (Array.isArray(value)) return value.reduce((sum: number, item) => sum + approximateSize(item) + 3, 5);
  if (value instanceof Date) return 8;
  if (isPlainObject(value)) {
    let size = 5;
    for (const key of Object.keys(value)) size += key.length + 2 + approximateSize(value[key]);
    return size;
  }
  return 16;
}

// ---- numbers ---------------------------------------------------------------------------------

/** Numeric BSON types from narrowest to widest, as mongod widens arithmetic results. */
export type NumericType = 'int' | 'long' | 'double' | 'decimal';

export const NUMERIC_RANK: Readonly<Record<NumericType, number>> = { int: 0, long: 1, double: 2, decimal: 3 };

/** The numeric BSON type of a value, or undefined for non-numbers. */
export function numericTypeOf(value: unknown): NumericType | undefined {
  const type = bsonTypeOf(value);
  return type === 'int' || type === 'long' || type === 'double' || type === 'decimal' ? type : undefined;
}

/** The value of any numeric BSON value as a JS number (Decimal128 and big Longs approximately). */
export function numberOf(value: unknown): number | undefined {
  if (typeof value === 'number') return value;
  if (typeof value === 'bigint') return Number(value);
  if (value === null || typeof value !== 'object') return undefined;
  switch (bsonTag(value)) {
    case 'Long':
      return (value as { toNumber(): number }).toNumber();
    case 'Int32':
    case 'Double':
      return (value as { value: number }).value;
    case 'Decimal128':
      return Number(String(value));
    default:
      return undefined;
  }
}

/** Whether a value is a bson numeric wrapper the query engine cannot compare natively. */
export function isNumericWrapper(value: unknown): boolean {
  if (value === null || typeof value !== 'object') return false;
  const tag = bsonTag(value);
  return tag === 'Long' || tag === 'Double' || tag === 'Decimal128' || tag === 'Int32';
}

/**
 * Normalizes a document deserialized with promoteValues: false, in place: int32 becomes a JS
 * number (it serializes back as int32), a double becomes a JS number unless it is integral and
 * in int32 range (then it would come back as int32, so it stays a Double), and int64 stays a
 * Long. Every value therefore round-trips with its BSON type.
 */
export function normalizeNumbers(value: unknown): unknown {
  if (value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) value[i] = normalizeNumbers(value[i]);
    return value;
  }
  const tag = bsonTag(value);
  if (tag === 'Int32') return (value as { value: number }).value;
  if (tag === 'Double') {
    const n = (value as { value: number }).value;
    return Number.isInteger(n) && n >= -(2 ** 31) && n < 2 ** 31 && !Object.is(n, -0) ? value : n;
  }
  if (tag !== undefined || value instanceof Date || value instanceof RegExp) return value;
  const document = value as Document;
  for (const key of Object.keys(document)) document[key] = normalizeNumbers(document[key]);
  return document;
}

// ---- paths -------------------------------------------------------------------------------------

/**
 * The values a query path reaches, as mongod's matcher sees them: intermediate arrays are
 * traversed element by element (and by numeric index), the value at the end of the path is
 * reported as is (an array is reported whole; callers decide whether its elements count).
 */
export function leafValues(document: unknown, path: string): unknown[] {
  const out: unknown[] = [];
  const parts = path.split('.');
  const walk = (value: unknown, index: number): void => {
    if (index === parts.length) {
      out.push(value);
      return;
    }
    const part = parts[index] as string;
    if (Array.isArray(value)) {
      if (/^\d+$/.test(part) && Number(part) < value.length) walk(value[Number(part)], index + 1);
      for (const item of value) if (isPlainObject(item)) walk(item, index);
      return;
    }
    if (isPlainObject(value)) {
      walk(Object.prototype.hasOwnProperty.call(value, part) ? value[part] : undefined, index + 1);
      return;
    }
    if (index > 0) out.push(undefined);
  };
  walk(document, 0);
  return out;
}
