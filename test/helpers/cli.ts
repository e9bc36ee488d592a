import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdirSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const BIN = fileURLToPath(new URL('../../bin/delta.js', import.meta.url));

export interface CliResult {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

export interface RunCliOptions {
  readonly cwd?: string;
  /** Added to a clean environment (no DELTA_*, MONGODB_URI or MIGRATIONS_DB_URI from the caller). */
  readonly env?: Record<string, string | undefined>;
  readonly timeoutMs?: number;
  /** Called with everything printed so far after each chunk, and a way to signal the process. */
  readonly onOutput?: (output: { stdout: string; stderr: string }, kill: (signal: NodeJS.Signals) => void) => void;
  /** Called once the process is started, with a way to signal it (a crash at a moment the test picks). */
  readonly onSpawn?: (kill: (signal: NodeJS.Signals) => void) => void;
}

/**
 * This process's environment without what would configure delta behind a test's back: DELTA_*,
 * MONGODB_URI (set for the whole suite when it runs against a real server, and read by delta
 * before any URI a library caller passes) and MIGRATIONS_DB_URI, and NODE_OPTIONS.
 */
export function childEnvironment(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (value === undefined || key.startsWith('DELTA_') || key === 'MONGODB_URI' || key === 'MIGRATIONS_DB_URI' || key === 'NODE_OPTIONS') continue;
    env[key] = value;
  }
  return env;
}

/** Runs `bin/delta.js` as a subprocess, the way users and CI pipelines do. */
export function runCli(args: readonly string[], options: RunCliOptions = {}): Promise<CliResult> {
  const env = childEnvironment();
  env.NO_COLOR = '1';
  for (const [key, value] of Object.entries(options.env ?? {})) {
    if (value === undefined) delete env[key];
    else env[key] = value;
  }
  return runNode([BIN, ...args], { cwd: options.cwd ?? ROOT, env, timeoutMs: options.timeoutMs, onOutput: options.onOutput, onSpawn: options.onSpawn });
}

export interface RunNodeOptions {
  readonly cwd: string;
  /** The child's whole environment. */
  readonly env: Record<string, string>;
  readonly timeoutMs?: number | undefined;
  readonly onOutput?: RunCliOptions['onOutput'];
  readonly onSpawn?: RunCliOptions['onSpawn'];
}

/** Runs `node <argv>` and collects its output; killed after `timeoutMs` (default 60 s). */
export function runNode(argv: readonly string[], options: RunNodeOptions): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, argv, { cwd: options.cwd, env: options.env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    const kill = (signal: NodeJS.Signals) => child.kill(signal);
    const seen = () => options.onOutput?.({ stdout, stderr }, kill);
    options.onSpawn?.(kill);
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      stdout += chunk;
      seen();
    });
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      stderr += chunk;
      seen();
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 60_000);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

/** Makes `import 'mongo-delta'` in `projectDir` resolve to this checkout, as an installed package would. */
export function linkDeltaPackage(projectDir: string): void {
  mkdirSync(join(projectDir, 'node_modules'), { recursive: true });
  symlinkSync(ROOT, join(projectDir, 'node_modules/mongo-delta'), 'dir');
}

/** Runs the CLI and sends `signal` once its stdout shows `marker` (Ctrl-C, a crash at a known point). */
export function runCliSignalledAt(args: readonly string[], marker: string, signal: NodeJS.Signals, options: Omit<RunCliOptions, 'onOutput'> = {}): Promise<CliResult> {
  let sent = false;
  return runCli(args, {
    ...options,
    onOutput: ({ stdout }, kill) => {
      if (!sent && stdout.includes(marker)) {
        sent = true;
        kill(signal);
      }
    },
  });
}

/**
 * Runs the CLI's `main()` in this process: the same parsing, configuration, output and exit codes
 * as `bin/delta.js` without a process start, for sweeps that run the CLI hundreds of times.
 * Only DELTA_*, MONGODB_URI and MIGRATIONS_DB_URI given in `env` are seen.
 */
export async function runCliInProcess(args: readonly string[], options: { readonly cwd: string; readonly env?: Record<string, string> }): Promise<Omit<CliResult, 'signal'>> {
  const { main } = await import('../../src/cli/main.js');
  const collect = () => {
    const stream = new PassThrough();
    let text = '';
    stream.setEncoding('utf8').on('data', (chunk: string) => (text += chunk));
    return { stream, text: () => text };
  };
  const stdout = collect();
  const stderr = collect();
  const code = await main(args, { stdout: stdout.stream, stderr: stderr.stream, env: { NO_COLOR: '1', ...options.env }, cwd: options.cwd });
  return { code, stdout: stdout.text(), stderr: stderr.text() };
}

/** Exactly one line on stderr, matching `pattern` (the flag, key, file or argument at fault). */
export function assertOneLineError(stderr: string, pattern: RegExp): void {
  const lines = stderr.trim().split('\n');
  assert.equal(lines.length, 1, `expected one line on stderr, got:\n${stderr}`);
  assert.match(lines[0] ?? '', pattern);
}
