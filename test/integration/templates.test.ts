import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Decimal128, ObjectId } from 'mongodb';
import type { ClientSession, Db, Document } from 'mongodb';
import * as v from 'valibot';
import type { CreateDeltaOptions, Delta } from '../../src/index.js';
import { ChangeFailedError, ChangeFileError, RollbackUnavailableError, checksumOf, createDelta } from '../../src/index.js';
import { snapshotDatabase } from '../helpers/database.js';
import { uniqueDbName, useServer } from '../helpers/server.js';
import { defineOperation } from '../../src/vocabulary/index.js';

const fixture = useServer();
/** Whether the deployment gives transactions (the sandbox and a replica set do; a standalone does not). */
let transactions = false;
const open: Delta[] = [];

/** A change folder with these templates, a database of its own, and a way to make delta instances for them. */
function setup(files: Record<string, string>, config: NonNullable<CreateDeltaOptions['config']> = {}) {
  const project = fixture.project(files);
  const db = uniqueDbName('tpl');
  const make = () => {
    const delta = createDelta({ config: { uri: fixture.server.uri, db, path: project.dir, lock: { waitMs: 10_000 }, ...config }, cwd: project.dir, env: {} });
    open.push(delta);
    return delta;
  };
  const target = fixture.client.db(db);
  const collections = async () =>
    (await target.listCollections({}, { nameOnly: true }).toArray())
      .map((c) => c.name)
      .filter((name) => !name.startsWith('delta_'))
      .sort();
  const indexNames = async (collection: string) => (await target.collection(collection).indexes()).map((index) => index.name).sort();
  const options = async (collection: string): Promise<Document | undefined> => (await target.listCollections({ name: collection }, { nameOnly: false }).toArray())[0]?.options;
  return { dir: project.dir, db, target, make, collections, indexNames, options };
}

describe('declarative changes (YAML/JSON) against the database', () => {
  // Inside the suite: it runs after the file's server is up, and the deltas close before it stops.
  before(async () => {
    const hello = await fixture.client.db('admin').command({ hello: 1 });
    transactions = hello.setName !== undefined || hello.msg === 'isdbgrid';
  });
  after(async () => {
    await Promise.all(open.map((delta) => delta.close()));
  });

  it('createCollection (validator, options), createIndex, renameCollection: committed, then undone by the derived rollback', async () => {
    const t = setup({
      '001_orders.yaml': `description: orders with a validator and two indexes, items renamed into place
commit:
  - createCollection:
      name: orders
      validator: { $jsonSchema: { bsonType: object, required: [customerId] } }
      options: { validationLevel: strict, validationAction: error }
  - createIndex: { collection: orders, keys: { customerId: 1, at: -1 } }
  - createIndex: { collection: orders, keys: { ref: 1 }, options: { name: by_ref, unique: true } }
  - createCollection: { name: items_next }
  - renameCollection: { from: items_next, to: items }
`,
    });
    const committed = await t.make().commit();
    assert.equal(committed.outcome, 'success', committed.error?.message);
    assert.deepEqual(
      committed.changes.map((c) => [c.id, c.status, c.transactional]),
      [['001_orders', 'done', false]],
      'DDL runs without a transaction',
    );
    assert.deepEqual(await t.collections(), ['items', 'orders']);
    assert.deepEqual((await t.options('orders'))?.validator, { $jsonSchema: { bsonType: 'object', required: ['customerId'] } });
    assert.equal((await t.options('orders'))?.validationLevel, 'strict');
    assert.deepEqual(await t.indexNames('orders'), ['_id_', 'by_ref', 'customerId_1_at_-1']);
    assert.equal((await t.target.collection('orders').indexes()).find((index) => index.name === 'by_ref')?.unique, true);
    await assert.rejects(t.target.collection('orders').insertOne({ ref: 1 }), (error: { code?: number }) => error.code === 121, 'the validator is in force');

    const record = await t.target.collection('delta_migrations').findOne({ _id: '001_orders' as never });
    assert.equal(record?.checksum, checksumOf(readFileSync(join(t.dir, '001_orders.yaml'))));
    assert.equal(record?.file, '001_orders.yaml');
    assert.equal(record?.description, 'orders with a validator and two indexes, items renamed into place');

    const reverted = await t.make().rollback();
    assert.equal(reverted.outcome, 'success', reverted.error?.message);
    assert.deepEqual(await t.collections(), [], 'items renamed back to items_next, then both collections dropped');
    const again = await t.make().commit();
    assert.equal(again.outcome, 'success', again.error?.message);
    assert.deepEqual(await t.collections(), ['items', 'orders']);
  });

  it('insertMany (Extended JSON), updateMany, updateOne (pipeline), deleteMany: in the change transaction, undone by the written rollback', async () => {
    const t = setup({
      '001_plans.yml': `commit:
  - insertMany:
      collection: plans
      documents:
        - { _id: { $oid: "65f0c0ffee0000000000cafe" }, name: free, price: { $numberDecimal: "0" }, since: { $date: "2024-01-01T00:00:00Z" } }
        - { _id: { $oid: "65f0c0ffee0000000000beef" }, name: pro, price: { $numberDecimal: "9.99" }, since: { $date: "2024-02-01T00:00:00Z" } }
        - { name: legacy, price: { $numberDecimal: "1.5" } }
  - updateMany: { collection: plans, filter: { since: { $gte: { $date: "2024-01-15T00:00:00Z" } } }, update: { $set: { paid: true } } }
  - updateOne: { collection: plans, filter: { name: free }, update: [ { $set: { label: { $concat: [ "$name", " plan" ] } } } ] }
  - deleteMany: { collection: plans, filter: { name: legacy } }
rollback:
  - deleteMany: { collection: plans, filter: { _id: { $in: [ { $oid: "65f0c0ffee0000000000cafe" }, { $oid: "65f0c0ffee0000000000beef" } ] } } }
`,
    });
    const committed = await t.make().commit();
    assert.equal(committed.outcome, 'success', committed.error?.message);
    assert.equal(committed.changes[0]?.transactional, transactions, 'data operations join the transaction where there is one');
    const plans = await t.target.collection('plans').find({}).sort({ name: 1 }).toArray();
    assert.deepEqual(
      plans.map((p) => [p.name, p.paid ?? null, p.label ?? null]),
      [
        ['free', null, 'free plan'],
        ['pro', true, null],
      ],
    );
    const [free, pro] = plans;
    assert.ok(free?._id instanceof ObjectId && free._id.toHexString() === '65f0c0ffee0000000000cafe');
    assert.ok(pro?.price instanceof Decimal128 && pro.price.toString() === '9.99');
    assert.ok(pro.since instanceof Date && pro.since.toISOString() === '2024-02-01T00:00:00.000Z');

    const reverted = await t.make().rollback();
    assert.equal(reverted.outcome, 'success', reverted.error?.message);
    assert.equal(await t.target.collection('plans').countDocuments(), 0);
  });

  it('dropIndex, dropCollection, collMod, runCommand: committed and undone by the written rollback', async () => {
    const t = setup(
      {
        '001_cleanup.json': JSON.stringify(
          {
            description: 'drop the legacy things, require an owner on accounts',
            commit: [
              { dropIndex: { collection: 'users', name: 'email_1' } },
              { dropCollection: { name: 'legacy' } },
              { collMod: { collection: 'accounts', validator: { $jsonSchema: { bsonType: 'object', required: ['owner'] } }, validationLevel: 'strict' } },
              { runCommand: { command: { create: 'audit_trail' } } },
            ],
            rollback: [
              { runCommand: { command: { drop: 'audit_trail' } } },
              { collMod: { collection: 'accounts', validator: {}, validationLevel: 'off' } },
              { createCollection: { name: 'legacy' } },
              { createIndex: { collection: 'users', keys: { email: 1 }, options: { name: 'email_1' } } },
            ],
          },
          null,
          2,
        ),
      },
      { templates: { allowRunCommand: true } },
    );
    await t.target.collection('users').createIndex({ email: 1 }, { name: 'email_1' });
    await t.target.collection('legacy').insertOne({ old: true });
    await t.target.createCollection('accounts');

    const committed = await t.make().commit();
    assert.equal(committed.outcome, 'success', committed.error?.message);
    assert.equal(committed.changes[0]?.transactional, false);
    assert.deepEqual(await t.indexNames('users'), ['_id_']);
    assert.deepEqual(await t.collections(), ['accounts', 'audit_trail', 'users']);
    assert.deepEqual((await t.options('accounts'))?.validator, { $jsonSchema: { bsonType: 'object', required: ['owner'] } });
    await assert.rejects(t.target.collection('accounts').insertOne({ name: 'x' }), (error: { code?: number }) => error.code === 121);

    const reverted = await t.make().rollback();
    assert.equal(reverted.outcome, 'success', reverted.error?.message);
    assert.deepEqual(await t.indexNames('users'), ['_id_', 'email_1']);
    assert.deepEqual(await t.collections(), ['accounts', 'legacy', 'users']);
    await t.target.collection('accounts').insertOne({ name: 'no owner needed any more' });
  });

  it('a template without a rollback and without a certain inverse cannot be rolled back: nothing is reverted', async () => {
    const t = setup({
      '001_index.yaml': 'commit:\n  - createIndex: { collection: users, keys: { email: 1 } }\n',
      '002_seed.yaml': 'commit:\n  - insertMany: { collection: users, documents: [ { email: a@example.com } ] }\n',
    });
    assert.equal((await t.make().commit()).outcome, 'success');
    await assert.rejects(t.make().rollback({ all: true }), (error: unknown) => {
      assert.ok(error instanceof RollbackUnavailableError, String(error));
      assert.match(error.message, /002_seed \(002_seed\.yaml\) has no rollback/);
      return true;
    });
    assert.equal(await t.target.collection('users').countDocuments(), 1);
    assert.deepEqual(await t.indexNames('users'), ['_id_', 'email_1']);
    // The first one's rollback is derived: it alone can go.
    const one = await t.make().rollback({ id: '001_index' });
    assert.equal(one.outcome, 'success', one.error?.message);
    assert.deepEqual(await t.indexNames('users'), ['_id_']);
  });

  it('a failing operation is named; without a transaction the derived rollback compensates what ran', async () => {
    const t = setup({
      '001_halfway.yaml': 'commit:\n  - createCollection: { name: things }\n  - createIndex: { collection: things, keys: { a: 1 } }\n  - renameCollection: { from: missing, to: found }\n',
    });
    const result = await t.make().commit();
    assert.equal(result.outcome, 'failed');
    assert.ok(result.error instanceof ChangeFailedError);
    assert.match(result.error.message, /^001_halfway failed: commit\[2\] renameCollection missing to found: .*\(its rollback ran to compensate\)$/);
    assert.equal(result.changes[0]?.compensated, true);
    assert.deepEqual(await t.collections(), [], 'the derived rollback skipped the rename that never happened, dropped the index and the collection');
    const record = await t.target.collection('delta_migrations').findOne({ _id: '001_halfway' as never });
    assert.equal(record?.status, 'failed');
    assert.equal(record?.error?.code, 26, "the server's code (NamespaceNotFound) is recorded");
  });

  it('in a transaction, a failing operation leaves nothing of the ones before it', async (context) => {
    if (!transactions) return context.skip('needs a replica set');
    const t = setup({
      '001_dup.yaml': `commit:
  - insertMany: { collection: plans, documents: [ { _id: free }, { _id: pro } ] }
  - updateMany: { collection: plans, filter: {}, update: { $set: { touched: true } } }
  - insertMany: { collection: plans, documents: [ { _id: free } ] }
`,
    });
    await t.target.collection('plans').insertOne({ _id: 'existing' as never });
    const before = await snapshotDatabase(fixture.client, t.db);
    const result = await t.make().commit();
    assert.equal(result.outcome, 'failed');
    assert.equal(result.changes[0]?.transactional, true);
    assert.match(result.error?.message ?? '', /commit\[2\] insertMany plans: .*E11000/);
    const after = await snapshotDatabase(fixture.client, t.db);
    assert.deepEqual(after.plans, before.plans, 'the aborted transaction took the first insert and the update with it');
    const record = await t.target.collection('delta_migrations').findOne({ _id: '001_dup' as never });
    assert.equal(record?.error?.code, 11000);
  });

  it('a custom operation from the configuration runs with its checked arguments and the change session', async () => {
    const sessions: boolean[] = [];
    const seedPlans = defineOperation({
      // valibot here, zod in the unit tests: any Standard Schema checks a custom operation's arguments.
      args: v.object({ plans: v.pipe(v.array(v.object({ name: v.string(), price: v.number() })), v.minLength(1)) }),
      async run({ db, session }, args) {
        sessions.push(session?.inTransaction() === true);
        await db.collection('plans').insertMany(
          args.plans.map((plan) => ({ _id: plan.name as never, price: plan.price })),
          { session },
        );
      },
    });
    const removePlans = async ({ db, session }: { db: Db; session: ClientSession | undefined }, args: unknown) => {
      await db.collection('plans').deleteMany({ _id: { $in: (args as { names: string[] }).names as never[] } }, { session });
    };
    const t = setup(
      { '001_plans.yaml': 'commit:\n  - seedPlans: { plans: [ { name: free, price: 0 }, { name: pro, price: 10 } ] }\nrollback:\n  - removePlans: { names: [ free, pro ] }\n' },
      { operations: { seedPlans, removePlans } },
    );
    const committed = await t.make().commit();
    assert.equal(committed.outcome, 'success', committed.error?.message);
    assert.deepEqual(await t.target.collection('plans').find({}).sort({ _id: 1 }).toArray(), [
      { _id: 'free', price: 0 },
      { _id: 'pro', price: 10 },
    ]);
    assert.deepEqual(sessions, [transactions], 'the operation ran inside the change transaction');
    assert.equal((await t.make().rollback()).outcome, 'success');
    assert.equal(await t.target.collection('plans').countDocuments(), 0);
  });

  it('an invalid template stops the run before anything runs: the database is unchanged', async () => {
    const t = setup({
      '001_fine.yaml': 'commit:\n  - createCollection: { name: orders }\n',
      '002_broken.yaml': 'commit:\n  - createIndex: { collection: orders, keys: [customerId] }\n',
    });
    await t.target.collection('existing').insertOne({ kept: true });
    const before = await snapshotDatabase(fixture.client, t.db);
    await assert.rejects(t.make().commit(), (error: unknown) => {
      assert.ok(error instanceof ChangeFileError, String(error));
      assert.equal(error.message, '002_broken.yaml:2: commit[0].createIndex.keys: expected an object of field: direction, e.g. { email: 1 } (got a list)');
      return true;
    });
    assert.deepEqual(await snapshotDatabase(fixture.client, t.db), before, 'no collection, record, audit event or lock was written');
    await assert.rejects(t.make().status(), ChangeFileError);
  });
});
