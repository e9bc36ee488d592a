// Hooks around a run and its changes, services handed to changes, and per-change time limits,
// through createDelta() as an application uses it at start-up.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ChangeFailedError, ConfigError, HookFailedError, createDelta } from '../../src/index.js';
import { insertChange } from '../helpers/changes.js';
import { uniqueDbName, useServer } from '../helpers/server.js';
import type { ChangeDefinition, DeltaHooks } from '../../src/vocabulary/index.js';

const fixture = useServer();

async function run(changes: readonly ChangeDefinition[], config: Record<string, unknown>, db = uniqueDbName('hooks')) {
  const delta = createDelta({ config: { uri: fixture.server.uri, db, ...config }, changes, env: {} });
  try {
    return { db, result: await delta.commit() };
  } finally {
    await delta.close();
  }
}

const effects = async (db: string) => (await fixture.client.db(db).collection<{ _id: string }>('effects').find({}).sort({ _id: 1 }).toArray()).map((d) => d._id);

describe('hooks', () => {
  it('run in order around the run and each change, with the run context', async () => {
    const calls: string[] = [];
    const hooks: DeltaHooks = {
      beforeAll: (c) => void calls.push(`beforeAll ${c.planned.join(',')}`),
      beforeEach: (c) => void calls.push(`beforeEach ${c.change.id}`),
      afterEach: (c) => void calls.push(`afterEach ${c.change.id} ${c.outcome.status}`),
      onError: (c) => void calls.push(`onError ${c.change.id}`),
      afterAll: (c) => void calls.push(`afterAll ${c.result.outcome} ${c.db.databaseName === c.targetDb}`),
    };
    const { result } = await run([insertChange('001_a'), insertChange('002_b')], { hooks });
    assert.equal(result.outcome, 'success');
    assert.deepEqual(calls, ['beforeAll 001_a,002_b', 'beforeEach 001_a', 'afterEach 001_a done', 'beforeEach 002_b', 'afterEach 002_b done', 'afterAll success true']);
  });

  it('a throwing beforeEach stops the run before that change, recorded in the audit log; afterAll still runs', async () => {
    let afterAllSaw: string | undefined;
    const { db, result } = await run([insertChange('001_a'), insertChange('002_b'), insertChange('003_c')], {
      hooks: {
        beforeEach: ({ change }: { change: { id: string } }) => {
          if (change.id === '002_b') throw new Error('maintenance window closed');
        },
        afterAll: ({ result: r }: { result: { error?: { message: string } } }) => void (afterAllSaw = r.error?.message),
      },
    });
    assert.equal(afterAllSaw, 'beforeEach hook failed at 002_b: maintenance window closed');
    assert.equal(result.outcome, 'failed');
    assert.ok(result.error instanceof HookFailedError);
    assert.equal(result.error.message, 'beforeEach hook failed at 002_b: maintenance window closed');
    assert.deepEqual(
      result.changes.map((c) => [c.id, c.status]),
      [
        ['001_a', 'done'],
        ['002_b', 'not-run'],
        ['003_c', 'not-run'],
      ],
    );
    assert.deepEqual(await effects(db), ['001_a']);
    const failure = await fixture.client.db(db).collection('delta_audit').findOne({ outcome: 'failure' });
    assert.deepEqual([failure?.changeId, failure?.details?.hook, failure?.error?.message], ['002_b', 'beforeEach', 'beforeEach hook failed at 002_b: maintenance window closed']);
    assert.equal(await fixture.client.db(db).collection('delta_migrations').countDocuments({ changeId: '002_b' }), 0, 'the change that did not run has no record');
  });

  it('without transactions too: the change before which the hook failed is left with no record at all', async () => {
    const seen: string[] = [];
    const watching = (id: string): ChangeDefinition =>
      insertChange(id, {
        async commit({ db }) {
          const own = await db.collection('delta_migrations').findOne({ changeId: id });
          seen.push(`${id} ${String(own?.status)}`);
          await db.collection<{ _id: string }>('effects').insertOne({ _id: id });
        },
      });
    const { db, result } = await run([watching('001_a'), watching('002_b'), watching('003_c')], {
      transaction: 'never',
      hooks: {
        beforeEach: ({ change }: { change: { id: string } }) => {
          if (change.id === '003_c') throw new Error('stop here');
        },
      },
    });
    assert.equal(result.error?.message, 'beforeEach hook failed at 003_c: stop here');
    assert.deepEqual(seen, ['001_a running', '002_b running'], 'each change saw its running record before it ran');
    const records = await fixture.client.db(db).collection('delta_migrations').find({}).sort({ changeId: 1 }).toArray();
    assert.deepEqual(
      records.map((r) => [r.changeId, r.status]),
      [
        ['001_a', 'applied'],
        ['002_b', 'applied'],
      ],
      'no running record is left for 003_c',
    );
  });

  it('a throwing beforeAll runs no change; afterAll runs on failure with the failure in its context', async () => {
    let seen: string | undefined;
    const { db, result } = await run([insertChange('001_a')], {
      hooks: {
        beforeAll: () => {
          throw new Error('no');
        },
      },
    });
    assert.equal(result.error?.message, 'beforeAll hook failed: no');
    assert.deepEqual(await effects(db), []);

    const failing = await run([insertChange('001_a'), { ...insertChange('002_b'), commit: () => Promise.reject(new Error('boom')) }], {
      hooks: { afterAll: ({ result: r }: { result: { error?: { message: string } } }) => void (seen = r.error?.message), onError: () => Promise.reject(new Error('onError itself failed')) },
    });
    assert.ok(failing.result.error instanceof ChangeFailedError, 'a failing onError hook does not hide the change failure');
    assert.equal(seen, '002_b failed: boom');
  });

  it('a hook that is not a function is a config error naming the key', async () => {
    await assert.rejects(run([insertChange('001_a')], { hooks: { beforeAll: 'yes' } }), (error: unknown) => {
      assert.ok(error instanceof ConfigError);
      assert.match(error.message, /^config: hooks\.beforeAll must be a function/);
      return true;
    });
    await assert.rejects(run([insertChange('001_a')], { hooks: { beforeAl: () => undefined } }), /config: unknown key 'hooks\.beforeAl'/);
  });
});

describe('services', () => {
  it('are built once per run with work, handed to every change, and disposed after it', async () => {
    const log: string[] = [];
    let built = 0;
    const services = async () => {
      built += 1;
      return {
        flags: { set: (key: string) => log.push(`flag ${key}`), close: async () => void log.push('flags closed') },
        queue: { [Symbol.asyncDispose]: async () => void log.push('queue disposed') },
      };
    };
    const flagChange = (id: string): ChangeDefinition => ({
      id,
      commit({ services: s }) {
        (s.flags as { set(key: string): void }).set(id);
      },
    });
    const db = uniqueDbName('svc');
    await run([flagChange('001_a'), flagChange('002_b')], { services }, db);
    assert.equal(built, 1);
    assert.deepEqual(log, ['flag 001_a', 'flag 002_b', 'flags closed', 'queue disposed']);
    await run([flagChange('001_a'), flagChange('002_b')], { services }, db);
    assert.equal(built, 1, 'nothing to do: the factory is not called');
  });

  it("delta's own client and database handed back as services are not closed by the disposal", async () => {
    const db = uniqueDbName('svcown');
    const delta = createDelta({ config: { uri: fixture.server.uri, db, services: ({ client, db: database }) => ({ client, db: database }) }, changes: [insertChange('001_a')], env: {} });
    try {
      const result = await delta.commit();
      assert.equal(result.error, undefined);
      // The same instance goes on using its client: the disposal left it open.
      const status = await delta.status();
      assert.deepEqual(
        status.changes.map((c) => c.state),
        ['applied'],
      );
      assert.equal(status.lock, undefined);
    } finally {
      await delta.close();
    }
    assert.deepEqual(await effects(db), ['001_a']);
  });

  it('a failing factory stops the run before any change; a factory that is not a function is a config error', async () => {
    const { db, result } = await run([insertChange('001_a')], { services: () => Promise.reject(new Error('queue unreachable')) });
    assert.ok(result.error instanceof HookFailedError);
    assert.equal(result.error.message, 'services factory failed: queue unreachable');
    assert.deepEqual(await effects(db), []);
    await assert.rejects(run([insertChange('001_a')], { services: { queue: 1 } }), /config: services must be a function/);
  });
});

describe('per-change time limit', () => {
  it('a change that never resolves fails with a timeout, its transaction aborted, its signal fired', async () => {
    let aborted = false;
    const stuck: ChangeDefinition = {
      id: '002_stuck',
      timeoutMs: 300,
      async commit({ db, session, signal }) {
        signal.addEventListener('abort', () => (aborted = true));
        await db.collection<{ _id: string }>('effects').insertOne({ _id: '002_stuck' }, { session });
        await new Promise(() => undefined);
      },
    };
    const started = Date.now();
    const { db, result } = await run([insertChange('001_a'), stuck, insertChange('003_c')], {});
    assert.ok(Date.now() - started < 5000, 'returns soon after the limit');
    assert.ok(result.error instanceof ChangeFailedError);
    assert.match(result.error.message, /002_stuck failed: timed out after 300 ms/);
    assert.equal(aborted, true);
    assert.deepEqual(await effects(db), ['001_a'], 'the aborted transaction left nothing of the stuck change');
    const record = await fixture.client.db(db).collection('delta_migrations').findOne({ changeId: '002_stuck' });
    assert.equal(record?.status, 'failed');
    assert.match(String(record?.error?.message), /timed out after 300 ms/);
  });

  it('a negative timeoutMs is a change file error naming the key', async () => {
    await assert.rejects(run([insertChange('001_a', { timeoutMs: -5 })], {}), /changes\[0\] \(001_a\): timeoutMs must be a positive number/);
  });
});
