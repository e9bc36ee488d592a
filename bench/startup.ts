// The start-up cost of the commands people run most, each a whole process against a sandbox
// started with `delta sandbox` (a process of its own, as a user would): `delta --help`,
// `delta status` on an empty change folder, and `delta commit` with nothing to do (three changes,
// applied before the timing starts). A measuring script, not a test: it prints min / median / max
// of the wall time and the median CPU time (user + system, from GNU time: on a busy machine the
// wall time mostly measures the other work, the CPU time what delta itself spends).
//
//   npm run build && node --import tsx bench/startup.ts
//
// Environment: BENCH_REPS (default 10); BENCH_BINS, a comma-separated list of `label=path/to/bin/delta.js`
// (default: this checkout's bin/delta.js) to compare builds, e.g. before and after a change: the
// builds alternate from one repetition to the next, so a busy machine slows them alike.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { median, summarize } from './process-timer.js';
import type { Sample } from './process-timer.js';
import { DELTA_BIN } from './tool-projects.js';
import { freePort } from '../scripts/free-port.mjs';

const REPS = Number(process.env.BENCH_REPS ?? 10);
if (!Number.isInteger(REPS) || REPS < 1) throw new Error(`BENCH_REPS must be a positive integer, got ${process.env.BENCH_REPS}`);
const BINS = (process.env.BENCH_BINS ?? `this=${DELTA_BIN}`).split(',').map((entry) => {
  const [label, path] = entry.includes('=') ? (entry.split('=', 2) as [string, string]) : [entry, entry];
  return { label, bin: resolve(path) };
});

/** `delta sandbox --port <p>` in the background; resolves once it says it listens. */
async function startSandbox(bin: string): Promise<{ uri: string; stop(): void }> {
  const port = await freePort();
  const child = spawn(process.execPath, [bin, 'sandbox', '--port', String(port)], { stdio: ['ignore', 'pipe', 'pipe'] });
  await new Promise<void>((done, fail) => {
    let seen = '';
    const onData = (chunk: Buffer) => {
      seen += chunk.toString('utf8');
      if (seen.includes(String(port))) done();
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.once('exit', (code) => fail(new Error(`sandbox exited with ${code}: ${seen}`)));
  });
  return { uri: `mongodb://127.0.0.1:${port}`, stop: () => child.kill('SIGTERM') };
}

const CHANGE = (name: string) => `export default {
  async commit({ db, session }) { await db.collection('effects').insertOne({ _id: '${name}' }, { session }); },
  async rollback({ db, session }) { await db.collection('effects').deleteOne({ _id: '${name}' }, { session }); },
};
`;

const GNU_TIME = '/usr/bin/time';
const MARK = 'BENCH_CPU=';

interface Timed extends Sample {
  /** User + system CPU seconds of the process, as milliseconds; NaN without GNU time. */
  readonly cpuMs: number;
}

/** Runs `node <args>` to its end; rejects unless it exits 0. */
function timeNode(args: readonly string[], options: { cwd: string; env: NodeJS.ProcessEnv }): Promise<Timed> {
  const withTime = existsSync(GNU_TIME);
  const [file, argv] = withTime ? [GNU_TIME, ['-f', `${MARK}%U %S %M`, process.execPath, ...args]] : [process.execPath, [...args]];
  return new Promise((done, fail) => {
    const started = performance.now();
    const child = spawn(file, argv, { cwd: options.cwd, env: options.env, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    child.once('error', fail);
    child.once('close', (code) => {
      const ms = performance.now() - started;
      if (code !== 0) return fail(new Error(`node ${args.join(' ')} exited with ${code}: ${stderr.slice(-1000)}`));
      const [user, system, rssKb] = (
        stderr
          .slice(stderr.lastIndexOf(MARK) + MARK.length)
          .trim()
          .split(' ') ?? []
      ).map(Number);
      done({ ms, cpuMs: withTime ? ((user ?? 0) + (system ?? 0)) * 1000 : Number.NaN, peakRssMb: withTime && rssKb !== undefined ? rssKb / 1024 : null });
    });
  });
}

async function main(): Promise<void> {
  const sandbox = await startSandbox(DELTA_BIN);
  const root = mkdtempSync(join(tmpdir(), 'bench-startup-'));
  try {
    const scenarios: { name: string; command: string; run: (bin: string, index: number) => Promise<Timed> }[] = [];
    const env = (db: string): NodeJS.ProcessEnv => ({ ...process.env, CI: 'true', NO_COLOR: '1', DELTA_URI: `${sandbox.uri}/${db}?replicaSet=rs0` });
    scenarios.push({ name: 'help', command: 'delta --help', run: (bin) => timeNode([bin, '--help'], { cwd: root, env: process.env }) });

    const empty = join(root, 'empty');
    mkdirSync(join(empty, 'migrations'), { recursive: true });
    writeFileSync(join(empty, 'package.json'), JSON.stringify({ type: 'module' }));
    scenarios.push({ name: 'status-empty', command: 'delta status (empty change folder)', run: (bin, index) => timeNode([bin, 'status'], { cwd: empty, env: env(`status_${index}`) }) });

    for (const [index, { bin }] of BINS.entries()) {
      const dir = join(root, `applied-${index}`);
      mkdirSync(join(dir, 'migrations'), { recursive: true });
      writeFileSync(join(dir, 'package.json'), JSON.stringify({ type: 'module' }));
      for (const name of ['001_a', '002_b', '003_c']) writeFileSync(join(dir, 'migrations', `${name}.js`), CHANGE(name));
      await timeNode([bin, 'commit'], { cwd: dir, env: env(`commit_${index}`) });
    }
    scenarios.push({
      name: 'commit-nothing',
      command: 'delta commit (3 applied, nothing to do)',
      run: (bin, index) => timeNode([bin, 'commit'], { cwd: join(root, `applied-${index}`), env: env(`commit_${index}`) }),
    });

    console.log(
      `node ${process.version}, ${cpus().length} cores, load ${loadavg()
        .map((l) => l.toFixed(2))
        .join(' ')}, ${REPS} runs each`,
    );
    console.log('| command | build | wall min ms | wall median ms | wall max ms | CPU median ms | peak RSS MB |');
    console.log('| --- | --- | ---: | ---: | ---: | ---: | ---: |');
    for (const scenario of scenarios) {
      const samples: Timed[][] = BINS.map(() => []);
      // One warm-up each (file system cache), then the builds alternate.
      for (const [index, { bin }] of BINS.entries()) await scenario.run(bin, index);
      for (let rep = 0; rep < REPS; rep += 1) {
        for (const [index, { bin }] of BINS.entries()) samples[index]?.push(await scenario.run(bin, index));
      }
      for (const [index, { label }] of BINS.entries()) {
        const s = summarize(samples[index] ?? []);
        const cpu = median((samples[index] ?? []).map((sample) => sample.cpuMs));
        console.log(`| ${scenario.command} | ${label} | ${s.minMs} | ${s.medianMs} | ${s.maxMs} | ${Math.round(cpu)} | ${s.peakRssMb ?? '-'} |`);
      }
    }
  } finally {
    sandbox.stop();
    rmSync(root, { recursive: true, force: true });
  }
}

await main();
