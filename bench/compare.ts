// delta against migrate-mongo, side by side, each run as a whole process the way users run them,
// on the same server (one sandbox, or MONGODB_URI), a fresh database for every run, the two tools
// alternating from one repetition to the next. Reports min / median / max wall time, delta ÷
// migrate-mongo (medians), peak RSS (GNU time's %M), tracker commands per change, and the goals.
//
//   npm run bench        (= npm run build && node --import tsx bench/compare.ts)
//
// Environment: BENCH_REPS (default 5), MONGODB_URI (a real server instead of the sandbox; round
// trips then go unmeasured), BENCH_OUT (where the JSON goes; default bench/results/latest.json),
// BENCH_ONLY (a comma-separated list of help, commit, noop, cold, status, rollback, race, trips,
// latency: only those; the JSON then goes to BENCH_OUT or a temp file, never to latest.json),
// BENCH_LATENCY_MS (the latency proxy's round trip, default 10),
// BENCH_TINY=1 (1 repetition, 10 changes, 3 racers, no 1,000/10,000 scenarios: a smoke check for
// npm test, written to BENCH_OUT or a temp file, never to latest.json).
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, platform, release, tmpdir, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { checksumOf } from '../src/loader/index.js';
import type { Sandbox } from '../src/sandbox/index.js';
import type { HistoryRecord } from '../src/tracker/index.js';
import { formatRatio, renderReport } from './compare-report.js';
import type { BenchReport, GoalResult, RoundTripResult, ScenarioResult } from './compare-report.js';
import { combine, timeNode } from './process-timer.js';
import type { ProcessRun } from './process-timer.js';
import { DELTA_BIN, MIGRATE_MONGO_BIN, NEVER_FLOOR_SCRIPT, deltaProject, migrateMongoProject } from './tool-projects.js';
import type { MigrateMongoProject, Project } from './tool-projects.js';
import { countCommands } from './command-counts.js';
import { appliedScenarios, coldTypeScriptScenario } from './applied-scenarios.js';
import { raceScenarios } from './race-scenarios.js';
import { behindProxy, hostAndPort, startLatencyProxy } from './latency-proxy.js';
import { DELTA_HISTORY, HELP_REPS, ONLY, REPS, TINY, alternate, childEnv, delta, expectCount, floorNoop, migrateMongo, openServer, progress, scenario, wanted } from './compare-harness.js';
import type { BenchServer, Runner } from './compare-harness.js';

const COMMIT_SIZES = TINY ? [10] : [1, 100, 1000];
const STATUS_RECORDS = TINY ? 10 : 10_000;
const ROLLBACK_CHANGES = TINY ? 10 : 100;
const RACE_CHANGES = TINY ? 10 : 200;
/** Racers in tiny mode: enough to race, few enough for npm test's time budget. */
const RACERS = TINY ? 3 : 8;
/** Round trips: runs of BASE and BASE + STEP changes; the difference ÷ STEP is the cost of one. */
const ROUND_TRIP_BASE = 10;
const ROUND_TRIP_STEP = TINY ? 10 : 100;
/** Changes applied before `commit` with nothing to do and `status` (issue 22), and in the cold TypeScript run. */
const APPLIED_CHANGES = TINY ? 10 : 1000;
/** The simulated network's round trip (BENCH_LATENCY_MS), and the commit size run through it. */
const LATENCY_MS = Number(process.env.BENCH_LATENCY_MS ?? 10);
const LATENCY_COMMIT_SIZE = TINY ? 10 : 100;

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const OUT =
  process.env.BENCH_OUT !== undefined && process.env.BENCH_OUT !== ''
    ? process.env.BENCH_OUT
    : TINY || ONLY.length > 0
      ? join(tmpdir(), `delta-bench-${TINY ? 'tiny' : 'partial'}-${process.pid}.json`)
      : join(ROOT, 'bench', 'results', 'latest.json');

// ---------------------------------------------------------------------------------------------
// Scenarios

async function helpScenario(): Promise<ScenarioResult> {
  const cwd = mkdtempSync(join(tmpdir(), 'bench-help-'));
  try {
    const runDelta = () => timeNode([DELTA_BIN, '--help'], { cwd, env: childEnv() });
    const runMigrateMongo = () => timeNode([MIGRATE_MONGO_BIN, '--help'], { cwd, env: childEnv() });
    // One untimed run of each first, so neither pays for a cold disk cache.
    await runDelta();
    await runMigrateMongo();
    const [d, m] = await alternate('--help', HELP_REPS, [runDelta, runMigrateMongo]);
    return scenario('help', '`--help` (cold start of the CLI)', 'delta --help', d ?? [], 'migrate-mongo --help', m ?? []);
  } finally {
    rmSync(cwd, { recursive: true, force: true });
  }
}

async function commitScenarios(server: BenchServer, size: number, tag = ''): Promise<ScenarioResult[]> {
  const js = deltaProject('js', size);
  const ts = deltaProject('ts', size);
  const mm = migrateMongoProject(size);
  const plural = size === 1 ? 'change' : 'changes';
  try {
    const deltaRun =
      (project: Project, tag: string, extra: readonly string[]): Runner =>
      async () => {
        const db = server.freshDb(tag);
        const run = await delta(server, project, db, ['commit', '--path', './migrations', ...extra]);
        await expectCount(server, db, 'items', size, `delta commit ${extra.join(' ')}`);
        await server.drop(db);
        return run;
      };
    const mmRun: Runner = async () => {
      const db = server.freshDb('mm');
      const run = await migrateMongo(server, mm, db, ['up']);
      await expectCount(server, db, 'items', size, 'migrate-mongo up');
      await server.drop(db);
      return run;
    };
    // The least `--transaction never` must do (bench/floor-never.cjs): each change, then one command
    // with its record, its audit event and the next change's running marker.
    const neverFloor: Runner = async () => {
      const db = server.freshDb('neverfloor');
      const run = await timeNode([NEVER_FLOOR_SCRIPT, server.uriFor(db), db, join(js.dir, 'migrations')], { cwd: js.dir, env: childEnv() });
      if (run.stdout.trim() !== `applied ${size}`) throw new Error(`never floor script: ${run.stdout.slice(0, 200)}`);
      await expectCount(server, db, 'items', size, 'floor-never.cjs');
      await server.drop(db);
      return run;
    };
    // One untimed TypeScript run first: the project is new, so its first run compiles every file,
    // and the TS rows are about a warm compile cache (the cold one is its own scenario).
    await deltaRun(ts, 'tswarm', [])();
    const [dJs, m, dNever, dTs, fNever] = await alternate(`commit ${size}${tag}`, REPS, [
      deltaRun(js, 'js', []),
      mmRun,
      deltaRun(js, 'never', ['--transaction', 'never']),
      deltaRun(ts, 'ts', []),
      neverFloor,
    ]);
    const n = size.toLocaleString('en-US');
    const id = tag === '' ? '' : '-latency';
    return [
      scenario(`commit-${size}-js${id}`, `commit ${n} JS ${plural}${tag}`, 'delta commit', dJs ?? [], 'migrate-mongo up', m ?? []),
      scenario(`commit-${size}-js-never${id}`, `commit ${n} JS ${plural}, delta \`--transaction never\`${tag}`, 'delta commit --transaction never', dNever ?? [], 'migrate-mongo up', m ?? []),
      scenario(`commit-${size}-ts${id}`, `commit ${n} ${plural}: delta TS, migrate-mongo JS${tag}`, 'delta commit (TS)', dTs ?? [], 'migrate-mongo up (JS)', m ?? []),
      scenario(
        `floor-never-${size}${id}`,
        `floor of \`--transaction never\`, ${n} JS ${plural} (not delta: a bare script runs each change, then writes its record, its audit event and the next change's \`running\` marker in one command)${tag}`,
        'bare driver script',
        fNever ?? [],
        'migrate-mongo up',
        m ?? [],
      ),
    ];
  } finally {
    js.cleanup();
    ts.cleanup();
    mm.cleanup();
  }
}

/** History written directly, as each tool writes it, for every file on disk. */
async function seedStatus(server: BenchServer, deltaDb: string, deltaFiles: Project, mmDb: string, mmFiles: Project): Promise<void> {
  const now = Date.now();
  const total = deltaFiles.files.length;
  const records: HistoryRecord[] = deltaFiles.files.map((file, i) => {
    const changeId = file.name.replace(/\.js$/, '');
    const appliedAt = new Date(now - (total - i) * 1000);
    return {
      _id: changeId,
      changeId,
      targetDb: deltaDb,
      status: 'applied',
      checksum: checksumOf(file.source),
      file: file.name,
      startedAt: new Date(appliedAt.getTime() - 5),
      appliedAt,
      durationMs: 5,
      runId: 'bench',
      executedBy: { user: 'bench', host: 'bench', pid: 1 },
      toolVersion: 'bench',
      transactional: true,
    };
  });
  await server.client.db(deltaDb).collection<HistoryRecord>('delta_migrations').insertMany(records);
  // migrate-mongo's own record when useFileHash is off (its default): lib/actions/up.js.
  const migrationBlock = now - total * 1000;
  const changelog = mmFiles.files.map((file, i) => ({ fileName: file.name, appliedAt: new Date(now - (total - i) * 1000), migrationBlock }));
  await server.client.db(mmDb).collection('changelog').insertMany(changelog);
}

/**
 * `delta status` and `migrate-mongo status` over STATUS_RECORDS applied records, and the floor of
 * its memory: a bare script (bench/floor-noop.cjs) that reads and keeps the fields status shows
 * of each of delta's records through the driver's cursor, as delta reads its history (raw, in
 * batches of 1,000).
 */
async function statusScenarios(server: BenchServer): Promise<ScenarioResult[]> {
  const dp = deltaProject('js', STATUS_RECORDS);
  const mm = migrateMongoProject(STATUS_RECORDS);
  let deltaDb = '';
  let mmDb = '';
  const dropBoth = async () => {
    if (deltaDb !== '') await server.drop(deltaDb);
    if (mmDb !== '') await server.drop(mmDb);
  };
  try {
    let checked = false;
    // Both databases of a repetition are seeded before any run, so seeding is never timed.
    const seed = async () => {
      await dropBoth();
      deltaDb = server.freshDb('st');
      mmDb = server.freshDb('stmm');
      await seedStatus(server, deltaDb, dp, mmDb, mm);
    };
    const deltaRun: Runner = async () => {
      const run = await delta(server, dp, deltaDb, ['status', '--path', './migrations']);
      if (!checked) {
        const json = await delta(server, dp, deltaDb, ['status', '--path', './migrations', '--json']);
        const summary = (JSON.parse(json.stdout) as { summary: { applied: number; total: number } }).summary;
        if (summary.applied !== STATUS_RECORDS || summary.total !== STATUS_RECORDS) throw new Error(`delta status: ${JSON.stringify(summary)}, expected ${STATUS_RECORDS} applied`);
        checked = true;
      }
      return run;
    };
    const mmRun: Runner = async () => {
      const run = await migrateMongo(server, mm, mmDb, ['status']);
      const pending = run.stdout.split('PENDING').length - 1;
      if (pending !== 0) throw new Error(`migrate-mongo status: ${pending} PENDING of ${STATUS_RECORDS}`);
      return run;
    };
    const floor: Runner = () => floorNoop(server, dp, deltaDb, DELTA_HISTORY, STATUS_RECORDS);
    const [d, m, f] = await alternate(`status ${STATUS_RECORDS}`, REPS, [deltaRun, mmRun, floor], seed);
    const n = STATUS_RECORDS.toLocaleString('en-US');
    return [
      scenario(`status-${STATUS_RECORDS}`, `status, ${n} applied records and ${n} files`, 'delta status', d ?? [], 'migrate-mongo status', m ?? []),
      scenario(
        `floor-status-${STATUS_RECORDS}`,
        `floor of status, ${n} records (not delta: a bare script reads and keeps the fields status shows through the driver's cursor, raw, in batches of 1,000)`,
        'bare driver script',
        f ?? [],
        'migrate-mongo status',
        m ?? [],
      ),
    ];
  } finally {
    await dropBoth();
    dp.cleanup();
    mm.cleanup();
  }
}

async function rollbackScenario(server: BenchServer): Promise<ScenarioResult> {
  const dp = deltaProject('js', ROLLBACK_CHANGES);
  const mm = migrateMongoProject(ROLLBACK_CHANGES);
  try {
    const deltaRun: Runner = async () => {
      const db = server.freshDb('rb');
      await delta(server, dp, db, ['commit', '--path', './migrations']);
      await expectCount(server, db, 'items', ROLLBACK_CHANGES, 'delta commit before rollback');
      const run = await delta(server, dp, db, ['rollback', '--path', './migrations', '--steps', String(ROLLBACK_CHANGES)]);
      await expectCount(server, db, 'items', 0, 'delta rollback --steps');
      await server.drop(db);
      return run;
    };
    const mmRun: Runner = async () => {
      const db = server.freshDb('rbmm');
      await migrateMongo(server, mm, db, ['up']);
      await expectCount(server, db, 'items', ROLLBACK_CHANGES, 'migrate-mongo up before down');
      const runs: ProcessRun[] = [];
      const started = performance.now();
      for (let i = 0; i < ROLLBACK_CHANGES; i++) runs.push(await migrateMongo(server, mm, db, ['down']));
      const sample = combine(runs, performance.now() - started);
      await expectCount(server, db, 'items', 0, 'migrate-mongo down');
      await expectCount(server, db, 'changelog', 0, 'migrate-mongo down');
      await server.drop(db);
      return sample;
    };
    const [d, m] = await alternate(`rollback ${ROLLBACK_CHANGES}`, REPS, [deltaRun, mmRun]);
    return scenario(`rollback-${ROLLBACK_CHANGES}`, `rollback ${ROLLBACK_CHANGES} changes`, `delta rollback --steps ${ROLLBACK_CHANGES}`, d ?? [], `${ROLLBACK_CHANGES} × migrate-mongo down`, m ?? []);
  } finally {
    dp.cleanup();
    mm.cleanup();
  }
}

/**
 * The start-up and commit scenarios again through a proxy that delays every message (no goal:
 * what a server across a network costs each tool). Sandbox only: the proxy forwards to one host.
 */
async function latencyScenarios(server: BenchServer, sandbox: Sandbox): Promise<ScenarioResult[]> {
  const { host, port } = hostAndPort(sandbox.uri);
  const proxy = await startLatencyProxy(host, port, LATENCY_MS);
  try {
    const slow = behindProxy(server, proxy);
    const tag = `, ${LATENCY_MS} ms round trip`;
    return [...(await appliedScenarios(slow, APPLIED_CHANGES, tag)), ...(await commitScenarios(slow, LATENCY_COMMIT_SIZE, tag))];
  } finally {
    await proxy.close();
  }
}

// ---------------------------------------------------------------------------------------------
// Round trips

const total = (counts: Readonly<Record<string, number>>) => Object.values(counts).reduce((a, b) => a + b, 0);

const round3 = (value: number): number => Math.round(value * 1000) / 1000;

async function roundTrips(server: BenchServer, sandbox: Sandbox): Promise<RoundTripResult[]> {
  const sizes = [ROUND_TRIP_BASE, ROUND_TRIP_BASE + ROUND_TRIP_STEP] as const;
  const projects = { js: sizes.map((n) => deltaProject('js', n)), mm: sizes.map((n) => migrateMongoProject(n)) };
  const tools: { tool: string; run: (index: number, db: string) => Promise<unknown> }[] = [
    { tool: 'delta commit (transaction auto)', run: (i, db) => delta(server, projects.js[i] as Project, db, ['commit', '--path', './migrations']) },
    { tool: 'delta commit --transaction never', run: (i, db) => delta(server, projects.js[i] as Project, db, ['commit', '--path', './migrations', '--transaction', 'never']) },
    { tool: 'migrate-mongo up', run: (i, db) => migrateMongo(server, projects.mm[i] as MigrateMongoProject, db, ['up']) },
  ];
  try {
    const results: RoundTripResult[] = [];
    for (const { tool, run } of tools) {
      const counts: Record<string, number>[] = [];
      for (const [index, size] of sizes.entries()) {
        const db = server.freshDb('rt');
        counts.push(await countCommands(sandbox, () => run(index, db)));
        await expectCount(server, db, 'items', size, tool);
        await server.drop(db);
      }
      const [small = {}, large = {}] = counts;
      const perChange: Record<string, number> = {};
      for (const name of [...new Set([...Object.keys(small), ...Object.keys(large)])].sort()) {
        // Rounded: grouped commits make fractions (0.01 commitTransaction per change), and float noise is not a finding.
        const difference = round3(((large[name] ?? 0) - (small[name] ?? 0)) / ROUND_TRIP_STEP);
        if (difference !== 0) perChange[name] = difference;
      }
      const perRunByName: Record<string, number> = {};
      for (const [name, count] of Object.entries(small).sort(([a], [b]) => a.localeCompare(b))) {
        const fixed = round3(count - ROUND_TRIP_BASE * (perChange[name] ?? 0));
        if (fixed !== 0) perRunByName[name] = fixed;
      }
      const perChangeTotal = total(perChange);
      results.push({ tool, changes: sizes, perChange, trackerPerChange: round3(perChangeTotal - 1), perRun: round3(total(perRunByName)), perRunByName });
      progress(`round trips: ${tool}`);
    }
    return results;
  } finally {
    [...projects.js, ...projects.mm].forEach((p) => p.cleanup());
  }
}

// ---------------------------------------------------------------------------------------------
// Goals, facts, main

function goals(scenarios: readonly ScenarioResult[], trips: readonly RoundTripResult[]): GoalResult[] {
  const ratioGoal = (id: string, text: string, limit: number): GoalResult => {
    const found = scenarios.find((s) => s.id === id);
    return { text, limit: `≤ ${formatRatio(limit)}`, measured: found?.ratio ?? null, unit: '×', pass: found === undefined ? null : found.ratio <= limit };
  };
  const status = scenarios.find((s) => s.id === 'status-10000');
  const statusRss = status?.delta.summary.peakRssMb ?? null;
  const floorRss = scenarios.find((s) => s.id === 'floor-status-10000')?.delta.summary.peakRssMb ?? null;
  const tripGoal = (tool: string): GoalResult => {
    const found = trips.find((t) => t.tool === tool);
    return { text: `${tool}: tracker commands per change`, limit: '≤ 2', measured: found?.trackerPerChange ?? null, unit: 'commands', pass: found === undefined ? null : found.trackerPerChange <= 2 };
  };
  const race = `race-${RACERS}x${RACE_CHANGES}`;
  /** A measured ratio with no goal of its own: what a goal above cannot go below on this machine. */
  const floorOf = (id: string, text: string): GoalResult => ({ text, limit: '—', measured: scenarios.find((s) => s.id === id)?.ratio ?? null, unit: '×', pass: null });
  // Issue 22's goals first, then the earlier ones that still hold.
  return [
    ratioGoal('commit-noop-1000', 'commit with nothing to do, 1,000 applied: delta ÷ migrate-mongo up', 0.7),
    floorOf('floor-noop-1000', 'the floor of nothing to do (a bare driver script, not delta) ÷ migrate-mongo up: no Node tool goes below it here'),
    ratioGoal('status-1000-applied', 'status, 1,000 applied: delta ÷ migrate-mongo status', 0.7),
    floorOf('floor-status-1000-applied', "the floor of status (the bare script on delta's records, hashing every file, not delta) ÷ migrate-mongo status"),
    ratioGoal('commit-1000-js-never', 'commit 1,000 JS changes, delta `--transaction never` ÷ migrate-mongo', 1.0),
    floorOf(
      'floor-never-1000',
      'the floor of `--transaction never` (a bare script: each change, then its record, audit event and the next running marker in one command; not delta) ÷ migrate-mongo up',
    ),
    ratioGoal('commit-1000-ts-cold', "commit 1,000 changes: delta TS, cold compile cache ÷ migrate-mongo's JS", 1.5),
    ratioGoal('commit-1000-js', 'commit 1,000 JS changes: delta ÷ migrate-mongo', 1.0),
    { text: 'status over 10,000 records: delta peak RSS', limit: '≤ 100 MB', measured: statusRss, unit: 'MB', pass: statusRss === null ? null : statusRss <= 100 },
    {
      text: "the floor of status's memory (a bare script reading the fields status shows of 10,000 records through the driver's cursor, not delta): peak RSS",
      limit: '—',
      measured: floorRss,
      unit: 'MB',
      pass: null,
    },
    ratioGoal(race, `${RACERS} racing processes, ${RACE_CHANGES} changes ÷ one process`, 2.0),
    floorOf(`race-floor-${RACERS}x${RACE_CHANGES}`, `the floor of the race (1 delta commit beside ${RACERS - 1} bare driver scripts) ÷ one process: what the goal above cannot go below here`),
    ratioGoal('help', '`--help`: delta ÷ migrate-mongo', 0.7),
    ratioGoal('commit-1000-ts', "commit 1,000 changes: delta TS (warm cache) ÷ migrate-mongo's JS", 1.2),
    ratioGoal('status-10000', 'status over 10,000 records: delta ÷ migrate-mongo', 0.5),
    tripGoal('delta commit (transaction auto)'),
    tripGoal('delta commit --transaction never'),
  ];
}

const versionOf = (path: string) => (JSON.parse(readFileSync(join(ROOT, path), 'utf8')) as { version: string }).version;

const load = () => Math.round((loadavg()[0] ?? 0) * 100) / 100;

function machineFacts(startedAt: Date, loadAtStart: number): BenchReport['machine'] {
  return {
    cpus: cpus().length,
    cpuModel: cpus()[0]?.model.trim() ?? 'unknown',
    totalMemoryMb: Math.round(totalmem() / 1024 / 1024),
    platform: `${platform()} ${release()}`,
    node: process.version,
    date: startedAt.toISOString(),
    loadAverage: { start: loadAtStart, end: load() },
  };
}

async function main(): Promise<void> {
  const started = performance.now();
  const startedAt = new Date();
  const loadAtStart = load();
  const server = await openServer();
  const scenarios: ScenarioResult[] = [];
  let trips: RoundTripResult[] = [];
  try {
    if (wanted('help')) scenarios.push(await helpScenario());
    if (wanted('commit')) for (const size of COMMIT_SIZES) scenarios.push(...(await commitScenarios(server, size)));
    if (wanted('noop')) scenarios.push(...(await appliedScenarios(server, APPLIED_CHANGES)));
    if (wanted('cold')) scenarios.push(await coldTypeScriptScenario(server, APPLIED_CHANGES));
    if (wanted('status')) scenarios.push(...(await statusScenarios(server)));
    if (wanted('rollback')) scenarios.push(await rollbackScenario(server));
    if (wanted('race')) scenarios.push(...(await raceScenarios(server, RACERS, RACE_CHANGES)));
    if (wanted('trips') && server.sandbox !== undefined) trips = await roundTrips(server, server.sandbox);
    if (wanted('latency') && server.sandbox !== undefined) scenarios.push(...(await latencyScenarios(server, server.sandbox)));
  } finally {
    await server.close();
  }
  const report: BenchReport = {
    command: TINY ? 'BENCH_TINY=1 node --import tsx bench/compare.ts' : 'npm run bench',
    tiny: TINY,
    machine: machineFacts(startedAt, loadAtStart),
    versions: { delta: versionOf('package.json'), migrateMongo: versionOf('node_modules/migrate-mongo/package.json'), mongodbDriver: versionOf('node_modules/mongodb/package.json') },
    server: server.sandbox === undefined ? 'MONGODB_URI' : 'sandbox',
    settings: {
      reps: REPS,
      helpReps: HELP_REPS,
      commitSizes: COMMIT_SIZES,
      statusRecords: STATUS_RECORDS,
      rollbackChanges: ROLLBACK_CHANGES,
      raceChanges: RACE_CHANGES,
      racers: RACERS,
      appliedChanges: APPLIED_CHANGES,
      latencyMs: LATENCY_MS,
      latencyCommitSize: LATENCY_COMMIT_SIZE,
      roundTripChanges: [ROUND_TRIP_BASE, ROUND_TRIP_BASE + ROUND_TRIP_STEP],
    },
    scenarios,
    roundTrips: trips,
    goals: goals(scenarios, trips),
    durationMs: Math.round(performance.now() - started),
  };
  mkdirSync(dirname(OUT), { recursive: true });
  writeFileSync(OUT, `${JSON.stringify(report, null, 2)}\n`);
  process.stdout.write(renderReport(report));
  progress(`written to ${OUT}`);
}

await main();
