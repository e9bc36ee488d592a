// Fleets in waves through the CLI: a failing canary halts the fleet with the rest not started, the
// same command goes on once it is fixed, --max-failure-rate lets a wave with some failures through,
// fleet.betweenWaves can halt it, status --targets shows the waves, and bad wave lists are refused.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FLEET_CHANGE } from '../helpers/changes.js';
import { assertOneLineError, runCli } from '../helpers/cli.js';
import { snapshotDatabase } from '../helpers/database.js';
import { uniqueDbName, useServer } from '../helpers/server.js';

const fixture = useServer();

/** `count` tenant databases `<prefix>_a`, `_b`... in name order. */
function tenants(count: number): string[] {
  const prefix = uniqueDbName('waves');
  return Array.from({ length: count }, (_, i) => `${prefix}_${String.fromCharCode(97 + i)}`);
}

const marked = async (db: string) => (await fixture.client.db(db).collection('effects').countDocuments()) === 1;

function cli(dir: string, extra: Record<string, string> = {}) {
  return (...args: string[]) => runCli(args, { cwd: dir, env: { DELTA_URI: fixture.server.uri, ...extra } });
}

describe('fleet waves (CLI)', () => {
  it('a failing canary halts the fleet, the rest not started; the same command goes on once it is fixed', async () => {
    const names = tenants(5);
    const [canary] = names as [string];
    const p = fixture.project(FLEET_CHANGE);
    const targets = names.join(',');

    const halted = await cli(p.dir, { FAIL_DB: canary })('commit', '--targets', targets, '--waves', '1,50%,rest');
    assert.equal(halted.code, 1, halted.stderr);
    assert.match(halted.stdout, /^WAVE\s+TARGET\s+OUTCOME/m);
    assert.match(halted.stdout, new RegExp(`^1\\s+${canary}\\s+failed`, 'm'));
    // 50% of 5 is 3 targets, then the rest: waves 2, 2, 2, 3.
    for (const [index, name] of names.slice(1).entries()) assert.match(halted.stdout, new RegExp(`^${index < 3 ? 2 : 3}\\s+${name}\\s+not run`, 'm'));
    assert.match(halted.stdout, /5 targets in \d+ ms: 0 ok, 1 failed, 4 not started, 1 of 3 waves done/);
    assert.match(halted.stdout, /Halted after wave 1 of 3: 1 of 1 targets failed \(100%, above the allowed 0%\)\. Run the same command again to go on\./);
    assertOneLineError(halted.stderr, /halted after wave 1 of 3: .*; 4 targets not started/);
    for (const name of names) assert.equal(await marked(name), false, `${name} untouched`);

    const status = await cli(p.dir)('status', '--targets', targets, '--waves', '1,50%,rest');
    assert.match(status.stdout, new RegExp(`^1\\s+${canary}\\s+failed`, 'm'));
    assert.match(status.stdout, new RegExp(`^3\\s+${names[4] ?? ''}\\s+behind`, 'm'));

    const resumed = await cli(p.dir)('commit', '--targets', targets, '--waves', '1,50%,rest', '--json');
    assert.equal(resumed.code, 0, resumed.stderr);
    const result = JSON.parse(resumed.stdout) as { waves: unknown; targets: { target: string; wave: number; outcome: string }[] };
    assert.deepEqual(result.waves, { total: 3, done: 3, halted: null });
    assert.deepEqual(
      result.targets.map((t) => [t.wave, t.outcome]),
      [
        [1, 'success'],
        [2, 'success'],
        [2, 'success'],
        [2, 'success'],
        [3, 'success'],
      ],
    );
    for (const name of names) assert.equal(await marked(name), true, `${name} applied`);
  });

  it('--max-failure-rate lets a wave with failures through; above it the fleet halts', async () => {
    const names = tenants(5);
    const p = fixture.project(FLEET_CHANGE);
    const targets = names.join(',');
    const failing = cli(p.dir, { FAIL_DB: names[1] ?? '' });
    // Wave 2 (b, c, d) has one failure in three: 33%.
    const tolerated = await failing('commit', '--targets', targets, '--waves', '1,3,rest', '--max-failure-rate', '40%');
    assert.equal(tolerated.code, 1, 'a failed target still fails the fleet');
    assert.match(tolerated.stdout, /4 ok, 1 failed, 3 of 3 waves done/);
    assert.equal(await marked(names[4] ?? ''), true, 'the last wave ran');

    const names2 = tenants(5);
    const strict = await cli(p.dir, { FAIL_DB: names2[1] ?? '' })('commit', '--targets', names2.join(','), '--waves', '1,3,rest', '--max-failure-rate', '0.2');
    assert.equal(strict.code, 1);
    assert.match(strict.stdout, /Halted after wave 2 of 3: 1 of 3 targets failed \(33\.3%, above the allowed 20%\)/);
    assert.equal(await marked(names2[4] ?? ''), false, 'the last wave did not start');
  });

  it('fleet.betweenWaves sees each finished wave and halts the fleet by throwing', async () => {
    const names = tenants(4);
    const p = fixture.project({
      ...FLEET_CHANGE,
      'delta.config.mjs': `export default {
  path: './migrations',
  fleet: {
    waves: '1,1,rest',
    async betweenWaves({ wave, waves, finished, next }) {
      console.log('between', wave, 'of', waves, finished.map((t) => t.target + ':' + t.outcome).join(','), 'next', next.join(','));
      if (wave === 2) throw new Error('error rate too high after ' + finished[0].target);
    },
  },
};
`,
    });
    const result = await cli(p.dir)('commit', '--targets', names.join(','));
    assert.equal(result.code, 1, result.stderr);
    const [a, b, c, d] = names as [string, string, string, string];
    assert.match(result.stdout, new RegExp(`^between 1 of 3 ${a}:success next ${b}$`, 'm'));
    assert.match(result.stdout, new RegExp(`^between 2 of 3 ${b}:success next ${c},${d}$`, 'm'));
    assert.match(result.stdout, new RegExp(`Halted after wave 2 of 3: the betweenWaves hook failed: error rate too high after ${b}`));
    assert.deepEqual(await Promise.all(names.map(marked)), [true, true, false, false]);
  });

  it('refuses wave lists that are no waves: exit 2, nothing written', async () => {
    const names = tenants(2);
    const p = fixture.project(FLEET_CHANGE);
    const before = await snapshotDatabase(fixture.client, names[0] ?? '');
    for (const [waves, culprit] of [
      ['0,rest', /--waves <list>.*"0" is not a wave/],
      ['rest,1', /--waves <list>.*'rest' must be the last wave/],
      ['1,150%', /--waves <list>.*"150%" is not a wave/],
    ] as const) {
      const result = await cli(p.dir)('commit', '--targets', names.join(','), '--waves', waves);
      assert.equal(result.code, 2, result.stderr);
      assertOneLineError(result.stderr, culprit);
    }
    const rate = await cli(p.dir)('commit', '--targets', names.join(','), '--waves', '1', '--max-failure-rate', '2');
    assert.equal(rate.code, 2);
    assertOneLineError(rate.stderr, /--max-failure-rate <rate>.*between 0 and 1/);
    const config = fixture.project({ ...FLEET_CHANGE, 'delta.config.json': JSON.stringify({ fleet: { waves: 'first,rest' } }) });
    const bad = await cli(config.dir)('commit', '--targets', names.join(','));
    assert.equal(bad.code, 2);
    assertOneLineError(bad.stderr, /delta\.config\.json: fleet\.waves must be a wave list: "first" is not a wave/);
    assert.deepEqual(await snapshotDatabase(fixture.client, names[0] ?? ''), before);
  });
});
