// Runs a command as a whole process, the way a user or a CI job does, and measures its wall time
// (spawn to exit, here) and its peak resident set size (GNU time's %M, in kilobytes).
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';

const GNU_TIME = '/usr/bin/time';
const RSS_MARK = 'BENCH_PEAK_RSS_KB=';
/** Without GNU time (macOS, some containers) timings still work; peak RSS is reported as null. */
export const MEASURES_RSS = existsSync(GNU_TIME);

export interface ProcessRun {
  readonly ms: number;
  /** Peak RSS in MB; null without /usr/bin/time. */
  readonly peakRssMb: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

export interface ProcessOptions {
  readonly cwd: string;
  readonly env: NodeJS.ProcessEnv;
}

/** The command, its exit code and the end of its stderr: a failure is reported, never skipped. */
export class ProcessFailedError extends Error {
  constructor(
    readonly command: string,
    readonly code: number | null,
    readonly stderr: string,
  ) {
    super(`${command} exited with ${code}: ${stderr.trim().slice(-1500)}`);
    this.name = 'ProcessFailedError';
  }
}

/** Runs `node <args>`; rejects with ProcessFailedError when the exit code is not 0. */
export function timeNode(args: readonly string[], options: ProcessOptions): Promise<ProcessRun> {
  const [file, argv] = MEASURES_RSS ? [GNU_TIME, ['-f', `${RSS_MARK}%M`, process.execPath, ...args]] : [process.execPath, [...args]];
  return new Promise((resolve, reject) => {
    const stdout: Buffer[] = [];
    const stderr: Buffer[] = [];
    const started = performance.now();
    const child = spawn(file, argv, { cwd: options.cwd, env: options.env, stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout.on('data', (chunk: Buffer) => stdout.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => stderr.push(chunk));
    child.once('error', reject);
    child.once('close', (code) => {
      const ms = performance.now() - started;
      let err = Buffer.concat(stderr).toString('utf8');
      let peakRssMb: number | null = null;
      const at = err.lastIndexOf(RSS_MARK);
      if (at !== -1) {
        peakRssMb = Number(err.slice(at + RSS_MARK.length).trim()) / 1024;
        err = err.slice(0, at);
      }
      // GNU time reports a signal or a non-zero exit on its own line before the figure.
      err = err.replace(/^Command (exited with non-zero status|terminated by signal) .*\n?/m, '');
      if (code !== 0) return reject(new ProcessFailedError(`node ${args.map((a) => a.replace(/^.*\/(bin|node_modules)\//, '$1/')).join(' ')}`, code, err));
      resolve({ ms, peakRssMb, stdout: Buffer.concat(stdout).toString('utf8'), stderr: err });
    });
  });
}

export interface Sample {
  readonly ms: number;
  readonly peakRssMb: number | null;
}

export interface Summary {
  readonly runsMs: readonly number[];
  readonly minMs: number;
  readonly medianMs: number;
  readonly maxMs: number;
  /** The highest peak RSS over the repetitions (and over the processes of one sample). */
  readonly peakRssMb: number | null;
}

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  if (sorted.length === 0) return Number.NaN;
  return sorted.length % 2 === 1 ? (sorted[middle] ?? Number.NaN) : ((sorted[middle - 1] ?? Number.NaN) + (sorted[middle] ?? Number.NaN)) / 2;
}

const round1 = (value: number) => Math.round(value * 10) / 10;

export function summarize(samples: readonly Sample[]): Summary {
  const runsMs = samples.map((s) => round1(s.ms));
  const rss = samples.map((s) => s.peakRssMb).filter((v): v is number => v !== null);
  return {
    runsMs,
    minMs: Math.min(...runsMs),
    medianMs: round1(median(runsMs)),
    maxMs: Math.max(...runsMs),
    peakRssMb: rss.length === 0 ? null : round1(Math.max(...rss)),
  };
}

/** Several processes as one sample: their total wall time and the highest of their peaks. */
export function combine(runs: readonly Sample[], ms: number): Sample {
  const rss = runs.map((r) => r.peakRssMb).filter((v): v is number => v !== null);
  return { ms, peakRssMb: rss.length === 0 ? null : Math.max(...rss) };
}
