import { EJSON } from 'bson';
import type { Document, MongoClient } from 'mongodb';

/**
 * Every collection of a database with its documents as canonical Extended
 * JSON, sorted: equal snapshots mean byte-identical contents.
 */
export async function snapshotDatabase(client: MongoClient, dbName: string): Promise<Record<string, string[]>> {
  const db = client.db(dbName);
  const collections = await db.listCollections({}, { nameOnly: true }).toArray();
  const snapshot: Record<string, string[]> = {};
  for (const { name } of collections.sort((a, b) => a.name.localeCompare(b.name))) {
    const docs = await db.collection(name).find({}).toArray();
    snapshot[name] = docs.map((doc) => EJSON.stringify(doc, { relaxed: false })).sort();
  }
  return snapshot;
}

/** Documents of one collection without their `_id`, sorted by `sortKey`. */
export async function documents(client: MongoClient, dbName: string, collection: string, sortKey = '_id'): Promise<Document[]> {
  return client
    .db(dbName)
    .collection(collection)
    .find({})
    .sort({ [sortKey]: 1 })
    .toArray();
}

/** How many `effects` documents each change (`{ change: n }`) left: n -> count. */
export async function effectsPerChange(client: MongoClient, dbName: string): Promise<Map<number, number>> {
  const counts = new Map<number, number>();
  const groups = await client
    .db(dbName)
    .collection('effects')
    .aggregate<{ _id: number; n: number }>([{ $group: { _id: '$change', n: { $sum: 1 } } }])
    .toArray();
  for (const { _id, n } of groups) counts.set(_id, n);
  return counts;
}

/** `count` documents `{ _id: i, n: i }` in `items`: what the ctx.batches tests walk. */
export async function seedItems(client: MongoClient, dbName: string, count: number): Promise<void> {
  await client
    .db(dbName)
    .collection('items')
    .insertMany(Array.from({ length: count }, (_, i) => ({ _id: i as never, n: i })));
}
