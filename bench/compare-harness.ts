// What every scenario of `npm run bench` shares: the settings from the environment, the server
// (one sandbox, or MONGODB_URI) with a fresh database per run, each tool run as a whole process,
// the alternation of the tools from one repetition to the next, and a scenario's figures.
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { MongoClient } from 'mongodb';
import { startSandbox } from '../src/sandbox/index.js';
import type { Sandbox } from '../src/sandbox/index.js';
import type { ScenarioResult } from './compare-report.js';
import { summarize, timeNode } from './process-timer.js';
import type { ProcessRun, Sample } from './process-timer.js';
import { DELTA_BIN, FLOOR_SCRIPT, HISTORY_FIELDS, MIGRATE_MONGO_BIN } from './tool-projects.js';
import type { MigrateMongoProject, Project } from './tool-projects.js';

export const TINY = process.env.BENCH_TINY === '1';
/** BENCH_ONLY=status,trips runs only those parts (help, commit, status, rollback, race, trips): for working on one goal. */
export const ONLY = (process.env.BENCH_ONLY ?? '')
  .split(',')
  .map((part) => part.trim())
  .filter((part) => part !== '');
export const wanted = (part: string): boolean => ONLY.length === 0 || ONLY.includes(part);
export const REPS = TINY ? 1 : Number(process.env.BENCH_REPS ?? 5);
if (!Number.isInteger(REPS) || REPS < 1) throw new Error(`BENCH_REPS must be a positive integer, got ${process.env.BENCH_REPS}`);
/** --help takes ~0.1 s, so it gets more repetitions to steady its median. */
export const HELP_REPS = TINY ? 1 : Math.max(REPS, 10);

export const progress = (line: string) => process.stderr.write(`  ${line}\n`);

// ---------------------------------------------------------------------------------------------
// The server, fresh databases, checks

export interface BenchServer {
  readonly sandbox: Sandbox | undefined;
  readonly client: MongoClient;
  uriFor(db: string): string;
  freshDb(tag: string): string;
  count(db: string, collection: string): Promise<number>;
  drop(db: string): Promise<void>;
  close(): Promise<void>;
}

export async function openServer(): Promise<BenchServer> {
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

export async function expectCount(server: BenchServer, db: string, collection: string, expected: number, after: string): Promise<void> {
  const found = await server.count(db, collection);
  if (found !== expected) throw new Error(`${after}: ${db}.${collection} holds ${found} documents, expected ${expected}`);
}

/** The environment minus anything that would point either tool elsewhere or preload code into it. */
export function childEnv(extra: Readonly<Record<string, string>> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: '1' };
  for (const key of Object.keys(env)) {
    if (key.startsWith('DELTA_') || key === 'MONGODB_URI' || key === 'MIGRATIONS_DB_URI' || key === 'NODE_OPTIONS' || key === 'NODE_TEST_CONTEXT') delete env[key];
  }
  return { ...env, ...extra };
}

// ---------------------------------------------------------------------------------------------
// One run of each tool

export const delta = (server: BenchServer, project: Project, db: string, args: readonly string[]): Promise<ProcessRun> =>
  timeNode([DELTA_BIN, ...args], { cwd: project.dir, env: childEnv({ DELTA_URI: server.uriFor(db) }) });

export function migrateMongo(server: BenchServer, project: MigrateMongoProject, db: string, args: readonly string[]): Promise<ProcessRun> {
  project.configure(server.uriFor(db), db);
  return timeNode([MIGRATE_MONGO_BIN, ...args], { cwd: project.dir, env: childEnv() });
}

/** The history bench/floor-noop.cjs reads: a collection, the fields it keeps (the file name first), and the field of each file's sha256 when it is to hash the files too. */
export interface FloorHistory {
  readonly collection: string;
  readonly fields: readonly string[];
  readonly checksum?: string;
}

/** migrate-mongo's changelog, by file name. */
export const MM_CHANGELOG: FloorHistory = { collection: 'changelog', fields: ['fileName'] };
/** delta's records, the fields its history query asks for. */
export const DELTA_HISTORY: FloorHistory = { collection: 'delta_migrations', fields: HISTORY_FIELDS };

/**
 * One run of bench/floor-noop.cjs over `project`'s migrations and `history` in `db`. With
 * `applied`, it must have found that many files applied and nothing to do (a floor measured on a
 * wrong history would be no floor).
 */
export async function floorNoop(server: BenchServer, project: Project, db: string, history: FloorHistory, applied?: number): Promise<ProcessRun> {
  const args = [server.uriFor(db), db, history.collection, history.fields.join(','), join(project.dir, 'migrations'), ...(history.checksum === undefined ? [] : [history.checksum])];
  const run = await timeNode([FLOOR_SCRIPT, ...args], { cwd: project.dir, env: childEnv() });
  if (applied !== undefined && !run.stdout.startsWith(`nothing to do: ${applied} applied`)) throw new Error(`floor-noop.cjs on ${db}.${history.collection}: ${run.stdout.slice(0, 200)}`);
  return run;
}

/** A runner of one repetition: returns its sample; each creates and drops its own database. */
export type Runner = () => Promise<Sample>;

/**
 * Runs every runner `reps` times, the order rotated each repetition so that no tool always runs
 * first (or right after the other's garbage); `beforeRep` prepares what a repetition shares,
 * untimed. Returns the samples by runner index.
 */
export async function alternate(title: string, reps: number, runners: readonly Runner[], beforeRep?: () => Promise<void>): Promise<Sample[][]> {
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

export function scenario(id: string, title: string, deltaLabel: string, deltaSamples: readonly Sample[], otherLabel: string, otherSamples: readonly Sample[]): ScenarioResult {
  const d = summarize(deltaSamples);
  const o = summarize(otherSamples);
  const ratio = (a: number, b: number) => Math.round((a / b) * 100) / 100;
  return { id, title, delta: { label: deltaLabel, summary: d }, other: { label: otherLabel, summary: o }, ratio: ratio(d.medianMs, o.medianMs), ratioOfMinimums: ratio(d.minMs, o.minMs) };
}
