// Conformance: the shape of server errors — unknown commands, operators and stages, bad command
// fields — as MongoDB 7/8 reports them (code, codeName, a stable part of the message).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Long } from 'mongodb';
import type { Collection } from 'mongodb';
import { expectServerError, useConformanceServer } from './conformance-helpers.js';
import type { Doc } from './conformance-helpers.js';

const ctx = useConformanceServer();

async function seeded(prefix: string): Promise<Collection<Doc>> {
  const coll = ctx.db(prefix).collection<Doc>('c');
  await coll.insertMany([
    { _id: 1, a: 1 },
    { _id: 2, a: 2 },
  ]);
  return coll;
}

describe('unknown names', () => {
  it('an unknown command fails with CommandNotFound (59) naming the command', async () => {
    const db = ctx.db('err_cmd');
    const error = await expectServerError(db.command({ noSuchCommand: 1 }), { code: 59, codeName: 'CommandNotFound', message: 'no such command' });
    assert.ok(error.message.includes('noSuchCommand'), error.message);
    assert.equal(error.ok, 0);
    assert.equal(error.errorResponse.ok, 0);
    assert.equal(error.errorResponse.codeName, 'CommandNotFound');
  });

  it('an unknown command on admin fails the same way', async () => {
    await expectServerError(ctx.client.db('admin').command({ frobnicate: 1, extra: 'x' }), { code: 59, codeName: 'CommandNotFound', message: 'frobnicate' });
  });

  it('an unknown query operator fails with BadValue (2)', async () => {
    const coll = await seeded('err_query_op');
    await expectServerError(coll.find({ a: { $bogus: 1 } }).toArray(), { code: 2, codeName: 'BadValue', message: '$bogus' });
    await expectServerError(coll.countDocuments({ a: { $bogus: 1 } }), { code: 2, message: '$bogus' });
    await expectServerError(coll.deleteMany({ a: { $bogus: 1 } }), { code: 2, message: '$bogus' });
  });

  it('an unknown top-level query operator fails with BadValue (2)', async () => {
    const coll = await seeded('err_top_op');
    await expectServerError(coll.find({ $bogus: [{ a: 1 }] }).toArray(), { code: 2, codeName: 'BadValue', message: '$bogus' });
  });

  it('an unknown update operator fails with FailedToParse (9)', async () => {
    const coll = await seeded('err_update_op');
    await expectServerError(coll.updateOne({ _id: 1 }, { $bogus: { a: 2 } }), { code: 9, message: '$bogus' });
    await expectServerError(coll.findOneAndUpdate({ _id: 1 }, { $bogus: { a: 2 } }), { code: 9, codeName: 'FailedToParse', message: '$bogus' });
    assert.deepEqual(await coll.findOne({ _id: 1 }), { _id: 1, a: 1 });
  });

  it('an unknown pipeline stage fails (40324) and names the stage', async () => {
    const coll = await seeded('err_stage');
    await expectServerError(coll.aggregate([{ $match: {} }, { $bogusStage: {} }]).toArray(), { code: 40324, message: '$bogusStage' });
  });

  it('an unknown expression operator fails (168) and names it', async () => {
    const coll = await seeded('err_expr');
    await expectServerError(coll.aggregate([{ $project: { x: { $bogusExpr: ['$a'] } } }]).toArray(), {
      code: 168,
      codeName: 'InvalidPipelineOperator',
      message: '$bogusExpr',
    });
  });

  it('an unknown group accumulator fails (15952) and names it', async () => {
    const coll = await seeded('err_accum');
    await expectServerError(coll.aggregate([{ $group: { _id: null, x: { $bogusAcc: '$a' } } }]).toArray(), { code: 15952, message: '$bogusAcc' });
  });

  it('an unknown field in a command is rejected (40415)', async () => {
    const db = (await seeded('err_field')).dbName;
    await expectServerError(ctx.client.db(db).command({ find: 'c', filter: {}, bogusOption: 1 }), { code: 40415, message: 'bogusOption' });
  });
});

describe('malformed requests', () => {
  it('$group without _id fails (15955)', async () => {
    const coll = await seeded('err_group_id');
    await expectServerError(coll.aggregate([{ $group: { total: { $sum: '$a' } } }]).toArray(), { code: 15955 });
  });

  it('a pipeline stage that is not an object with one field is refused', async () => {
    const coll = await seeded('err_stage_shape');
    await expectServerError(coll.aggregate([{ $match: {}, $limit: 1 }]).toArray(), { code: 40323, message: 'exactly one field' });
  });

  it('$text without a text index fails with IndexNotFound (27)', async () => {
    const coll = await seeded('err_text');
    await expectServerError(coll.find({ $text: { $search: 'x' } }).toArray(), { code: 27, codeName: 'IndexNotFound', message: 'text index' });
  });

  it('a getMore on an unknown cursor fails with CursorNotFound (43)', async () => {
    const coll = await seeded('err_getmore');
    const session = ctx.client.startSession();
    try {
      await expectServerError(ctx.client.db(coll.dbName).command({ getMore: Long.fromString('123456789012'), collection: 'c' }, { session }), {
        code: 43,
        codeName: 'CursorNotFound',
      });
    } finally {
      await session.endSession();
    }
  });

  it('listDatabases run on a non-admin database is refused (13)', async () => {
    const db = ctx.db('err_admin_only');
    await expectServerError(db.command({ listDatabases: 1 }), { code: 13, codeName: 'Unauthorized', message: 'admin' });
  });

  it('a $limit of 0 or a negative $skip is refused', async () => {
    const coll = await seeded('err_limit');
    await expectServerError(coll.aggregate([{ $limit: 0 }]).toArray(), { code: 15958 });
    await expectServerError(coll.aggregate([{ $skip: -1 }]).toArray(), { code: 15956 });
  });

  it('a delete statement without limit is refused as a whole (40414)', async () => {
    const coll = await seeded('err_delete_limit');
    await expectServerError(ctx.client.db(coll.dbName).command({ delete: 'c', deletes: [{ q: {} }] }), { code: 40414, message: 'limit' });
    assert.equal(await coll.countDocuments(), 2);
  });

  it('an empty write batch is refused with InvalidLength (16)', async () => {
    const db = ctx.db('err_empty_batch');
    await expectServerError(db.command({ insert: 'c', documents: [] }), { code: 16, codeName: 'InvalidLength' });
  });

  it('an error leaves no partial result: the failed command changed nothing', async () => {
    const coll = await seeded('err_nochange');
    await expectServerError(coll.updateMany({ a: { $bogus: 1 } }, { $set: { b: 1 } }), { code: 2 });
    assert.equal(await coll.countDocuments({ b: 1 }), 0);
  });
});
