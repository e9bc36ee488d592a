// How mongod orders BSON values: the canonical type order, then each type's own comparison
// (numbers across int/long/double/decimal, strings through a collation), for comparisons,
// sorts and index keys.
import type { Document } from 'bson';
import { bsonTypeOf, isPlainObject, numberOf } from './bson-values.js';

/** mongod's canonical type order for comparisons and sorts (MinKey < null < numbers < ...). */
export function typeRank(value: unknown): number {
  switch (bsonTypeOf(value)) {
    case 'minKey':
      return 1;
    case 'missing':
    case 'undefined':
    case 'null':
      return 2;
    case 'int':
    case 'long':
    case 'double':
    case 'decimal':
      return 3;
    case 'string':
    case 'symbol':
      return 4;
    case 'object':
      return 5;
    case 'array':
      return 6;
    case 'binData':
      return 7;
    case 'objectId':
      return 8;
    case 'bool':
      return 9;
    case 'date':
      return 10;
    case 'timestamp':
      return 11;
    case 'regex':
      return 12;
    case 'javascript':
      return 13;
    case 'maxKey':
      return 100;
    default:
      return 50;
  }
}

function simpleCompare<T>(a: T, b: T): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Compares two BSON values the way mongod orders them (`collator` for string comparison). */
export function compareBson(a: unknown, b: unknown, collator?: Intl.Collator): number {
  const rankA = typeRank(a);
  const rankB = typeRank(b);
  if (rankA !== rankB) return simpleCompare(rankA, rankB);
  switch (rankA) {
    case 3: {
      const x = numberOf(a) as number;
      const y = numberOf(b) as number;
      if (Number.isNaN(x) || Number.isNaN(y)) return Number.isNaN(x) ? (Number.isNaN(y) ? 0 : -1) : 1;
      return simpleCompare(x, y);
    }
    case 4:
      return collator === undefined ? simpleCompare(String(a), String(b)) : collator.compare(String(a), String(b));
    case 5: {
      const keysA = Object.keys(a as Document);
      const keysB = Object.keys(b as Document);
      for (let i = 0; i < Math.min(keysA.length, keysB.length); i++) {
        const valueOrder = simpleCompare(typeRank((a as Document)[keysA[i] as string]), typeRank((b as Document)[keysB[i] as string]));
        if (valueOrder !== 0) return valueOrder;
        const nameOrder = simpleCompare(keysA[i] as string, keysB[i] as string);
        if (nameOrder !== 0) return nameOrder;
        const order = compareBson((a as Document)[keysA[i] as string], (b as Document)[keysB[i] as string], collator);
        if (order !== 0) return order;
      }
      return simpleCompare(keysA.length, keysB.length);
    }
    case 6: {
      const x = a as unknown[];
      const y = b as unknown[];
      for (let i = 0; i < Math.min(x.length, y.length); i++) {
        const order = compareBson(x[i], y[i], collator);
        if (order !== 0) return order;
      }
      return simpleCompare(x.length, y.length);
    }
    case 7: {
      const x = a as { sub_type: number; buffer: Uint8Array };
      const y = b as { sub_type: number; buffer: Uint8Array };
      if (x.buffer.length !== y.buffer.length) return simpleCompare(x.buffer.length, y.buffer.length);
      if (x.sub_type !== y.sub_type) return simpleCompare(x.sub_type, y.sub_type);
      return Buffer.compare(Buffer.from(x.buffer), Buffer.from(y.buffer));
    }
    case 8:
      return simpleCompare((a as { toHexString(): string }).toHexString(), (b as { toHexString(): string }).toHexString());
    case 9:
      return simpleCompare(a === true ? 1 : 0, b === true ? 1 : 0);
    case 10:
      return simpleCompare((a as Date).getTime(), (b as Date).getTime());
    case 11: {
      const x = a as { t: number; i: number };
      const y = b as { t: number; i: number };
      return x.t !== y.t ? simpleCompare(x.t, y.t) : simpleCompare(x.i, y.i);
    }
    case 12: {
      const x = a as RegExp;
      const y = b as RegExp;
      return x.source !== y.source ? simpleCompare(x.source, y.source) : simpleCompare(x.flags, y.flags);
    }
    default:
      return 0;
  }
}

/** An Intl.Collator for a MongoDB collation document (undefined for simple/binary comparison). */
export function collatorFor(collation: unknown): Intl.Collator | undefined {
  if (!isPlainObject(collation) || typeof collation.locale !== 'string' || collation.locale === 'simple') return undefined;
  const strength = typeof collation.strength === 'number' ? collation.strength : 3;
  return new Intl.Collator(collation.locale, {
    sensitivity: strength === 1 ? 'base' : strength === 2 ? 'accent' : 'variant',
    numeric: collation.numericOrdering === true,
    caseFirst: collation.caseFirst === 'upper' ? 'upper' : collation.caseFirst === 'lower' ? 'lower' : 'false',
  });
}
