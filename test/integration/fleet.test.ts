// Fleets through createDelta(): configured targets, one shared client for every target, target
// events, and a fleet rollback.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MongoClient } from 'mongodb';
import type { DeltaEvents } from '../../src/index.js';
import { createDelta } from '../../src/index.js';
import { uniqueDbName, useServer } from '../helpers/server.js';
import type { ChangeDefinition } from '../../src/vocabulary/index.js';

const fixture = useServer();

const changes: ChangeDefinition[] = ['001_a', '002_b'].map((id) => ({
  id,
  async commit({ db, session }) {
    await db.collection('effects').insertOne({ _id: id as never }, { session });
  },
  async rollback({ db, session }) {
    await db.collection('effects').deleteOne({ _id: id as never }, { session });
  },
}));

const effects = async (db: string) => (await fixture.client.db(db).collection<{ _id: string }>('effects').find({}).toArray()).map((d) => d._id).sort();

describe('fleet API', () => {
  it('runs configured targets over one connection, concurrency at once, and reports each target by events', async () => {
    const prefix = uniqueDbName('fleetapi');
    const names = Array.from({ length: 6 }, (_, i) => `${prefix}_${i}`);
    const delta = createDelta({ config: { uri: fixture.server.uri, targets: names, fleet: { concurrency: 3 } }, changes, env: {} });
    const seen: DeltaEvents['target:end'][] = [];
    let running = 0;
    let mostAtOnce = 0;
    delta.on('target:start', () => (mostAtOnce = Math.max(mostAtOnce, (running += 1))));
    delta.on('target:end', (e) => {
      running -= 1;
      seen.push(e);
    });
    // Every client delta connects goes through MongoClient#connect: a fleet must open one, not one per target.
    const connect = MongoClient.prototype.connect;
    let connects = 0;
    MongoClient.prototype.connect = function (this: MongoClient) {
      connects += 1;
      return connect.call(this);
    };
    try {
      const result = await delta.commitFleet();
      assert.equal(result.outcome, 'success', result.error?.message);
      assert.deepEqual(
        result.targets.map((t) => [t.target, t.outcome, t.done, t.pending]),
        names.map((name) => [name, 'success', 2, 0]),
      );
      const again = await delta.commitFleet();
      assert.equal(again.outcome, 'nothing-to-do');
      const back = await delta.rollbackFleet({ targets: `${names[0] ?? ''},${names[1] ?? ''}`, steps: 1 });
      assert.equal(back.outcome, 'success', back.error?.message);
    } finally {
      MongoClient.prototype.connect = connect;
      await delta.close();
    }
    assert.equal(connects, 1);
    assert.equal(mostAtOnce, 3);
    assert.equal(seen.length, 14);
    for (const [index, name] of names.entries()) assert.deepEqual(await effects(name), index < 2 ? ['001_a'] : ['001_a', '002_b']);
  });
});
