// Wall time of 8 `delta commit` processes racing over the same 200 changes, against one process
// alone (the lock's cost when CI jobs or app replicas start together). Median of BENCH_ROUNDS.
//   npm run build && node --import tsx bench/lock-race.ts        (BENCH_ROUNDS=5 BENCH_RACERS=8)
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startSandbox } from '../src/sandbox/index.js';

const BIN = fileURLToPath(new URL('../bin/delta.js', import.meta.url));
const RESULTS = fileURLToPath(new URL('./results/', import.meta.url));
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const RACERS = Number(process.env.BENCH_RACERS ?? 8);
const CHANGES = 200;

const dir = mkdtempSync(join(tmpdir(), 'delta-race-'));
writeFileSync(join(dir, 'package.json'), JSON.stringify({ type: 'module' }));
mkdirSync(join(dir, 'migrations'));
for (let i = 0; i < CHANGES; i++) {
  writeFileSync(
    join(dir, 'migrations', `${String(i).padStart(4, '0')}_change.js`),
    `export default { async commit({ db, session }) { await db.collection('effects').insertOne({ change: ${i} }, { session }); } };\n`,
  );
}

const sandbox = await startSandbox();
const uriFor = (db: string) => sandbox.uri.replace('/?', `/${db}?`);
const commit = (db: string) =>
  new Promise<number>((resolve, reject) => {
    execFile(process.execPath, [BIN, 'commit', '--path', './migrations', '--lock-wait', '120s'], { cwd: dir, env: { ...process.env, DELTA_URI: uriFor(db) } }, (error, _stdout, stderr) => {
      if (error !== null) reject(new Error(stderr));
      else resolve(0);
    });
  });
const timed = async (work: () => Promise<unknown>) => {
  const started = performance.now();
  await work();
  return performance.now() - started;
};
const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? Number.NaN;

try {
  const alone: number[] = [];
  const racing: number[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    const db = `race_alone_${round}`;
    alone.push(await timed(() => commit(db)));
    const raceDb = `race_many_${round}`;
    racing.push(await timed(() => Promise.all(Array.from({ length: RACERS }, () => commit(raceDb)))));
  }
  const a = median(alone);
  const r = median(racing);
  process.stdout.write(`${CHANGES} changes, median of ${ROUNDS}: one process ${Math.round(a)} ms; ${RACERS} racing processes ${Math.round(r)} ms (${(r / a).toFixed(2)}x)\n`);
  mkdirSync(RESULTS, { recursive: true });
  writeFileSync(
    join(RESULTS, `lock-race-${new Date().toISOString().replace(/[:.]/g, '-')}.json`),
    JSON.stringify({ node: process.version, changes: CHANGES, racers: RACERS, aloneMs: alone, racingMs: racing }, null, 2),
  );
} finally {
  await sandbox.stop();
  rmSync(dir, { recursive: true, force: true });
}
