// Stages: subfolders of the change folder (or configured stages) run in their declared order,
// each with its own transaction mode, time limit and parallelism, through createDelta().
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import type { DeltaEventName, DeltaEvents } from '../../src/index.js';
import { ChangeFileError, ConfigError, UsageError, createDelta } from '../../src/index.js';
import { insertChange } from '../helpers/changes.js';
import { uniqueDbName, useServer } from '../helpers/server.js';

const fixture = useServer();

/** A change file that inserts `{ _id: <id> }` into `effects`, after `waitMs`, and records when it ran. */
function changeFile(id: string, options: { waitMs?: number; fail?: boolean; extra?: string } = {}): string {
  return `export default {
  ${options.extra ?? ''}
  async commit({ db, session }) {
    const start = Date.now();
    await new Promise((resolve) => setTimeout(resolve, ${options.waitMs ?? 0}));
    ${options.fail === true ? `throw new Error('${id} broke');` : ''}
    await db.collection('effects').insertOne({ _id: '${id}' }, { session });
    await db.collection('timeline').insertOne({ id: '${id}', start, end: Date.now() });
  },
  async rollback({ db, session }) {
    await db.collection('effects').deleteOne({ _id: '${id}' }, { session });
    await db.collection('reverted').insertOne({ id: '${id}', at: Date.now() });
  },
};
`;
}

function open(dir: string, db: string, config: Record<string, unknown> = {}) {
  return createDelta({ config: { uri: fixture.server.uri, db, path: 'migrations', ...config }, cwd: dir, env: {} });
}

async function using<T>(delta: ReturnType<typeof createDelta>, work: (delta: ReturnType<typeof createDelta>) => Promise<T>): Promise<T> {
  try {
    return await work(delta);
  } finally {
    await delta.close();
  }
}

function record<E extends DeltaEventName>(delta: ReturnType<typeof createDelta>, names: readonly E[]): { name: E; payload: DeltaEvents[E] }[] {
  const seen: { name: E; payload: DeltaEvents[E] }[] = [];
  for (const name of names) delta.on(name, (payload) => seen.push({ name, payload }));
  return seen;
}

const effects = async (db: string) => (await fixture.client.db(db).collection<{ _id: string }>('effects').find({}).toArray()).map((d) => d._id).sort();
const records = (db: string) => fixture.client.db(db).collection('delta_migrations').find({}).sort({ appliedAt: 1 }).toArray();

describe('stages from subfolders', () => {
  it('run in folder-name order, ids ordered inside each; each record and audit event names its stage', async () => {
    // The data stage's ids sort before the schema stage's: the stage order wins.
    const project = fixture.project({
      'migrations/1-schema/20240105_users.mjs': changeFile('20240105_users'),
      'migrations/1-schema/20240106_orders.mjs': changeFile('20240106_orders'),
      'migrations/2-data/20240101_seed.mjs': changeFile('20240101_seed'),
      'migrations/_lib/helper.mjs': 'export const helper = 1;\n',
    });
    const db = uniqueDbName('stages');
    const delta = open(project.dir, db);
    const seen = record(delta, ['stage:start', 'change:start', 'stage:end']);
    const result = await using(delta, (d) => d.commit());
    assert.equal(result.outcome, 'success');
    assert.deepEqual(
      result.changes.map((c) => `${c.stage}/${c.id}`),
      ['1-schema/20240105_users', '1-schema/20240106_orders', '2-data/20240101_seed'],
    );
    assert.deepEqual(
      seen.map((e) => `${e.name} ${'changeId' in e.payload ? e.payload.changeId : e.payload.stage}`),
      ['stage:start 1-schema', 'change:start 20240105_users', 'change:start 20240106_orders', 'stage:end 1-schema', 'stage:start 2-data', 'change:start 20240101_seed', 'stage:end 2-data'],
    );
    const stored = await fixture.client.db(db).collection('delta_migrations').find({}).sort({ _id: 1 }).toArray();
    assert.deepEqual(
      stored.map((r) => [r._id, r.stage, r.file]),
      [
        ['20240101_seed', '2-data', '2-data/20240101_seed.mjs'],
        ['20240105_users', '1-schema', '1-schema/20240105_users.mjs'],
        ['20240106_orders', '1-schema', '1-schema/20240106_orders.mjs'],
      ],
    );
    assert.equal(await fixture.client.db(db).collection('delta_audit').countDocuments({ stage: '2-data', action: 'commit' }), 1);

    const status = await using(open(project.dir, db), (d) => d.status());
    assert.deepEqual(status.stages, ['1-schema', '2-data']);
    assert.deepEqual(
      status.changes.map((c) => [c.stage, c.id, c.state]),
      [
        ['1-schema', '20240105_users', 'applied'],
        ['1-schema', '20240106_orders', 'applied'],
        ['2-data', '20240101_seed', 'applied'],
      ],
    );
  });

  it('judges out-of-order inside a stage: a new schema change older than applied data changes is simply pending', async () => {
    const project = fixture.project({
      'migrations/a-schema/20240110_users.mjs': changeFile('20240110_users'),
      'migrations/b-data/20240120_seed.mjs': changeFile('20240120_seed'),
    });
    const db = uniqueDbName('stages');
    assert.equal((await using(open(project.dir, db), (d) => d.commit())).outcome, 'success');
    // Newer than its own stage's newest, older than the other stage's: pending, and it runs.
    project.write('migrations/a-schema/20240115_orders.mjs', changeFile('20240115_orders'));
    // Older than its own stage's newest: out of order.
    project.write('migrations/b-data/20240105_early.mjs', changeFile('20240105_early'));
    const status = await using(open(project.dir, db), (d) => d.status());
    assert.deepEqual(
      status.changes.map((c) => [c.id, c.state]),
      [
        ['20240110_users', 'applied'],
        ['20240115_orders', 'pending'],
        ['20240105_early', 'out_of_order'],
        ['20240120_seed', 'applied'],
      ],
    );
    const refused = await using(open(project.dir, db), (d) => d.commit()).catch((error: unknown) => error);
    assert.match(String((refused as Error).message), /20240105_early is pending but older than the newest applied change 20240120_seed of stage b-data/);
    const applied = await using(open(project.dir, db), (d) => d.commit({ stage: 'a-schema' }));
    assert.deepEqual(
      applied.changes.map((c) => c.id),
      ['20240115_orders'],
    );
    assert.deepEqual(await effects(db), ['20240110_users', '20240115_orders', '20240120_seed']);
  });

  it('commit --stage runs one stage; an unknown stage is refused before anything is written', async () => {
    const project = fixture.project({
      'migrations/schema/001_users.mjs': changeFile('001_users'),
      'migrations/data/002_seed.mjs': changeFile('002_seed'),
    });
    const db = uniqueDbName('stages');
    const unknown = await using(open(project.dir, db), (d) => d.commit({ stage: 'nope' })).catch((error: unknown) => error);
    assert.ok(unknown instanceof UsageError);
    assert.equal(unknown.message, '--stage nope: no such stage (stages: data, schema)');
    assert.deepEqual(await fixture.client.db(db).listCollections().toArray(), [], 'nothing was written');

    const result = await using(open(project.dir, db), (d) => d.commit({ stage: 'schema' }));
    assert.deepEqual(
      result.changes.map((c) => c.id),
      ['001_users'],
    );
    assert.deepEqual(await effects(db), ['001_users']);
  });

  it('rollback reverts the last stage first, and --stage keeps it inside one stage', async () => {
    const project = fixture.project({
      'migrations/1-schema/001_a.mjs': changeFile('001_a'),
      'migrations/1-schema/002_b.mjs': changeFile('002_b'),
      'migrations/2-data/000_seed.mjs': changeFile('000_seed'),
    });
    const db = uniqueDbName('stages');
    await using(open(project.dir, db), (d) => d.commit());
    // The last change of the run is data's 000_seed, although its id sorts first.
    const last = await using(open(project.dir, db), (d) => d.rollback());
    assert.deepEqual(
      last.changes.map((c) => c.id),
      ['000_seed'],
    );
    await using(open(project.dir, db), (d) => d.commit());
    const schemaOnly = await using(open(project.dir, db), (d) => d.rollback({ stage: '1-schema', all: true }));
    assert.deepEqual(
      schemaOnly.changes.map((c) => c.id),
      ['002_b', '001_a'],
    );
    assert.deepEqual(await effects(db), ['000_seed']);
    const rollTo = await using(open(project.dir, db), async (d) => {
      await d.commit();
      return d.rollback({ to: '001_a' });
    });
    // 000_seed was applied again before the schema stage was: only what was applied after 001_a is reverted.
    assert.deepEqual(
      rollTo.changes.map((c) => c.id),
      ['002_b'],
      'everything applied after 001_a',
    );
  });

  it('a project that moves its applied files into a stage folder keeps its history', async () => {
    const project = fixture.project({ 'migrations/001_a.mjs': changeFile('001_a'), 'migrations/002_b.mjs': changeFile('002_b') });
    const db = uniqueDbName('stages');
    await using(open(project.dir, db), (d) => d.commit());
    rmSync(join(project.dir, 'migrations/001_a.mjs'));
    rmSync(join(project.dir, 'migrations/002_b.mjs'));
    project.write('migrations/schema/001_a.mjs', changeFile('001_a'));
    project.write('migrations/schema/002_b.mjs', changeFile('002_b'));
    project.write('migrations/schema/003_c.mjs', changeFile('003_c'));
    const status = await using(open(project.dir, db), (d) => d.status());
    assert.deepEqual(
      status.changes.map((c) => [c.stage, c.id, c.state]),
      [
        ['schema', '001_a', 'applied'],
        ['schema', '002_b', 'applied'],
        ['schema', '003_c', 'pending'],
      ],
    );
    const result = await using(open(project.dir, db), (d) => d.commit());
    assert.deepEqual(
      result.changes.map((c) => c.id),
      ['003_c'],
    );
  });

  it('change files beside stage folders are refused, naming them (a helper folder starting with _ is fine)', async () => {
    const project = fixture.project({
      'migrations/001_loose.mjs': changeFile('001_loose'),
      'migrations/schema/002_users.mjs': changeFile('002_users'),
    });
    const db = uniqueDbName('stages');
    const refused = await using(open(project.dir, db), (d) => d.commit()).catch((error: unknown) => error);
    assert.ok(refused instanceof ConfigError);
    assert.match(refused.message, /migrations: change files 001_loose\.mjs sit beside stage folders \(schema\/\)/);
    assert.deepEqual(await fixture.client.db(db).listCollections().toArray(), []);
  });
});

describe('configured stages', () => {
  it('run in declared order with their own transaction mode and folder', async () => {
    const project = fixture.project({
      'migrations/zz-first/001_x.mjs': changeFile('001_x'),
      'migrations/seed/000_y.mjs': changeFile('000_y'),
    });
    const db = uniqueDbName('stages');
    const result = await using(open(project.dir, db, { stages: [{ name: 'first', path: 'zz-first', transaction: 'never' }, 'seed'] }), (d) => d.commit());
    assert.equal(result.outcome, 'success');
    assert.deepEqual(
      result.changes.map((c) => [c.stage, c.id, c.transactional]),
      [
        ['first', '001_x', false],
        ['seed', '000_y', true],
      ],
    );
    assert.deepEqual(
      (await records(db)).map((r) => [r._id, r.stage, r.transactional]),
      [
        ['001_x', 'first', false],
        ['000_y', 'seed', true],
      ],
    );
  });

  it("a stage's time limit fails a change that takes longer; a change's own limit wins", async () => {
    const project = fixture.project({
      'migrations/slow/001_slow.mjs': changeFile('001_slow', { waitMs: 2_000 }),
      'migrations/slow/002_own_limit.mjs': changeFile('002_own_limit', { waitMs: 600, extra: 'timeoutMs: 5000,' }),
    });
    const db = uniqueDbName('stages');
    const delta = open(project.dir, db, { stages: [{ name: 'slow', timeoutMs: 300 }] });
    const first = await using(delta, (d) => d.commit());
    assert.equal(first.outcome, 'failed');
    assert.match(first.error?.message ?? '', /001_slow failed: .*300 ms/);
    const second = await using(open(project.dir, db, { stages: [{ name: 'slow', timeoutMs: 300 }] }), (d) => d.commit({ only: '002_own_limit' }));
    assert.equal(second.outcome, 'success');
  });

  it('refuses a missing stage folder and a file outside every stage, naming the key', async () => {
    const project = fixture.project({ 'migrations/schema/001_a.mjs': changeFile('001_a'), 'migrations/002_loose.mjs': changeFile('002_loose') });
    const db = uniqueDbName('stages');
    const missing = await using(open(project.dir, db, { stages: ['schema', 'data'] }), (d) => d.commit()).catch((error: unknown) => error);
    assert.ok(missing instanceof ConfigError);
    assert.match(missing.message, /^config: stages\[1\]: stage data: folder .*migrations\/data does not exist$/);
    const loose = await using(open(project.dir, db, { stages: ['schema'] }), (d) => d.commit()).catch((error: unknown) => error);
    assert.ok(loose instanceof ConfigError);
    assert.match(loose.message, /002_loose\.mjs is in no stage: move it into a stage's folder, declare its folder as a stage \(path '\.' for the change folder itself\)/);
    const rooted = await using(open(project.dir, db, { stages: [{ name: 'main', path: '.' }, 'schema'] }), (d) => d.commit());
    assert.deepEqual(
      rooted.changes.map((c) => `${c.stage}:${c.id}`),
      ['main:002_loose', 'schema:001_a'],
    );
  });

  it('refuses bad stage settings naming the key', async () => {
    const cases: [unknown, RegExp][] = [
      [[{ name: 'a', timeoutMs: -5 }], /stages\.0\.timeoutMs must be/],
      [[{ name: 'a', concurrency: 0 }], /stages\.0\.concurrency must be greater than 0/],
      [['a', 'a'], /stages\.1 names stage "a" a second time/],
      [['has space'], /stages\.0 must be a name of letters/],
      [[{ name: 'a', parallel: 'yes' }], /stages\.0\.parallel must be a boolean/],
      [[], /stages must be/],
    ];
    for (const [stages, expected] of cases) {
      const error = await using(open(fixture.project().dir, uniqueDbName('stages'), { stages }), (d) => d.config()).catch((thrown: unknown) => thrown);
      assert.ok(error instanceof ConfigError, `${JSON.stringify(stages)}: ${String(error)}`);
      assert.match(error.message, expected);
    }
  });
});

describe('parallel stages', () => {
  it('run up to `concurrency` changes at once, then the next stage', async () => {
    const files: Record<string, string> = { 'migrations/after/100_last.mjs': changeFile('100_last') };
    for (const id of ['001_a', '002_b', '003_c', '004_d', '005_e']) files[`migrations/indexes/${id}.mjs`] = changeFile(id, { waitMs: 250 });
    const project = fixture.project(files);
    const db = uniqueDbName('stages');
    const stages = [{ name: 'indexes', parallel: true, concurrency: 2 }, 'after'];
    const result = await using(open(project.dir, db, { stages }), (d) => d.commit());
    assert.equal(result.outcome, 'success');
    assert.deepEqual(
      result.changes.map((c) => c.id),
      ['001_a', '002_b', '003_c', '004_d', '005_e', '100_last'],
      'outcomes in plan order',
    );
    const timeline = await fixture.client.db(db).collection<{ id: string; start: number; end: number }>('timeline').find({}).toArray();
    const overlapAt = (t: number) => timeline.filter((x) => x.id !== '100_last' && x.start <= t && t < x.end).length;
    const most = Math.max(...timeline.map((x) => overlapAt(x.start)));
    assert.equal(most, 2, 'two at once, never more');
    const last = timeline.find((x) => x.id === '100_last');
    assert.ok(last !== undefined && timeline.every((x) => x.id === '100_last' || x.end <= last.start), 'the next stage starts after the parallel one ends');
  });

  it('a failure lets running siblings finish and be recorded, starts nothing new, and stops before the next stage', async () => {
    const project = fixture.project({
      'migrations/par/001_slow.mjs': changeFile('001_slow', { waitMs: 400 }),
      'migrations/par/002_broken.mjs': changeFile('002_broken', { fail: true }),
      'migrations/par/003_later.mjs': changeFile('003_later'),
      'migrations/next/004_next.mjs': changeFile('004_next'),
    });
    const db = uniqueDbName('stages');
    const stages = [{ name: 'par', parallel: true, concurrency: 2 }, 'next'];
    const delta = open(project.dir, db, { stages });
    const skipped = record(delta, ['change:skipped']);
    const result = await using(delta, (d) => d.commit());
    assert.equal(result.outcome, 'failed');
    assert.match(result.error?.message ?? '', /002_broken failed: 002_broken broke/);
    assert.deepEqual(
      result.changes.map((c) => [c.id, c.status]),
      [
        ['001_slow', 'done'],
        ['002_broken', 'failed'],
        ['003_later', 'not-run'],
        ['004_next', 'not-run'],
      ],
    );
    assert.deepEqual(
      skipped.map((e) => [e.payload.changeId, e.payload.reason]),
      [
        ['003_later', 'failed'],
        ['004_next', 'failed'],
      ],
    );
    assert.deepEqual(await effects(db), ['001_slow']);
    const stored = Object.fromEntries((await records(db)).map((r) => [r._id, r.status]));
    assert.deepEqual(stored, { '001_slow': 'applied', '002_broken': 'failed' });

    // Fixed (a new file name: this process's module cache holds the old one), the next commit
    // starts again from the failed change.
    rmSync(join(project.dir, 'migrations/par/002_broken.mjs'));
    project.write('migrations/par/002_broken.fixed.mjs', changeFile('002_broken', { extra: "id: '002_broken'," }));
    const again = await using(open(project.dir, db, { stages }), (d) => d.commit());
    assert.deepEqual(
      again.changes.map((c) => [c.id, c.status]),
      [
        ['002_broken', 'done'],
        ['003_later', 'done'],
        ['004_next', 'done'],
      ],
    );
  });
});

describe('stages for changes given in memory', () => {
  it('each names a configured stage; the stages run in their declared order', async () => {
    const db = uniqueDbName('stages');
    const delta = createDelta({
      config: { uri: fixture.server.uri, db, stages: ['schema', 'data'] },
      changes: [insertChange('001_seed', { stage: 'data' }), insertChange('009_users', { stage: 'schema' })],
      env: {},
    });
    const result = await using(delta, (d) => d.commit());
    assert.deepEqual(
      result.changes.map((c) => `${c.stage}:${c.id}`),
      ['schema:009_users', 'data:001_seed'],
    );

    const unnamed = createDelta({ config: { uri: fixture.server.uri, db, stages: ['schema'] }, changes: [insertChange('001_a')], env: {} });
    const error = await using(unnamed, (d) => d.commit()).catch((thrown: unknown) => thrown);
    assert.ok(error instanceof ChangeFileError);
    assert.equal(error.message, 'changes[0] (001_a): stage is required: the configuration declares stages (schema)');
  });
});

describe('rollback events', () => {
  it('a failed commit without a transaction reports its compensating rollback; a rollback run reports requested ones', async () => {
    const db = uniqueDbName('stages');
    const failing = insertChange('001_fails', {
      transaction: 'never',
      async commit() {
        throw new Error('nope');
      },
    });
    const delta = createDelta({ config: { uri: fixture.server.uri, db }, changes: [failing], env: {} });
    const seen = record(delta, ['rollback:start', 'rollback:success']);
    await using(delta, (d) => d.commit());
    assert.deepEqual(
      seen.map((e) => [e.name, e.payload.changeId, e.payload.reason]),
      [
        ['rollback:start', '001_fails', 'compensation'],
        ['rollback:success', '001_fails', 'compensation'],
      ],
    );

    const other = uniqueDbName('stages');
    const applied = createDelta({ config: { uri: fixture.server.uri, db: other }, changes: [insertChange('001_ok')], env: {} });
    const events = record(applied, ['rollback:start', 'rollback:success']);
    await using(applied, async (d) => {
      await d.commit();
      await d.rollback();
    });
    assert.deepEqual(
      events.map((e) => [e.name, e.payload.reason]),
      [
        ['rollback:start', 'requested'],
        ['rollback:success', 'requested'],
      ],
    );
  });
});
