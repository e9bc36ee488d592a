// Conformance: single-document atomicity under concurrent clients — the guarantees a lock or a
// counter built on MongoDB relies on (atomic $inc and findAndModify, upserts that do not
// duplicate, exactly one winner for one _id, transactions that retry to completion).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MongoServerError } from 'mongodb';
import type { MongoClient } from 'mongodb';
import { useConformanceServer } from './conformance-helpers.js';
import type { Doc } from './conformance-helpers.js';

const ctx = useConformanceServer();
const WORKERS = 20;

/** Several clients, so the operations really travel on different connections. */
async function clients(count: number): Promise<MongoClient[]> {
  return Promise.all(Array.from({ length: count }, () => ctx.connect()));
}

describe('concurrent single-document operations', () => {
  it('concurrent $inc updates are all applied', async () => {
    const db = ctx.db('conc_inc');
    await db.collection<Doc>('c').insertOne({ _id: 'counter', n: 0 });
    const pool = await clients(4);
    await Promise.all(
      Array.from({ length: WORKERS }, (_, i) =>
        pool[i % pool.length]
          ?.db(db.databaseName)
          .collection<Doc>('c')
          .updateOne({ _id: 'counter' }, { $inc: { n: 1 } }),
      ),
    );
    assert.deepEqual(await db.collection<Doc>('c').findOne({ _id: 'counter' }), { _id: 'counter', n: WORKERS });
  });

  it('concurrent findOneAndUpdate $inc hands out every value exactly once', async () => {
    const db = ctx.db('conc_fam');
    await db.collection<Doc>('seq').insertOne({ _id: 'ticket', n: 0 });
    const pool = await clients(4);
    const results = await Promise.all(
      Array.from({ length: WORKERS }, (_, i) =>
        pool[i % pool.length]
          ?.db(db.databaseName)
          .collection<Doc>('seq')
          .findOneAndUpdate({ _id: 'ticket' }, { $inc: { n: 1 } }, { returnDocument: 'after' }),
      ),
    );
    const values = results.map((doc) => Number(doc?.n)).sort((a, b) => a - b);
    assert.deepEqual(
      values,
      Array.from({ length: WORKERS }, (_, i) => i + 1),
    );
  });

  it('concurrent upserts on one _id create one document and apply every update', async () => {
    const db = ctx.db('conc_upsert');
    const pool = await clients(4);
    const results = await Promise.all(
      Array.from({ length: WORKERS }, (_, i) =>
        pool[i % pool.length]
          ?.db(db.databaseName)
          .collection<Doc>('c')
          .updateOne({ _id: 'k' }, { $inc: { n: 1 }, $setOnInsert: { created: true } }, { upsert: true }),
      ),
    );
    assert.equal(
      results.reduce((sum, r) => sum + (r?.upsertedCount ?? 0), 0),
      1,
      'exactly one upsert inserted',
    );
    assert.deepEqual(await db.collection<Doc>('c').find().toArray(), [{ _id: 'k', n: WORKERS, created: true }]);
  });

  it('concurrent inserts of one _id: exactly one wins, the rest fail with 11000', async () => {
    const db = ctx.db('conc_insert');
    const pool = await clients(4);
    const outcomes = await Promise.allSettled(Array.from({ length: 10 }, (_, i) => pool[i % pool.length]?.db(db.databaseName).collection<Doc>('c').insertOne({ _id: 'only', by: i })));
    const won = outcomes.filter((o) => o.status === 'fulfilled');
    const lost = outcomes.filter((o): o is PromiseRejectedResult => o.status === 'rejected');
    assert.equal(won.length, 1);
    assert.equal(lost.length, 9);
    for (const loss of lost) {
      assert.ok(loss.reason instanceof MongoServerError && loss.reason.code === 11000, `a duplicate key error, got ${String(loss.reason)}`);
    }
    assert.equal(await db.collection<Doc>('c').countDocuments(), 1);
  });

  it('concurrent withTransaction increments all commit after retrying their conflicts', async () => {
    const db = ctx.db('conc_txn');
    await db.collection<Doc>('c').insertOne({ _id: 'counter', n: 0 });
    await db.createCollection('log');
    const pool = await clients(2);
    const workers = 8;
    await Promise.all(
      Array.from({ length: workers }, async (_, i) => {
        const client = pool[i % pool.length];
        assert.ok(client);
        const session = client.startSession();
        try {
          await session.withTransaction(async () => {
            const target = client.db(db.databaseName);
            await target.collection<Doc>('c').updateOne({ _id: 'counter' }, { $inc: { n: 1 } }, { session });
            await target.collection<Doc>('log').insertOne({ _id: i }, { session });
          });
        } finally {
          await session.endSession();
        }
      }),
    );
    assert.deepEqual(await db.collection<Doc>('c').findOne({ _id: 'counter' }), { _id: 'counter', n: workers });
    assert.equal(await db.collection<Doc>('log').countDocuments(), workers);
  });
});
