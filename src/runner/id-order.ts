// MongoDB sorts `_id`s by BSON type class first (numbers, then strings, then objects, ...,
// ObjectIds, booleans, dates), but `$gt`/`$lt` only match values of the bound's own class: after
// the last number, `{ _id: { $gt: 42 } }` matches no string and no ObjectId. A walk in `_id`
// order over mixed types would stop at the end of its first class. These are the classes that
// sort after (or, walking down, before) a value's, to ask for by `$type` once its class runs out.

/** The `$type` aliases of each class, in MongoDB's comparison order. */
const CLASS_ORDER: readonly (readonly string[])[] = [
  ['minKey'],
  ['null'],
  ['number'],
  ['string', 'symbol'],
  ['object'],
  ['array'],
  ['binData'],
  ['objectId'],
  ['bool'],
  ['date'],
  ['timestamp'],
  ['regex'],
  ['maxKey'],
];

/**
 * The `$type` aliases of the classes after `id`'s in the walk's direction (1: ascending), or
 * undefined for a value whose class is not known here (then only `$gt`/`$lt` apply, as before).
 */
export function typesAfter(id: unknown, direction: 1 | -1): string[] | undefined {
  const index = classIndex(id);
  if (index === undefined) return undefined;
  return (direction === 1 ? CLASS_ORDER.slice(index + 1) : CLASS_ORDER.slice(0, index)).flat();
}

function classIndex(id: unknown): number | undefined {
  if (id === null) return 1;
  if (typeof id === 'number' || typeof id === 'bigint') return 2;
  if (typeof id === 'string') return 3;
  if (typeof id === 'boolean') return 8;
  if (id instanceof Date) return 9;
  if (id instanceof RegExp) return 11;
  if (Array.isArray(id)) return 5;
  if (typeof id !== 'object') return undefined;
  if (id instanceof Uint8Array) return 6;
  switch ((id as { _bsontype?: unknown })._bsontype) {
    case 'MinKey':
      return 0;
    case 'Int32':
    case 'Double':
    case 'Long':
    case 'Decimal128':
      return 2;
    case 'BSONSymbol':
      return 3;
    case 'Binary':
      return 6;
    case 'ObjectId':
      return 7;
    case 'Timestamp':
      return 10;
    case 'BSONRegExp':
      return 11;
    case 'MaxKey':
      return 12;
    case undefined:
      return 4;
    default:
      // Code, DBRef...: not a class placed here; the walk keeps to `$gt`/`$lt`.
      return undefined;
  }
}
