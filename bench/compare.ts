// delta against migrate-mongo, side by side, each run as a whole process the way users run them,
// on the same server (one sandbox, or MONGODB_URI), a fresh database for every run, the two tools
// alternating from one repetition to the next. Reports min / median / max wall time, delta ÷
// migrate-mongo (medians), peak RSS (GNU time's %M), tracker commands per change, and the goals.
//
//   npm run bench        (= npm run build && node --import tsx bench/compare.ts)
//
// Environment: BENCH_REPS (default 5), MONGODB_URI (a real server instead of the sandbox; round
// trips then go unmeasured), BENCH_OUT (where the JSON goes; default bench/results/latest.json),
// BENCH_ONLY (a comma-separated list of help, commit, status, rollback, race, trips: only those;
// the JSON then goes to BENCH_OUT or a temp file, never to latest.json),
// BENCH_TINY=1 (1 repetition, 10 changes, 3 racers, no 1,000/10,000 scenarios: a smoke check for
// npm test, written to BENCH_OUT or a temp file, never to latest.json).
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, platform, release, tmpdir, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { MongoClient } from 'mongodb';
import { checksumOf } from '../src/loader/index.js';
import { startSandbox } from '../src/sandbox/index.js';
import type { Sandbox } from '../src/sandbox/index.js';
import type { HistoryRecord } from '../src/tracker/index.js';
import { formatRatio, renderReport } from './compare-report.js';
import type { BenchReport, GoalResult, RoundTripResult, ScenarioResult } from './compare-report.js';
import { combine, summarize, timeNode } from './process-timer.js';
import type { ProcessRun, Sample } from './process-timer.js';
import { DELTA_BIN, MIGRATE_MONGO_BIN, deltaProject, migrateMongoProject } from './tool-projects.js';
import type { MigrateMongoProject, Project } from './tool-projects.js';
import { countCommands } from './command-counts.js';

const TINY = process.env.BENCH_TINY === '1';
/** BENCH_ONLY=status,trips runs only those parts (help, commit, status, rollback, race, trips): for working on one goal. */
const ONLY = (process.env.BENCH_ONLY ?? '')
  .split(',')
  .map((part) => part.trim())
  .filter((part) => part !== '');
const wanted = (part: string): boolean => ONLY.length === 0 || ONLY.includes(part);
const REPS = TINY ? 1 : Number(process.env.BENCH_REPS ?? 5);
if (!Number.isInteger(REPS) || REPS < 1) throw new Error(`BENCH_REPS must be a positive integer, got ${process.env.BENCH_REPS}`);
/** --help takes ~0.1 s, so it gets more repetitions to steady its median. */
const HELP_REPS = TINY ? 1 : Math.max(REPS, 10);
const COMMIT_SIZES = TINY ? [10] : [1, 100, 1000];
const STATUS_RECORDS = TINY ? 10 : 10_000;
const ROLLBACK_CHANGES = TINY ? 10 : 100;
const RACE_CHANGES = TINY ? 10 : 200;
/** Racers in tiny mode: enough to race, few enough for npm test's time budget. */
const RACERS = TINY ? 3 : 8;
/** Round trips: runs of BASE and BASE + STEP changes; the difference ÷ STEP is the cost of one. */
const ROUND_TRIP_BASE = 10;
const ROUND_TRIP_STEP = TINY ? 10 : 100;

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const OUT =
  process.env.BENCH_OUT !== undefined && process.env.BENCH_OUT !== ''
    ? process.env.BENCH_OUT
    : TINY || ONLY.length > 0
      ? join(tmpdir(), `delta-bench-${TINY ? 'tiny' : 'partial'}-${process.pid}.json`)
      : join(ROOT, 'bench', 'results', 'latest.json');

const progress = (line: string) => process.stderr.write(`  ${line}\n`);

// ---------------------------------------------------------------------------------------------
// The server, fresh databases, checks

interface BenchServer {
  readonly sandbox: Sandbox | undefined;
  readonly client: MongoClient;
  uriFor(db: string): string;
  freshDb(tag: string): string;
  count(db: string, collection: string): Promise<number>;
  drop(db: string): Promise<void>;
  close(): Promise<void>;
}

async function openServer(): Promise<BenchServer> {
  const external = process.env.MONGODB_URI;
  const sandbox = external !== undefined && external !== '' ? undefined : await startSandbox();
  const base = sandbox?.uri ?? (external as string);
  const parts = /^(mongodb(?:\+srv)?:\/\/[^/?]+)\/?[^?]*(\?.*)?$/.exec(base);
  if (parts === null) throw new Error(`cannot place a database name in ${base.replace(/\/\/[^@/]*@/, '//***@')}`);
  const client = await new MongoClient(base).connect();
  const runTag = randomBytes(3).toString('hex');
  let sequence = 0;
  return {
    sandbox,
    client,
    uriFor: (db) => `${parts[1]}/${db}${parts[2] ?? ''}`,
    freshDb: (tag) => `bench_${runTag}_${++sequence}_${tag}`,
    count: (db, collection) => client.db(db).collection(collection).countDocuments(),
    drop: async (db) => {
      await client.db(db).dropDatabase();
    },
    close: async () => {
      await client.close();
      await sandbox?.stop();
    },
  };
}

async function expectCount(server: BenchServer, db: string, collection: string, expected: number, after: string): Promise<void> {
  const found = await server.count(db, collection);
  if (found !== expected) throw new Error(`${after}: ${db}.${collection} holds ${found} documents, expected ${expected}`);
}

/** The environment minus anything that would point either tool elsewhere or preload code into it. */
function childEnv(extra: Readonly<Record<string, string>> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: '1' };
  for (const key of Object.keys(env)) {
    if (key.startsWith('DELTA_') || key === 'MONGODB_URI' || key === 'MIGRATIONS_DB_URI' || key === 'NODE_OPTIONS' || key === 'NODE_TEST_CONTEXT') delete env[key];
  }
  return { ...env, ...extra };
}

// ---------------------------------------------------------------------------------------------
// One run of each tool

const delta = (server: BenchServer, project: Project, db: string, args: readonly string[]): Promise<ProcessRun> =>
  timeNode([DELTA_BIN, ...args], { cwd: project.dir, env: childEnv({ DELTA_URI: server.uriFor(db) }) });

function migrateMongo(server: BenchServer, project: MigrateMongoProject, db: string, args: readonly string[]): Promise<ProcessRun> {
  project.configure(server.uriFor(db), db);
  return timeNode([MIGRATE_MONGO_BIN, ...args], { cwd: project.dir, env: childEnv() });
}

/** A runner of one repetition: returns its sample; each creates and drops its own database. */
type Runner = () => Promise<Sample>;

/**
 * Runs every runner `reps` times, the order rotated each repetition so that no tool always runs
 * first (or right after the other's garbage); `beforeRep` prepares what a repetition shares,
 * untimed. Returns the samples by runner index.
 */
async function alternate(title: string, reps: number, runners: readonly Runner[], beforeRep?: () => Promise<void>): Promise<Sample[][]> {
  const samples: Sample[][] = runners.map(() => []);
  for (let rep = 0; rep < reps; rep++) {
    await beforeRep?.();
    for (let k = 0; k < runners.length; k++) {
      const index = (rep + k) % runners.length;
      const runner = runners[index] as Runner;
      (samples[index] as Sample[]).push(await runner());
    }
    progress(`${title}: repetition ${rep + 1}/${reps}`);
  }
  return samples;
}

function scenario(id: string, title: string, deltaLabel: string, deltaSamples: readonly Sample[], otherLabel: string, otherSamples: readonly Sample[]): ScenarioResult {
  const d = summarize(deltaSamples);
  const o = summarize(otherSamples);
  const ratio = (a: number, b: number) => Math.round((a / b) * 100) / 100;
  return { id, title, delta: { label: deltaLabel, summary: d }, other: { label: otherLabel, summary: o }, ratio: ratio(d.medianMs, o.medianMs), ratioOfMinimums: ratio(d.minMs, o.minMs) };
}

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

async function commitScenarios(server: BenchServer, size: number): Promise<ScenarioResult[]> {
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
    const [dJs, m, dNever, dTs] = await alternate(`commit ${size}`, REPS, [deltaRun(js, 'js', []), mmRun, deltaRun(js, 'never', ['--transaction', 'never']), deltaRun(ts, 'ts', [])]);
    const n = size.toLocaleString('en-US');
    return [
      scenario(`commit-${size}-js`, `commit ${n} JS ${plural}`, 'delta commit', dJs ?? [], 'migrate-mongo up', m ?? []),
      scenario(`commit-${size}-js-never`, `commit ${n} JS ${plural}, delta \`--transaction never\``, 'delta commit --transaction never', dNever ?? [], 'migrate-mongo up', m ?? []),
      scenario(`commit-${size}-ts`, `commit ${n} ${plural}: delta TS, migrate-mongo JS`, 'delta commit (TS)', dTs ?? [], 'migrate-mongo up (JS)', m ?? []),
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

async function statusScenario(server: BenchServer): Promise<ScenarioResult> {
  const dp = deltaProject('js', STATUS_RECORDS);
  const mm = migrateMongoProject(STATUS_RECORDS);
  try {
    let checked = false;
    let deltaDb = '';
    let mmDb = '';
    // Both databases of a repetition are seeded before either tool runs, so seeding is never timed.
    const seed = async () => {
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
      await server.drop(deltaDb);
      return run;
    };
    const mmRun: Runner = async () => {
      const run = await migrateMongo(server, mm, mmDb, ['status']);
      const pending = run.stdout.split('PENDING').length - 1;
      if (pending !== 0) throw new Error(`migrate-mongo status: ${pending} PENDING of ${STATUS_RECORDS}`);
      await server.drop(mmDb);
      return run;
    };
    const [d, m] = await alternate(`status ${STATUS_RECORDS}`, REPS, [deltaRun, mmRun], seed);
    const n = STATUS_RECORDS.toLocaleString('en-US');
    return scenario(`status-${STATUS_RECORDS}`, `status, ${n} applied records and ${n} files`, 'delta status', d ?? [], 'migrate-mongo status', m ?? []);
  } finally {
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

/** delta alone: 8 processes committing the same changes at once, against one process. */
async function raceScenario(server: BenchServer): Promise<ScenarioResult> {
  const dp = deltaProject('js', RACE_CHANGES);
  const args = ['commit', '--path', './migrations', '--lock-wait', '120s'];
  try {
    const alone: Runner = async () => {
      const db = server.freshDb('one');
      const run = await delta(server, dp, db, args);
      await expectCount(server, db, 'items', RACE_CHANGES, 'one delta commit');
      await server.drop(db);
      return run;
    };
    const racing: Runner = async () => {
      const db = server.freshDb('race');
      const started = performance.now();
      // Every racer must exit 0: the loser waits for the lock, then finds nothing to do.
      const runs = await Promise.all(Array.from({ length: RACERS }, () => delta(server, dp, db, args)));
      const sample = combine(runs, performance.now() - started);
      await expectCount(server, db, 'items', RACE_CHANGES, `${RACERS} racing delta commit`);
      await expectCount(server, db, 'delta_migrations', RACE_CHANGES, `${RACERS} racing delta commit`);
      await server.drop(db);
      return sample;
    };
    const [r, a] = await alternate(`race ${RACERS}×${RACE_CHANGES}`, REPS, [racing, alone]);
    return scenario(
      `race-${RACERS}x${RACE_CHANGES}`,
      `${RACERS} racing \`delta commit\`, ${RACE_CHANGES} changes (delta only)`,
      `${RACERS} × delta commit at once`,
      r ?? [],
      '1 × delta commit',
      a ?? [],
    );
  } finally {
    dp.cleanup();
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
  const tripGoal = (tool: string): GoalResult => {
    const found = trips.find((t) => t.tool === tool);
    return { text: `${tool}: tracker commands per change`, limit: '≤ 2', measured: found?.trackerPerChange ?? null, unit: 'commands', pass: found === undefined ? null : found.trackerPerChange <= 2 };
  };
  return [
    ratioGoal('commit-1000-js', 'commit 1,000 JS changes: delta ÷ migrate-mongo', 1.0),
    ratioGoal('commit-1000-js-never', 'commit 1,000 JS changes, delta `--transaction never` ÷ migrate-mongo', 0.8),
    ratioGoal('commit-1000-ts', "commit 1,000 changes: delta TS ÷ migrate-mongo's JS", 1.2),
    ratioGoal('status-10000', 'status over 10,000 records: delta ÷ migrate-mongo', 0.5),
    { text: 'status over 10,000 records: delta peak RSS', limit: '< 100 MB', measured: statusRss, unit: 'MB', pass: statusRss === null ? null : statusRss < 100 },
    ratioGoal('help', '`--help`: delta ÷ migrate-mongo', 0.7),
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
    if (wanted('status')) scenarios.push(await statusScenario(server));
    if (wanted('rollback')) scenarios.push(await rollbackScenario(server));
    if (wanted('race')) scenarios.push(await raceScenario(server));
    if (wanted('trips') && server.sandbox !== undefined) trips = await roundTrips(server, server.sandbox);
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
