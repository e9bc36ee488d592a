// The transaction boundary through the CLI (issue #20 items 2-4): ctx.db and ctx.client are bound to
// the change's session, so a forgotten `{ session }` cannot leak a write; a session from elsewhere is
// refused; a write through another client is caught and blocks commit; migrate-mongo files run in a
// transaction (their own startSession/withTransaction joins delta's); `auto` runs a change again
// without a transaction when the server refuses an operation inside one, and `always` does not.
// Each test reads back the documents, the record and the audit event, and (on the sandbox) which
// write commands reached the server inside a transaction.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { CommandEvent } from '../../src/sandbox/index.js';
import { runCli } from '../helpers/cli.js';
import { uniqueDbName, useServer } from '../helpers/server.js';

const fixture = useServer();

const WRITES = new Set(['insert', 'update', 'delete', 'findAndModify', 'create', 'drop', 'createIndexes', 'dropIndexes']);

function setup(files: Record<string, string>, prefix = 'boundary') {
  const p = fixture.project(files);
  const db = uniqueDbName(prefix);
  const env = { DELTA_URI: fixture.uriFor(db), DELTA_PATH: './migrations' };
  const delta = (args: string[], extra: Record<string, string> = {}) => runCli(args, { cwd: p.dir, env: { ...env, ...extra } });
  const docs = (collection: string) => fixture.client.db(db).collection(collection).find({}).toArray();
  const record = (id: string) =>
    fixture.client
      .db(db)
      .collection('delta_migrations')
      .findOne({ _id: id as never });
  const events = (id: string) => fixture.client.db(db).collection('delta_audit').find({ changeId: id }).sort({ at: 1 }).toArray();
  /** Write commands the sandbox received for this database while `work` ran (undefined on a real server). */
  const writesDuring = async <T>(work: () => Promise<T>): Promise<{ result: T; writes: CommandEvent[] | undefined }> => {
    const sandbox = fixture.server.sandbox;
    const seen: CommandEvent[] = [];
    const listener = (event: CommandEvent) => {
      if (event.db === db && WRITES.has(event.name) && event.collection !== undefined && !event.collection.startsWith('delta_')) seen.push(event);
    };
    sandbox?.on('command', listener);
    try {
      return { result: await work(), writes: sandbox === undefined ? undefined : seen };
    } finally {
      sandbox?.off('command', listener);
    }
  };
  return { p, db, delta, docs, record, events, writesDuring };
}

describe('the transaction boundary (CLI)', () => {
  it('a change that forgets { session } and throws leaves nothing behind: every write went into its transaction', async () => {
    const t = setup({
      'migrations/001_forgot.mjs': `export default {
  async commit({ db, session }) {
    await db.collection('log').insertOne({ note: 'no session passed' });
    await db.collection('users').insertOne({ email: 'a@x' }, { session });
    throw new Error('validation failed after two writes');
  },
};
`,
    });
    const { result, writes } = await t.writesDuring(() => t.delta(['commit']));
    assert.equal(result.code, 1, result.stderr);
    assert.match(result.stderr, /001_forgot failed: validation failed after two writes/);
    assert.deepEqual(await t.docs('log'), [], 'the write without { session } was aborted with the transaction');
    assert.deepEqual(await t.docs('users'), []);
    const record = await t.record('001_forgot');
    assert.equal(record?.status, 'failed');
    assert.equal(record?.transactional, true);
    assert.deepEqual(record?.error, { message: 'validation failed after two writes' });
    const [event] = await t.events('001_forgot');
    assert.equal(event?.outcome, 'failure');
    assert.deepEqual(event?.error, { message: 'validation failed after two writes' }, 'the audit event keeps the reason');
    if (writes !== undefined) {
      assert.deepEqual(
        writes.map((w) => [w.name, w.collection, w.inTransaction]),
        [
          ['insert', 'log', true],
          ['insert', 'users', true],
        ],
        'the server saw both writes inside the transaction',
      );
    }
  });

  it('a session from elsewhere is refused, naming the operation; nothing is written', async () => {
    const t = setup({
      'delta.config.mjs': 'export default { services: ({ client }) => ({ app: { client } }) };\n',
      'migrations/001_other_session.mjs': `export default {
  async commit({ db, services }) {
    const other = services.app.client.startSession();
    try {
      await db.collection('users').insertOne({ email: 'b@x' }, { session: other });
    } finally {
      await other.endSession();
    }
  },
};
`,
    });
    const result = await t.delta(['commit']);
    assert.equal(result.code, 1, result.stderr);
    assert.match(result.stderr, /001_other_session failed: collection\.insertOne\(\) was given a session that is not the change's/);
    assert.deepEqual(await t.docs('users'), []);
    assert.equal((await t.record('001_other_session'))?.status, 'failed');
  });

  it("a write through another client fails the change naming command and collection, blocks commit until repair; 'never' changes are exempt", async () => {
    const t = setup({
      'delta.config.mjs': 'export default { services: ({ client }) => ({ app: { client } }) };\n',
      'migrations/001_escape.mjs': `export default {
  async commit({ db, services }) {
    if (!process.env.FIXED) await services.app.client.db(db.databaseName).collection('audit_trail').insertOne({ note: 'via the app client' });
    await db.collection('users').insertOne({ email: 'c@x' });
  },
};
`,
      'migrations/002_never.mjs': `export default {
  transaction: 'never',
  async commit({ db, services }) {
    await services.app.client.db(db.databaseName).collection('audit_trail').insertOne({ note: 'allowed without a transaction' });
  },
};
`,
    });
    const failed = await t.delta(['commit']);
    assert.equal(failed.code, 1, failed.stderr);
    assert.match(failed.stderr, new RegExp(`001_escape failed: wrote outside its transaction \\(insert ${t.db}\\.audit_trail\\): the transaction was aborted but that write stayed`));
    assert.deepEqual(await t.docs('users'), [], 'the transaction was aborted');
    assert.equal((await t.docs('audit_trail')).length, 1, 'the escaped write stayed, as the message says');
    const record = await t.record('001_escape');
    assert.equal(record?.status, 'failed');
    assert.deepEqual(record?.error?.outsideTransaction, [`insert ${t.db}.audit_trail`]);
    const [event] = await t.events('001_escape');
    assert.deepEqual(event?.error?.outsideTransaction, [`insert ${t.db}.audit_trail`]);
    assert.match(String(event?.error?.message), /^wrote outside its transaction/);

    const blocked = await t.delta(['commit'], { FIXED: '1' });
    assert.equal(blocked.code, 4, blocked.stderr);
    assert.match(
      blocked.stderr,
      /001_escape \(wrote outside its transaction, and those writes stayed\): it may be half-applied, so commit stops here\. Check the database by hand, then run delta repair/,
    );

    assert.equal((await t.delta(['repair'])).code, 0);
    const fixed = await t.delta(['commit'], { FIXED: '1' });
    assert.equal(fixed.code, 0, fixed.stderr);
    assert.equal((await t.record('001_escape'))?.status, 'applied');
    assert.equal((await t.record('002_never'))?.status, 'applied', 'a never change may write through any client');
    assert.equal((await t.docs('audit_trail')).length, 2);
  });

  it('migrate-mongo files run in a transaction: a failure leaves nothing, their own startSession/withTransaction joins it, transaction: never opts out', async () => {
    const t = setup(
      {
        'migrations/001-add-plans.js': `module.exports = {
  async up(db) {
    await db.collection('plans').insertOne({ _id: 'free' });
    await db.collection('plans').insertOne({ _id: 'team' });
    if (!process.env.FIXED) throw new Error('second half failed');
  },
  async down(db) { await db.collection('plans').deleteMany({}); },
};
`,
        'migrations/002-own-transaction.js': `module.exports = {
  async up(db, client) {
    const session = client.startSession();
    try {
      await session.withTransaction(async () => {
        await db.collection('albums').insertOne({ _id: 1, title: 'Blue' }, { session });
        await db.collection('albums').updateOne({ _id: 1 }, { $set: { year: 1971 } }, { session });
      });
    } finally {
      await session.endSession();
    }
  },
  async down(db) { await db.collection('albums').deleteMany({}); },
};
`,
        'migrations/003-outside.js': `module.exports = {
  transaction: 'never',
  async up(db) { await db.collection('plain').insertOne({ _id: 'x' }); },
  async down(db) { await db.collection('plain').deleteMany({}); },
};
`,
      },
      'mm',
    );
    // CommonJS files in a project without "type": "module".
    const failed = await t.delta(['commit']);
    assert.equal(failed.code, 1, failed.stderr);
    assert.match(failed.stderr, /001-add-plans failed: second half failed/);
    assert.deepEqual(await t.docs('plans'), [], 'half of a migrate-mongo file no longer stays');
    assert.equal((await t.record('001-add-plans'))?.transactional, true);

    const { result, writes } = await t.writesDuring(() => t.delta(['commit'], { FIXED: '1' }));
    assert.equal(result.code, 0, result.stderr);
    assert.deepEqual(await t.docs('albums'), [{ _id: 1, title: 'Blue', year: 1971 }]);
    assert.equal((await t.record('002-own-transaction'))?.transactional, true);
    assert.equal((await t.record('003-outside'))?.transactional, false);
    if (writes !== undefined) {
      const byCollection = (name: string) => writes.filter((w) => w.collection === name).map((w) => w.inTransaction);
      assert.deepEqual(byCollection('albums'), [true, true], "the file's own transaction joined delta's");
      assert.deepEqual(byCollection('plain'), [false], "transaction: 'never' runs without one");
    }
  });

  it('auto runs a change again without a transaction when the server refuses an operation in one (TypeScript drop, mongosh drop, an index on a populated collection); always fails', async () => {
    const t = setup({
      'migrations/001_shells.mjs': `export default {
  async commit({ db, session }) { await db.collection('shells').insertMany([{ _id: 1 }, { _id: 2 }], { session }); },
  async rollback({ db, session }) { await db.collection('shells').drop({ session }); },
};
`,
      'migrations/002_index.mjs': `export default {
  async commit({ db }) {
    await db.collection('shells').updateMany({}, { $set: { kind: 'conch' } });
    await db.collection('shells').createIndex({ kind: 1 }, { name: 'by_kind' });
  },
  async rollback({ db }) { await db.collection('shells').dropIndex('by_kind'); },
};
`,
      'migrations/003_snails.commit.mongosh.js': "db.snails.insertOne({ _id: 'garden' });\n",
      'migrations/003_snails.rollback.mongosh.js': 'db.snails.drop();\n',
    });
    // shells holds documents before 002_index runs (a collection created in the same transaction may take indexes).
    assert.equal((await t.delta(['commit', '--to', '001_shells'])).code, 0);
    const committed = await t.delta(['commit']);
    assert.equal(committed.code, 0, committed.stderr);
    assert.match(committed.stdout, /002_index: the server refused an operation inside a transaction \(.*\); running it again without one/);
    const indexRecord = await t.record('002_index');
    assert.equal(indexRecord?.transactional, false, 'the index build ran without a transaction');
    const [indexEvent] = await t.events('002_index');
    assert.equal(indexEvent?.transactional, false);
    assert.match(String(indexEvent?.details?.transactionFallback), /index|transaction/i);
    assert.equal((await t.docs('shells')).filter((d) => d.kind === 'conch').length, 2, 'the change ran once to the end, its update not doubled');

    const reverted = await t.delta(['rollback', '--all']);
    assert.equal(reverted.code, 0, reverted.stderr);
    const collections = (await fixture.client.db(t.db).listCollections({}, { nameOnly: true }).toArray()).map((c) => c.name);
    assert.ok(!collections.includes('shells') && !collections.includes('snails'), `both drops ran: ${collections.join(', ')}`);
    for (const id of ['003_snails', '001_shells']) {
      const events = await t.events(id);
      const rollback = events.find((e) => e.action === 'rollback');
      assert.equal(rollback?.outcome, 'success', id);
      assert.equal(rollback?.transactional, false, id);
      assert.match(String(rollback?.details?.transactionFallback), /drop/, `${id}: the reason is in the audit event`);
      assert.equal((await t.record(id))?.status, 'rolled_back');
    }

    const again = await t.delta(['commit', '--only', '001_shells']);
    assert.equal(again.code, 0, again.stderr);
    const always = await t.delta(['rollback', '--transaction', 'always']);
    assert.equal(always.code, 1, always.stderr);
    assert.match(always.stderr, /001_shells rollback failed: .*drop/);
    assert.equal((await t.docs('shells')).length, 2, "'always' does not fall back: the collection is still there");
    assert.equal((await t.record('001_shells'))?.status, 'applied', 'the aborted transaction left it applied');
  });
  it("a transaction group aborted by its third change prints each change's lines once and in order, and applies the first two", async () => {
    const logging = (id: string, fails = false) => `export default {
  async commit({ db, log }) {
    log('working on ${id}');
    await db.collection('effects').insertOne({ _id: '${id}' });
    ${fails ? "throw new Error('disk on fire');" : ''}
  },
};
`;
    const t = setup({ 'migrations/001_a.mjs': logging('001_a'), 'migrations/002_b.mjs': logging('002_b'), 'migrations/003_c.mjs': logging('003_c', true) });
    const result = await t.delta(['commit']);
    assert.equal(result.code, 1, result.stderr);
    const lines = result.stdout
      .split('\n')
      .filter((line) => /working on|✓|✗/.test(line))
      .map((line) => line.replace(/\s+\d+ ms.*/, '').trim());
    // Each result once and in order, whatever the machine's speed.
    assert.deepEqual(
      lines.filter((line) => /^[✓✗]/.test(line)),
      ['✓ applied 001_a', '✓ applied 002_b', '✗ 003_c'],
    );
    // A group older than 100 ms (a loaded machine) lets its lines out as they come, by design;
    // one that stayed young printed nothing of its aborted attempt.
    const wentLive = lines.indexOf('003_c: working on 003_c') < lines.indexOf('✓ applied 002_b');
    if (!wentLive) assert.deepEqual(lines, ['001_a: working on 001_a', '✓ applied 001_a', '002_b: working on 002_b', '✓ applied 002_b', '003_c: working on 003_c', '✗ 003_c']);
    assert.deepEqual(
      (await t.docs('effects')).map((d) => d._id),
      ['001_a', '002_b'],
    );
    assert.deepEqual(
      (await t.events('003_c')).map((e) => [e.outcome, e.error?.message]),
      [['failure', 'disk on fire']],
    );
  });
});
