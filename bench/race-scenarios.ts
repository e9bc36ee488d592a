// The race of issue 22: several `delta commit` processes started at once over the same changes
// (the lock lets one work; the others wait, then find nothing to do), against one process alone,
// and the race's floor on this machine.
import type { ScenarioResult } from './compare-report.js';
import { MM_CHANGELOG, REPS, alternate, delta, expectCount, floorNoop, scenario } from './compare-harness.js';
import type { BenchServer, Runner } from './compare-harness.js';
import { combine } from './process-timer.js';
import { deltaProject } from './tool-projects.js';

/**
 * delta alone: `racers` processes committing the same `changes` at once, against one process.
 * Also the race's floor on this machine: one delta commit while `racers - 1` bare driver scripts
 * (bench/floor-noop.cjs, the least a loser could do: load the driver, connect, one query) start
 * beside it.
 */
export async function raceScenarios(server: BenchServer, racers: number, changes: number): Promise<ScenarioResult[]> {
  const dp = deltaProject('js', changes);
  const args = ['commit', '--path', './migrations', '--lock-wait', '120s'];
  try {
    const alone: Runner = async () => {
      const db = server.freshDb('one');
      const run = await delta(server, dp, db, args);
      await expectCount(server, db, 'items', changes, 'one delta commit');
      await server.drop(db);
      return run;
    };
    const racing: Runner = async () => {
      const db = server.freshDb('race');
      const started = performance.now();
      // Every racer must exit 0: the loser waits for the lock, then finds nothing to do.
      const runs = await Promise.all(Array.from({ length: racers }, () => delta(server, dp, db, args)));
      const sample = combine(runs, performance.now() - started);
      await expectCount(server, db, 'items', changes, `${racers} racing delta commit`);
      await expectCount(server, db, 'delta_migrations', changes, `${racers} racing delta commit`);
      await server.drop(db);
      return sample;
    };
    const floor: Runner = async () => {
      const db = server.freshDb('racefloor');
      const started = performance.now();
      // The losers' history is still empty when they read it: each finds every file pending.
      const bare = () => floorNoop(server, dp, db, MM_CHANGELOG);
      const runs = await Promise.all([delta(server, dp, db, args), ...Array.from({ length: racers - 1 }, bare)]);
      const sample = combine(runs, performance.now() - started);
      await expectCount(server, db, 'items', changes, 'delta commit beside bare scripts');
      await server.drop(db);
      return sample;
    };
    const [r, a, f] = await alternate(`race ${racers}×${changes}`, REPS, [racing, alone, floor]);
    return [
      scenario(`race-${racers}x${changes}`, `${racers} racing \`delta commit\`, ${changes} changes (delta only)`, `${racers} × delta commit at once`, r ?? [], '1 × delta commit', a ?? []),
      scenario(
        `race-floor-${racers}x${changes}`,
        `floor of the race: 1 \`delta commit\` of ${changes} changes beside ${racers - 1} bare driver scripts (losers that cost only the floor)`,
        `1 delta commit + ${racers - 1} bare scripts`,
        f ?? [],
        '1 × delta commit',
        a ?? [],
      ),
    ];
  } finally {
    dp.cleanup();
  }
}
