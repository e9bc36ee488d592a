// An application that runs its changes at start-up through the library, started as 4 replicas at
// once: each change is applied exactly once, one replica applies them, the others find nothing to do.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { childEnvironment, linkDeltaPackage, runNode } from '../helpers/cli.js';
import { uniqueDbName, useServer } from '../helpers/server.js';

const fixture = useServer();

/** What an application's start-up does: createDelta(...).commit(), then report and exit. */
const APP = `import { createDelta } from 'mongo-delta';
const delta = createDelta({ config: { uri: process.env.APP_MONGODB_URI, path: './migrations', lock: { waitMs: 60_000 } } });
try {
  const result = await delta.commit();
  process.stdout.write(JSON.stringify({ outcome: result.outcome, applied: result.changes.filter((c) => c.status === 'done').length }) + '\\n');
  process.exitCode = result.error === undefined ? 0 : 1;
} finally {
  await delta.close();
}
`;

function change(n: number): string {
  return `export default {
  async commit({ db, session }) { await db.collection('effects').insertOne({ change: ${n} }, { session }); },
  async rollback({ db, session }) { await db.collection('effects').deleteMany({ change: ${n} }, { session }); },
};
`;
}

// The suite's own MONGODB_URI (a server without a database, when it runs against one) must not
// reach the application: delta reads it before the URI the application passes in its config.
function startApp(cwd: string, uri: string) {
  return runNode(['app.mjs'], { cwd, env: { ...childEnvironment(), APP_MONGODB_URI: uri } });
}

describe('an application running delta at start-up', () => {
  it('4 replicas starting together apply each change exactly once', async () => {
    const files: Record<string, string> = { 'package.json': JSON.stringify({ name: 'app', type: 'module' }), 'app.mjs': APP };
    for (let i = 0; i < 20; i++) files[`migrations/${String(i).padStart(3, '0')}_change.js`] = change(i);
    const p = fixture.project(files);
    linkDeltaPackage(p.dir);
    const db = uniqueDbName('app');
    await fixture.client.db(db).createCollection('effects');

    const replicas = await Promise.all([1, 2, 3, 4].map(() => startApp(p.dir, fixture.uriFor(db))));
    for (const replica of replicas) assert.equal(replica.code, 0, replica.stderr);
    const reports = replicas.map((r) => JSON.parse(r.stdout.trim()) as { outcome: string; applied: number });
    assert.deepEqual(reports.map((r) => r.outcome).sort(), ['nothing-to-do', 'nothing-to-do', 'nothing-to-do', 'success']);
    assert.equal(
      reports.reduce((sum, r) => sum + r.applied, 0),
      20,
    );

    const twice = await fixture.client
      .db(db)
      .collection('effects')
      .aggregate([{ $group: { _id: '$change', n: { $sum: 1 } } }, { $match: { n: { $ne: 1 } } }])
      .toArray();
    assert.deepEqual(twice, []);
    assert.equal(await fixture.client.db(db).collection('effects').countDocuments({}), 20);
    assert.equal(await fixture.client.db(db).collection('delta_migrations').countDocuments({ status: 'applied' }), 20);
  });
});
