// The core engine's figures, measured through the real CLI (`bin/delta.js`, built) against a sandbox:
//   1. commit of 1,000 generated JS changes and of 1,000 TS changes (one insert each), whole process;
//      then the same command again with nothing to do (what an application pays at start-up);
//   2. commands per change beyond the change's own, counted at the sandbox, in and out of a transaction;
//   3. status over 10,000 history records: history queries issued and peak RSS of the process.
//
//   npm run build && node --import tsx bench/engine.ts        (BENCH_CHANGES=1000 BENCH_HISTORY=10000)
// Prints a table and writes bench/results/engine-<timestamp>.json.
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { MongoClient } from 'mongodb';
import { checksumOf } from '../src/loader/checksum.js';
import { startSandbox } from '../src/sandbox/index.js';
import type { Sandbox } from '../src/sandbox/index.js';
import { countCommands } from './command-counts.js';

const BIN = fileURLToPath(new URL('../bin/delta.js', import.meta.url));
const RESULTS = fileURLToPath(new URL('./results/', import.meta.url));
const CHANGES = Number(process.env.BENCH_CHANGES ?? 1000);
const HISTORY = Number(process.env.BENCH_HISTORY ?? 10_000);

type Kind = 'js' | 'ts';

function changeSource(kind: Kind, i: number): string {
  if (kind === 'ts') {
    return `import type { ChangeContext } from 'mongo-delta';
const id: number = ${i};
export default {
  async commit({ db, session }: ChangeContext): Promise<void> {
    await db.collection<{ _id: number }>('items').insertOne({ _id: id }, { session });
  },
  async rollback({ db, session }: ChangeContext): Promise<void> {
    await db.collection<{ _id: number }>('items').deleteOne({ _id: id }, { session });
  },
};
`;
  }
  return `export default {
  async commit({ db, session }) { await db.collection('items').insertOne({ _id: ${i} }, { session }); },
  async rollback({ db, session }) { await db.collection('items').deleteOne({ _id: ${i} }, { session }); },
};
`;
}

function fileName(i: number, kind: Kind): string {
  return `${String(i).padStart(6, '0')}_item.${kind}`;
}

/** A project folder with `count` change files. */
function project(kind: Kind, count: number): { dir: string; files: { name: string; source: string }[] } {
  const dir = mkdtempSync(join(tmpdir(), `delta-bench-${kind}-`));
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'bench', type: 'module' }));
  // The TS files' `import type` vanishes in the transform, so mongo-delta need not be installed.
  mkdirSync(join(dir, 'migrations'));
  const files = [];
  for (let i = 0; i < count; i++) {
    const name = fileName(i, kind);
    const source = changeSource(kind, i);
    writeFileSync(join(dir, 'migrations', name), source);
    files.push({ name, source });
  }
  return { dir, files };
}

function uriFor(sandbox: Sandbox, db: string): string {
  const [base, query] = sandbox.uri.split('?');
  return `${base?.replace(/\/$/, '')}/${db}?${query ?? ''}`;
}

interface Timed {
  readonly ms: number;
  readonly peakRssMb: number;
  readonly stdout: string;
}

/** Runs the CLI under /usr/bin/time for peak RSS; wall time measured here. */
function delta(args: string[], cwd: string, uri: string): Promise<Timed> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    execFile(
      '/usr/bin/time',
      ['-f', 'RSS_KB=%M', process.execPath, BIN, ...args],
      { cwd, env: { ...process.env, DELTA_URI: uri, NO_COLOR: '1' }, maxBuffer: 64 * 1024 * 1024 },
      (error, stdout, stderr) => {
        const ms = performance.now() - started;
        if (error !== null) return reject(new Error(`delta ${args.join(' ')} failed: ${stderr.slice(-2000)}`));
        const rss = /RSS_KB=(\d+)/.exec(stderr);
        resolve({ ms, peakRssMb: rss === null ? Number.NaN : Number(rss[1]) / 1024, stdout });
      },
    );
  });
}

const total = (counts: Record<string, number>) => Object.values(counts).reduce((a, b) => a + b, 0);

async function commitFigures(sandbox: Sandbox, kind: Kind) {
  const { dir } = project(kind, CHANGES);
  try {
    const db = `bench_commit_${kind}`;
    const first = await delta(['commit', '--path', './migrations'], dir, uriFor(sandbox, db));
    const again = await delta(['commit', '--path', './migrations'], dir, uriFor(sandbox, db));
    return { kind, changes: CHANGES, commitMs: Math.round(first.ms), commitPeakRssMb: Math.round(first.peakRssMb), nothingToDoMs: Math.round(again.ms) };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * Commands per change beyond its own insert: the difference between a run of 110 changes and a run
 * of 10 changes, divided by 100, so the per-run cost (connect, lock, history read) cancels out.
 */
async function commandsPerChange(sandbox: Sandbox, transaction: 'auto' | 'never') {
  const runOf = async (count: number) => {
    const { dir } = project('js', count);
    try {
      const args = ['commit', '--path', './migrations', ...(transaction === 'never' ? ['--transaction', 'never'] : [])];
      return await countCommands(sandbox, () => delta(args, dir, uriFor(sandbox, `bench_rt_${transaction}_${count}`)));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  };
  const small = await runOf(10);
  const large = await runOf(110);
  const perChange: Record<string, number> = {};
  for (const name of new Set([...Object.keys(small), ...Object.keys(large)])) {
    const delta = ((large[name] ?? 0) - (small[name] ?? 0)) / 100;
    if (delta !== 0) perChange[name] = delta;
  }
  const own = perChange.insert ?? 0;
  return { transaction, perChange, beyondOwn: total(perChange) - own, perRun: total(small) - 10 * total(perChange) };
}

async function statusFigures(sandbox: Sandbox) {
  const { dir, files } = project('js', HISTORY);
  const db = 'bench_status';
  const client = await new MongoClient(sandbox.uri).connect();
  try {
    const now = Date.now();
    const records = files.map((file, i) => {
      const changeId = file.name.replace(/\.js$/, '');
      return {
        _id: changeId,
        changeId,
        targetDb: db,
        status: 'applied',
        checksum: checksumOf(file.source),
        file: file.name,
        startedAt: new Date(now - (HISTORY - i) * 1000),
        appliedAt: new Date(now - (HISTORY - i) * 1000 + 5),
        durationMs: 5,
        runId: 'bench',
        executedBy: { user: 'bench', host: 'bench', pid: 1 },
        toolVersion: 'bench',
        transactional: true,
      };
    });
    await client
      .db(db)
      .collection('delta_migrations')
      .insertMany(records as never[]);
    let result: Timed | undefined;
    const counts = await countCommands(sandbox, async () => {
      result = await delta(['status', '--path', './migrations', '--json'], dir, uriFor(sandbox, db));
    });
    const summary = (JSON.parse(result?.stdout ?? '{}') as { summary?: Record<string, number> }).summary;
    return {
      records: HISTORY,
      ms: Math.round(result?.ms ?? 0),
      peakRssMb: Math.round(result?.peakRssMb ?? 0),
      historyQueries: counts.find ?? 0 /* the history query and the lock-holder read */,
      commands: counts,
      summary,
    };
  } finally {
    await client.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

const sandbox = await startSandbox();
try {
  process.stdout.write(`delta engine benchmark: ${CHANGES} changes, status over ${HISTORY} records (node ${process.version})\n`);
  const commits = [];
  for (const kind of ['js', 'ts'] as const) {
    const figures = await commitFigures(sandbox, kind);
    commits.push(figures);
    process.stdout.write(
      `  commit ${figures.changes} ${kind.toUpperCase()} changes: ${figures.commitMs} ms (peak RSS ${figures.commitPeakRssMb} MB); again, nothing to do: ${figures.nothingToDoMs} ms\n`,
    );
  }
  const roundTrips = [];
  for (const transaction of ['auto', 'never'] as const) {
    const figures = await commandsPerChange(sandbox, transaction);
    roundTrips.push(figures);
    process.stdout.write(`  commands per change beyond its own (transaction ${transaction}): ${figures.beyondOwn}  ${JSON.stringify(figures.perChange)}; per run: ${figures.perRun}\n`);
  }
  const status = await statusFigures(sandbox);
  process.stdout.write(`  status over ${status.records} records: ${status.ms} ms, ${status.historyQueries} find commands (history and lock holder), peak RSS ${status.peakRssMb} MB\n`);
  mkdirSync(RESULTS, { recursive: true });
  const file = join(RESULTS, `engine-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
  writeFileSync(file, JSON.stringify({ node: process.version, at: new Date().toISOString(), commits, roundTrips, status }, null, 2));
  process.stdout.write(`  written to ${file}\n`);
} finally {
  await sandbox.stop();
}
