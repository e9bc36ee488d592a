// A fleet over two deployments through the CLI: a fleet file whose entries name their deployment
// by `${VARIABLE}`, twenty databases on each (the same names on both: two targets each), every
// target's history on its own server, the deployment beside the database in every output, a
// failing canary that halts the waves with nothing started elsewhere, the same command going on,
// one external tracker for both deployments, and bad fleet files refused before anything is written.
// The first deployment is the test server (MONGODB_URI or a sandbox); the second is always a
// sandbox of this process on another port, so the file runs the same against a real server.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { ClientSession, Db } from 'mongodb';
import { MongoClient } from 'mongodb';
import { deploymentName } from '../../src/config/deployment-name.js';
import { createDelta } from '../../src/index.js';
import type { Sandbox } from '../../src/sandbox/index.js';
import { startSandbox } from '../../src/sandbox/index.js';
import { FLEET_CHANGE } from '../helpers/changes.js';
import { assertOneLineError, runCli } from '../helpers/cli.js';
import { withCredentials, withDatabase } from '../helpers/connection-string.js';
import { uniqueDbName, useServer } from '../helpers/server.js';

const fixture = useServer();
let second: Sandbox | undefined;
let secondClient: MongoClient | undefined;

before(async () => {
  second = await startSandbox({ port: 0 });
  secondClient = await new MongoClient(second.uri).connect();
});
after(async () => {
  await secondClient?.close();
  await second?.stop();
});

const ready = <T>(value: T | undefined): T => {
  if (value === undefined) throw new Error('used before before() ran');
  return value;
};
const B = () => ready(second).uri;
const clients = () => ({ a: fixture.client, b: ready(secondClient) });

/** `count` database names `<prefix>_00`, `_01`... in name order. */
function tenants(count: number): string[] {
  const prefix = uniqueDbName('deploy');
  return Array.from({ length: count }, (_, i) => `${prefix}_${String(i).padStart(2, '0')}`);
}

/** A fleet file: the names on the run's own deployment (no uri), then the same names on ${B_URI}. */
function fleetFile(names: readonly string[]): string {
  const list = names.map((n) => `'${n}'`).join(', ');
  return `# the run's own deployment, then the second one\n- db: [${list}]\n- uri: \${B_URI}\n  db: [${list}]\n`;
}

function cli(dir: string, extra: Record<string, string> = {}) {
  return (...args: string[]) => runCli(args, { cwd: dir, env: { DELTA_URI: fixture.server.uri, B_URI: B(), ...extra } });
}

/** The records of 001_mark in a database's own history, and whether its effect is there. */
async function readBack(client: MongoClient, db: string): Promise<{ records: number; applied: boolean; marked: boolean }> {
  const records = await client.db(db).collection<{ _id: string; status: string }>('delta_migrations').find({}).toArray();
  const marked = (await client.db(db).collection<{ _id: string }>('effects').countDocuments({ _id: 'done' })) === 1;
  return { records: records.length, applied: records.some((r) => r._id === '001_mark' && r.status === 'applied'), marked };
}

interface JsonTarget {
  target: string;
  deployment: string;
  outcome: string;
  wave: number | null;
}

describe('fleet over two deployments (CLI)', () => {
  it('commits over both, each target with its own history on its own server, the deployment named in --json, the table and status', async () => {
    const names = tenants(20);
    const p = fixture.project({ ...FLEET_CHANGE, 'fleet.yaml': fleetFile(names) });
    const run = cli(p.dir);
    const a = deploymentName(fixture.server.uri) ?? '';
    const b = deploymentName(B()) ?? '';
    assert.notEqual(a, b);

    const committed = await run('commit', '--targets', '@fleet.yaml', '--json', '--concurrency', '4', '--total-concurrency', '6');
    assert.equal(committed.code, 0, committed.stderr);
    const result = JSON.parse(committed.stdout) as { outcome: string; targets: JsonTarget[] };
    assert.equal(result.outcome, 'success');
    // Entries' order, then name order: the own deployment's twenty, then the second's.
    assert.deepEqual(
      result.targets.map((t) => `${t.deployment}|${t.target}|${t.outcome}`),
      [...names.map((n) => `${a}|${n}|success`), ...names.map((n) => `${b}|${n}|success`)],
    );
    for (const [side, client] of Object.entries(clients())) {
      for (const name of names) assert.deepEqual(await readBack(client, name), { records: 1, applied: true, marked: true }, `${side}/${name}`);
    }

    const status = await run('status', '--targets', '@fleet.yaml', '--json');
    assert.equal(status.code, 0, status.stderr);
    const fleet = JSON.parse(status.stdout) as { summary: { total: number; upToDate: number }; targets: { deployment: string }[] };
    assert.deepEqual([fleet.summary.total, fleet.summary.upToDate], [40, 40]);
    assert.deepEqual([...new Set(fleet.targets.map((t) => t.deployment))], [a, b]);

    // Once more with nothing to do: the table on stdout, and (--log-format json) the events on stderr.
    const logged = await run('commit', '--targets', '@fleet.yaml', '--log-format', 'json');
    assert.equal(logged.code, 0, logged.stderr);
    assert.match(logged.stdout, /^DEPLOYMENT\s+TARGET\s+OUTCOME/m);
    assert.match(logged.stdout, new RegExp(`^${b.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\s+${names[0] ?? ''}\\s+up to date`, 'm'));
    assert.match(logged.stdout, /40 targets in \d+ ms: 40 ok, 0 failed/);
    // Each target's start and end event names its deployment.
    const events = logged.stderr
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .map((line) => JSON.parse(line) as { event: string; target?: string; deployment?: string; deployments?: number });
    const ends = events.filter((e) => e.event === 'target:end');
    assert.equal(ends.length, 40);
    assert.deepEqual(new Set(ends.map((e) => e.deployment)), new Set([a, b]));
    assert.ok(events.filter((e) => e.event === 'target:start').every((e) => e.deployments === 2 && (e.deployment === a || e.deployment === b)));
  });

  it('a failing canary halts the waves on both deployments with nothing else started; the same command goes on once it is fixed', async () => {
    const names = tenants(20);
    const [canary] = names as [string];
    const p = fixture.project({ ...FLEET_CHANGE, 'fleet.yaml': fleetFile(names) });

    const halted = await cli(p.dir, { FAIL_DB: canary })('commit', '--targets', '@fleet.yaml', '--waves', '1,25%,rest', '--json');
    assert.equal(halted.code, 1, halted.stderr);
    const result = JSON.parse(halted.stdout) as { waves: unknown; targets: JsonTarget[] };
    assert.deepEqual(result.waves, { total: 3, done: 1, halted: 'wave 1 of 3: 1 of 1 targets failed (100%, above the allowed 0%)' });
    assert.deepEqual(result.targets[0] && [result.targets[0].target, result.targets[0].outcome, result.targets[0].wave], [canary, 'failed', 1]);
    assert.ok(
      result.targets.slice(1).every((t) => t.outcome === 'not-run'),
      'the other 39 not started',
    );
    const { a, b } = clients();
    // The canary has its failed record; nothing else was touched on either server.
    assert.deepEqual(await readBack(a, canary), { records: 1, applied: false, marked: false });
    for (const name of names.slice(1)) assert.equal((await readBack(a, name)).records, 0, `a/${name}`);
    for (const name of names) assert.equal((await readBack(b, name)).records, 0, `b/${name}`);

    const resumed = await cli(p.dir)('commit', '--targets', '@fleet.yaml', '--waves', '1,25%,rest', '--json');
    assert.equal(resumed.code, 0, resumed.stderr);
    const done = JSON.parse(resumed.stdout) as { waves: unknown; targets: JsonTarget[] };
    assert.deepEqual(done.waves, { total: 3, done: 3, halted: null });
    assert.deepEqual(
      done.targets.map((t) => t.wave),
      [1, ...Array<number>(10).fill(2), ...Array<number>(29).fill(3)],
    );
    for (const [side, client] of Object.entries(clients())) {
      for (const name of names) assert.deepEqual(await readBack(client, name), { records: 1, applied: true, marked: true }, `${side}/${name}`);
    }
  });

  it('one external tracker serves both deployments: the same database name on each is two histories and two locks', async () => {
    const names = tenants(3);
    const trackerDb = `${names[0] ?? ''}_tracker`;
    const ownOnly = `- db: [${names.join(', ')}]\n`;
    const p = fixture.project({ ...FLEET_CHANGE, 'own.yaml': ownOnly, 'fleet.yaml': fleetFile(names) });
    const run = cli(p.dir);
    const b = deploymentName(B()) ?? '';

    const first = await run('commit', '--targets', '@own.yaml', '--tracker-db', trackerDb);
    assert.equal(first.code, 0, first.stderr);
    // The second deployment's databases of the same names are behind: their history is their own.
    const status = await run('status', '--targets', '@fleet.yaml', '--tracker-db', trackerDb, '--json');
    const fleet = JSON.parse(status.stdout) as { summary: { upToDate: number; behind: number }; targets: { deployment: string; behind: boolean }[] };
    assert.deepEqual([fleet.summary.upToDate, fleet.summary.behind], [3, 3]);
    assert.ok(fleet.targets.every((t) => t.behind === (t.deployment === b)));

    const both = await run('commit', '--targets', '@fleet.yaml', '--tracker-db', trackerDb, '--json');
    assert.equal(both.code, 0, both.stderr);
    const outcomes = (JSON.parse(both.stdout) as { targets: JsonTarget[] }).targets.map((t) => t.outcome);
    assert.deepEqual(outcomes, ['nothing-to-do', 'nothing-to-do', 'nothing-to-do', 'success', 'success', 'success']);
    const records = await fixture.client.db(trackerDb).collection<{ _id: string; targetDb: string; deployment?: string; status: string }>('delta_migrations').find({}).sort({ _id: 1 }).toArray();
    assert.deepEqual(
      records.map((r) => [r._id, r.targetDb, r.deployment ?? null, r.status]).sort(),
      [...names.map((n) => [`${b}/${n}/001_mark`, n, b, 'applied']), ...names.map((n) => [`${n}/001_mark`, n, null, 'applied'])].sort(),
    );
    // Nothing of delta's in the targets' own databases: the history is the tracker's.
    for (const name of names) assert.equal((await readBack(ready(secondClient), name)).records, 0);
    const audit = await fixture.client.db(trackerDb).collection('delta_audit').countDocuments({ deployment: b });
    assert.equal(audit, 3);
  });

  it('a tracker on a deployment of its own (--tracker-uri) keys the other deployments by name too', async () => {
    const names = tenants(2);
    const trackerDb = `${names[0] ?? ''}_trk`;
    const p = fixture.project({ ...FLEET_CHANGE, 'fleet.yaml': fleetFile(names) });
    const b = deploymentName(B()) ?? '';
    const committed = await cli(p.dir)('commit', '--targets', '@fleet.yaml', '--tracker-uri', withDatabase(B(), trackerDb));
    assert.equal(committed.code, 0, committed.stderr);
    const records = await ready(secondClient).db(trackerDb).collection<{ _id: string; deployment?: string }>('delta_migrations').find({}).toArray();
    assert.deepEqual(records.map((r) => [r._id, r.deployment ?? null]).sort(), [...names.map((n) => [`${b}/${n}/001_mark`, b]), ...names.map((n) => [`${n}/001_mark`, null])].sort());
    const locks = await ready(secondClient).db(trackerDb).collection('delta_lock').countDocuments();
    assert.equal(locks, 0, 'every lock released');
  });

  it('createDelta takes { uri, db } entries: one client per deployment, opened once, closed by close()', async () => {
    const names = tenants(4);
    const changes = [
      {
        id: '001_mark',
        async commit({ db, session }: { db: Db; session?: ClientSession }) {
          await db.collection<{ _id: string }>('effects').insertOne({ _id: 'done' }, { session });
        },
      },
    ];
    const delta = createDelta({
      config: { uri: fixture.server.uri, fleet: { concurrency: 2, totalConcurrency: 3 } },
      changes,
      env: { B_URI: B() },
    });
    const connect = MongoClient.prototype.connect;
    const clients = new Set<MongoClient>();
    MongoClient.prototype.connect = function (this: MongoClient) {
      clients.add(this);
      return connect.call(this);
    };
    let result;
    try {
      result = await delta.commitFleet({ targets: [{ db: names }, { uri: '${B_URI}', db: names }] });
    } finally {
      MongoClient.prototype.connect = connect;
      await delta.close();
    }
    assert.equal(result.outcome, 'success');
    assert.equal(result.targets.length, 8);
    assert.equal(clients.size, 2, 'one client per deployment, not per target');
    for (const [side, client] of Object.entries({ a: fixture.client, b: ready(secondClient) })) {
      for (const name of names) assert.equal((await readBack(client, name)).applied, true, `${side}/${name}`);
    }
  });

  it('refuses a bad --total-concurrency, a bad entry and an unset variable (exit 2, nothing written), and never shows a password', async () => {
    const names = tenants(2);
    const p = fixture.project({
      ...FLEET_CHANGE,
      'fleet.yaml': fleetFile(names),
      'bad.yml': `- db: ${names[0] ?? ''}\n- { uri: "\${B_URI}", dbs: [${names[1] ?? ''}] }\n`,
      'secret.yaml': `- { uri: "\${SECRET_URI}", db: ${names[0] ?? ''} }\n`,
    });
    const run = cli(p.dir);

    const total = await run('commit', '--targets', '@fleet.yaml', '--total-concurrency', '0');
    assert.equal(total.code, 2, total.stderr);
    assertOneLineError(total.stderr, /--total-concurrency/);

    const bad = await run('commit', '--targets', '@bad.yml');
    assert.equal(bad.code, 2, bad.stderr);
    assertOneLineError(bad.stderr, /--targets @bad\.yml: entry 2: unknown key "dbs" \(an entry has uri and db\)/);

    const unset = await runCli(['commit', '--targets', '@fleet.yaml'], { cwd: p.dir, env: { DELTA_URI: fixture.server.uri } });
    assert.equal(unset.code, 2, unset.stderr);
    assertOneLineError(unset.stderr, /--targets @fleet\.yaml: entry 2: key "uri" names the environment variable B_URI, which is not set/);
    for (const [side, client] of Object.entries(clients())) {
      for (const name of names) assert.equal((await readBack(client, name)).records, 0, `${side}/${name} untouched`);
    }

    // The second sandbox has no users: the password's connection fails, and is never shown.
    const password = 'Fl33tS3cret';
    const secretUri = withCredentials(B(), 'deploy', password);
    for (const args of [
      ['commit', '--targets', '@secret.yaml', '--json'],
      ['commit', '--targets', '@secret.yaml', '--log-format', 'json'],
      ['status', '--targets', '@secret.yaml'],
    ]) {
      const leaked = await cli(p.dir, { SECRET_URI: secretUri })(...args);
      assert.notEqual(leaked.code, 0);
      assert.ok(!`${leaked.stdout}${leaked.stderr}`.includes(password), `${args.join(' ')} shows the password:\n${leaked.stdout}\n${leaked.stderr}`);
    }
  });
});
