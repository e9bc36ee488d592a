import { createHash } from 'node:crypto';
import type { Db, Document } from 'mongodb';
import { EJSON } from 'bson';

/** One collection as a rehearsal compares it. */
export interface CollectionPrint {
  readonly type: string;
  /** Its options without the validator, as canonical Extended JSON with sorted keys. */
  readonly options: string;
  readonly validator: string;
  /** Index name: its specification (without `v` and `ns`), canonical. */
  readonly indexes: ReadonlyMap<string, string>;
  /** `<_id>\t<hash of the document>` per document, sorted: an order-independent multiset. */
  readonly documents: readonly string[];
  /** The same with values made during the rehearsal masked (see fingerprint). */
  readonly maskedDocuments: readonly string[];
}

/** A database as a rehearsal compares it: collection name to its print. */
export type Fingerprint = ReadonlyMap<string, CollectionPrint>;

/**
 * Reads every collection of `db` but `exclude` (delta's own): type, options, validator, indexes,
 * and a hash per document (fields sorted, so `$rename` moving a field back is no difference).
 * `since` marks the rehearsal's start: in the masked hashes, ObjectIds and dates made after it
 * (a second commit inserts new `_id`s and timestamps) compare equal to each other.
 */
export async function fingerprint(db: Db, exclude: readonly string[], since: Date): Promise<Fingerprint> {
  const print = new Map<string, CollectionPrint>();
  const collections = await db.listCollections({}, { nameOnly: false }).toArray();
  for (const info of collections.sort((a, b) => a.name.localeCompare(b.name))) {
    if (exclude.includes(info.name) || info.name.startsWith('system.')) continue;
    const { validator, ...options } = (info.options ?? {}) as Document;
    const type = typeof info.type === 'string' ? info.type : 'collection';
    const indexes = new Map<string, string>();
    const documents: string[] = [];
    const maskedDocuments: string[] = [];
    if (type !== 'view') {
      for (const index of await db.collection(info.name).listIndexes().toArray()) {
        const { v: _v, ns: _ns, ...spec } = index;
        indexes.set(String(index.name), canonical(spec));
      }
      for await (const doc of db.collection(info.name).find({})) {
        documents.push(`${canonical(doc._id)}\t${hash(canonical(doc))}`);
        maskedDocuments.push(`${canonical(masked(doc._id, since))}\t${hash(canonical(masked(doc, since)))}`);
      }
    }
    documents.sort();
    maskedDocuments.sort();
    print.set(info.name, { type, options: canonical(options), validator: canonical(validator ?? null), indexes, documents, maskedDocuments });
  }
  return print;
}

/** Canonical Extended JSON with every object's keys sorted. */
export function canonical(value: unknown): string {
  return EJSON.stringify(sortedKeys(value) as Document, { relaxed: false });
}

function sortedKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortedKeys);
  if (value === null || typeof value !== 'object' || Object.getPrototypeOf(value) !== Object.prototype) return value;
  const record = value as Record<string, unknown>;
  return Object.fromEntries(
    Object.keys(record)
      .sort()
      .map((key) => [key, sortedKeys(record[key])]),
  );
}

/** ObjectIds and dates from `since` on, replaced by placeholders (values the run itself made). */
function masked(value: unknown, since: Date): unknown {
  const from = since.getTime() - 1000;
  // By BSON type, not class: the driver's bson and delta's may be two copies.
  const bsonType = (value as { _bsontype?: unknown } | null)?._bsontype;
  if (bsonType === 'ObjectId') return (value as { getTimestamp(): Date }).getTimestamp().getTime() >= from ? '<ObjectId made during the rehearsal>' : value;
  if (value instanceof Date) return value.getTime() >= from ? '<date during the rehearsal>' : value;
  if (Array.isArray(value)) return value.map((item) => masked(item, since));
  if (value === null || typeof value !== 'object' || Object.getPrototypeOf(value) !== Object.prototype) return value;
  return Object.fromEntries(Object.entries(value as Record<string, unknown>).map(([key, inner]) => [key, masked(inner, since)]));
}

function hash(text: string): string {
  return createHash('sha256').update(text).digest('hex').slice(0, 32);
}
