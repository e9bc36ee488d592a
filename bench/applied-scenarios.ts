// Scenarios of issue 22: start-up over an applied history (`commit` with nothing to do and
// `status`, both tools, 1,000 changes applied by the tools themselves) and TypeScript changes
// compiled with a cold cache (a fresh TMPDIR per run: tsx keeps its compile cache in the OS temp
// folder, so each run compiles every file, as a CI job's first run does).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ScenarioResult } from './compare-report.js';
import { DELTA_HISTORY, MM_CHANGELOG, REPS, alternate, childEnv, delta, expectCount, floorNoop, migrateMongo, scenario } from './compare-harness.js';
import type { BenchServer, Runner } from './compare-harness.js';
import { timeNode } from './process-timer.js';
import { DELTA_BIN, deltaProject, migrateMongoProject } from './tool-projects.js';

/**
 * `delta commit` and `migrate-mongo up` with nothing to do, then `delta status` and
 * `migrate-mongo status`, over `size` changes each tool applied itself (untimed, once; nothing
 * to do changes nothing, so every repetition runs against the same history).
 */
export async function appliedScenarios(server: BenchServer, size: number, tag = ''): Promise<ScenarioResult[]> {
  // `tag` names a variant (the latency proxy's): it is added to the titles, and `-latency` to the ids.
  const dp = deltaProject('js', size);
  const mm = migrateMongoProject(size);
  const deltaDb = server.freshDb('noop');
  const mmDb = server.freshDb('noopmm');
  const n = size.toLocaleString('en-US');
  try {
    await delta(server, dp, deltaDb, ['commit', '--path', './migrations']);
    await expectCount(server, deltaDb, 'items', size, 'delta commit before nothing to do');
    await migrateMongo(server, mm, mmDb, ['up']);
    await expectCount(server, mmDb, 'items', size, 'migrate-mongo up before nothing to do');

    const deltaCommit: Runner = async () => {
      const run = await delta(server, dp, deltaDb, ['commit', '--path', './migrations']);
      if (!/nothing to do/i.test(run.stdout + run.stderr)) throw new Error(`delta commit found something to do: ${run.stdout.slice(0, 500)}`);
      return run;
    };
    const mmUp: Runner = async () => {
      const run = await migrateMongo(server, mm, mmDb, ['up']);
      if (run.stdout.includes('MIGRATED UP')) throw new Error(`migrate-mongo up found something to do: ${run.stdout.slice(0, 500)}`);
      return run;
    };
    // What no tool can go below: a bare script that loads the driver, connects, reads
    // migrate-mongo's changelog with one query and lists its folder.
    const floor: Runner = () => floorNoop(server, mm, mmDb, MM_CHANGELOG, size);
    const [dc, mc, fc] = await alternate(`nothing to do ${n}${tag}`, REPS, [deltaCommit, mmUp, floor]);

    let checked = false;
    const deltaStatus: Runner = async () => {
      const run = await delta(server, dp, deltaDb, ['status', '--path', './migrations']);
      if (!checked) {
        const json = await delta(server, dp, deltaDb, ['status', '--path', './migrations', '--json']);
        const summary = (JSON.parse(json.stdout) as { summary: { applied: number; total: number } }).summary;
        if (summary.applied !== size || summary.total !== size) throw new Error(`delta status: ${JSON.stringify(summary)}, expected ${size} applied`);
        checked = true;
      }
      return run;
    };
    const mmStatus: Runner = async () => {
      const run = await migrateMongo(server, mm, mmDb, ['status']);
      const pending = run.stdout.split('PENDING').length - 1;
      if (pending !== 0) throw new Error(`migrate-mongo status: ${pending} PENDING of ${size}`);
      return run;
    };
    // The least `status` itself must do: the floor above on delta's own records (the fields its
    // history query asks for), plus reading and hashing every file, since status shows an applied
    // file that was edited since as `modified`.
    const statusFloor: Runner = () => floorNoop(server, dp, deltaDb, { ...DELTA_HISTORY, checksum: 'checksum' }, size);
    const [ds, ms, fs] = await alternate(`status ${n} applied${tag}`, REPS, [deltaStatus, mmStatus, statusFloor]);
    const id = tag === '' ? '' : '-latency';
    return [
      scenario(`commit-noop-${size}${id}`, `commit with nothing to do, ${n} applied changes and ${n} files${tag}`, 'delta commit', dc ?? [], 'migrate-mongo up (nothing to do)', mc ?? []),
      scenario(
        `floor-noop-${size}${id}`,
        `floor of nothing to do, ${n} applied (not delta: a bare script loads the driver, connects, reads the changelog's file names, lists the folder)${tag}`,
        'bare driver script',
        fc ?? [],
        'migrate-mongo up (nothing to do)',
        mc ?? [],
      ),
      scenario(`status-${size}-applied${id}`, `status, ${n} applied changes and ${n} files${tag}`, 'delta status', ds ?? [], 'migrate-mongo status', ms ?? []),
      scenario(
        `floor-status-${size}-applied${id}`,
        `floor of status, ${n} applied (not delta: the same bare script on delta's records, also hashing every file as status must to show \`modified\`)${tag}`,
        'bare driver script',
        fs ?? [],
        'migrate-mongo status',
        ms ?? [],
      ),
    ];
  } finally {
    await server.drop(deltaDb);
    await server.drop(mmDb);
    dp.cleanup();
    mm.cleanup();
  }
}

/**
 * `delta commit` of `size` TypeScript changes with tsx's compile cache cold (a fresh TMPDIR for
 * each run), against `migrate-mongo up` of the same changes in JavaScript.
 */
export async function coldTypeScriptScenario(server: BenchServer, size: number): Promise<ScenarioResult> {
  const ts = deltaProject('ts', size);
  const mm = migrateMongoProject(size);
  try {
    const deltaRun: Runner = async () => {
      const db = server.freshDb('tscold');
      const temp = mkdtempSync(join(tmpdir(), 'bench-tsx-cold-'));
      try {
        const env = childEnv({ DELTA_URI: server.uriFor(db), TMPDIR: temp });
        const run = await timeNode([DELTA_BIN, 'commit', '--path', './migrations'], { cwd: ts.dir, env });
        await expectCount(server, db, 'items', size, 'delta commit (TS, cold cache)');
        await server.drop(db);
        return run;
      } finally {
        rmSync(temp, { recursive: true, force: true });
      }
    };
    const mmRun: Runner = async () => {
      const db = server.freshDb('tscoldmm');
      const run = await migrateMongo(server, mm, db, ['up']);
      await expectCount(server, db, 'items', size, 'migrate-mongo up');
      await server.drop(db);
      return run;
    };
    const [d, m] = await alternate(`commit ${size} TS, cold compile cache`, REPS, [deltaRun, mmRun]);
    const n = size.toLocaleString('en-US');
    return scenario(
      `commit-${size}-ts-cold`,
      `commit ${n} changes: delta TS with a cold compile cache, migrate-mongo JS`,
      'delta commit (TS, cold tsx cache)',
      d ?? [],
      'migrate-mongo up (JS)',
      m ?? [],
    );
  } finally {
    ts.cleanup();
    mm.cleanup();
  }
}
