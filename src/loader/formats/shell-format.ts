import type { ChildProcess } from 'node:child_process';
import { spawn } from 'node:child_process';
import { ChangeFileError } from '../../errors.js';
import { redact, secretsOf } from '../../config/redact.js';
import { matchPair, pairedChange } from './paired-change.js';
import { programEnvironment } from './program-environment.js';

/** A program and its leading arguments; the change file's path is appended. */
import type { ProgramCommand } from '../../vocabulary/index.js';
import type { ChangeContext, ChangeFormat, ChangeFunction } from '../../vocabulary/index.js';

export interface ShellFormatOptions {
  /** Extension (with its dot) to program: `{ '.py': 'python3' }`; merged over the default `{ '.sh': 'sh' }`. */
  readonly programs: Readonly<Record<string, ProgramCommand>>;
  /** The target's connection string, given to the child as DELTA_URI (never printed). */
  readonly uri: string | undefined;
  /** The directory programs run in; defaults to the process's at run time. */
  readonly cwd: string | undefined;
  /** Names (or `PREFIX_*` patterns) of delta's environment passed to programs beyond the base ones (config `shellEnv`). */
  readonly shellEnv?: readonly string[] | undefined;
}

export const DEFAULT_PROGRAMS: Readonly<Record<string, ProgramCommand>> = Object.freeze({ '.sh': 'sh' });
/** How much of stdout and of stderr a failure keeps (the end: where errors are). */
export const CAPTURED_OUTPUT_BYTES = 4096;
/** How long a program gets between SIGTERM and SIGKILL once its change is stopped. */
const KILL_GRACE_MS = 2000;

/**
 * Shell-command changes: `<id>.commit<ext>` and `<id>.rollback<ext>`, where
 * `<ext>` is mapped to a program (`.sh` to `sh` unless configured). The file
 * is run as `program [...args] <file>` (an argument array, never a shell
 * string), with DELTA_URI, DELTA_DB, DELTA_CHANGE_ID and DELTA_RUN_ID in its
 * environment. Such a change never runs in a transaction.
 */
export function shellFormat(options: ShellFormatOptions): ChangeFormat {
  const programs: Readonly<Record<string, ProgramCommand>> = { ...DEFAULT_PROGRAMS, ...options.programs };
  return {
    name: 'shell',
    paired: true,
    match: (fileName) => matchPair(fileName, '\\.[A-Za-z0-9_-]+', (extension) => Object.hasOwn(programs, extension)),
    load(file) {
      const program = programs[file.extension];
      if (program === undefined) return Promise.reject(new ChangeFileError(`${file.file}: no program is configured for ${file.extension}`, file.file));
      const command = typeof program === 'string' ? [program] : [...program];
      const run =
        (path: string, label: string): ChangeFunction =>
        (context) =>
          runProgram({ command, path, label, changeId: file.id, uri: options.uri, cwd: options.cwd ?? process.cwd(), shellEnv: options.shellEnv ?? [], context });
      // A program's writes cannot join delta's session: always without a transaction.
      return Promise.resolve(
        pairedChange(file, {
          runner: 'shell',
          transaction: 'never',
          commit: run(file.absolutePath, file.file),
          rollback: file.rollbackFile === undefined ? undefined : run(file.rollbackFile.absolutePath, file.rollbackFile.file),
        }),
      );
    },
  };
}

interface ProgramRun {
  readonly command: readonly string[];
  readonly path: string;
  /** The file as messages name it (relative to the change folder). */
  readonly label: string;
  readonly changeId: string;
  readonly uri: string | undefined;
  readonly cwd: string;
  readonly shellEnv: readonly string[];
  readonly context: ChangeContext;
}

/** A program that exited non-zero (or could not start): its captured output, redacted, is in the message. */
export class ProgramFailedError extends Error {
  /** The exit code, or the signal's name when a signal ended it. */
  readonly code: number | string | undefined;

  constructor(message: string, code: number | string | undefined) {
    super(message);
    this.code = code;
  }

  override get name(): string {
    return 'ProgramFailedError';
  }
}

/** Runs one file with its program; resolves on exit 0, rejects otherwise (or when the change's signal fires). */
function runProgram(run: ProgramRun): Promise<void> {
  const { context } = run;
  const [program, ...args] = run.command;
  if (program === undefined) return Promise.reject(new ProgramFailedError(`${run.label}: empty program`, undefined));
  if (context.signal.aborted) return Promise.reject(context.signal.reason);
  const secrets = secretsOf(run.uri);
  const clean = (text: string) => redact(text, secrets);
  const env = programEnvironment(process.env, run.shellEnv, {
    DELTA_DB: context.db.databaseName,
    DELTA_CHANGE_ID: run.changeId,
    DELTA_RUN_ID: context.runId,
    ...(run.uri === undefined ? {} : { DELTA_URI: run.uri }),
  });

  return new Promise<void>((resolvePromise, reject) => {
    let child: ChildProcess;
    try {
      // detached: the child leads its own process group, so a timeout or Ctrl-C kills what it started too.
      child = spawn(program, [...args, run.path], { cwd: run.cwd, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    } catch (error) {
      reject(new ProgramFailedError(`${run.label}: could not start ${program}: ${(error as Error).message}`, undefined));
      return;
    }
    const stdout = new OutputTail(clean, (line) => context.log(line));
    const stderr = new OutputTail(clean, (line) => context.log(`stderr: ${line}`));
    child.stdout?.on('data', (chunk: Buffer) => stdout.push(chunk));
    child.stderr?.on('data', (chunk: Buffer) => stderr.push(chunk));

    let killTimer: NodeJS.Timeout | undefined;
    const killGroup = (signal: NodeJS.Signals) => {
      if (child.pid === undefined) return;
      try {
        process.kill(-child.pid, signal);
      } catch {
        // ESRCH: the group is already gone.
      }
    };
    const onAbort = () => {
      killGroup('SIGTERM');
      killTimer = setTimeout(() => killGroup('SIGKILL'), KILL_GRACE_MS);
      killTimer.unref();
    };
    context.signal.addEventListener('abort', onAbort, { once: true });

    let startError: Error | undefined;
    child.on('error', (error) => {
      startError = error;
    });
    child.on('exit', () => {
      // Whatever the program left running in its group ends with it.
      killGroup('SIGKILL');
    });
    child.on('close', (code, signal) => {
      context.signal.removeEventListener('abort', onAbort);
      if (killTimer !== undefined) clearTimeout(killTimer);
      stdout.end();
      stderr.end();
      if (context.signal.aborted) {
        reject(context.signal.reason);
        return;
      }
      if (startError !== undefined) {
        const missing = (startError as NodeJS.ErrnoException).code === 'ENOENT';
        reject(new ProgramFailedError(`${run.label}: could not start ${program}${missing ? ' (not found on PATH)' : ''}: ${clean(startError.message)}`, undefined));
        return;
      }
      if (code === 0) {
        resolvePromise();
        return;
      }
      const how = signal !== null ? `was killed by ${signal}` : `exited with code ${code ?? 'unknown'}`;
      const output = [stderr.captured() === '' ? '' : `stderr: ${stderr.captured()}`, stdout.captured() === '' ? '' : `stdout: ${stdout.captured()}`].filter((part) => part !== '').join('; ');
      reject(new ProgramFailedError(`${run.label}: ${program} ${how}${output === '' ? '' : `; ${output}`}`, signal ?? code ?? undefined));
    });
  });
}

/** Splits a stream into lines for the event log and keeps its last CAPTURED_OUTPUT_BYTES for the failure record. */
class OutputTail {
  #tail = Buffer.alloc(0);
  #partial = '';
  #truncated = false;

  constructor(
    private readonly clean: (text: string) => string,
    private readonly onLine: (line: string) => void,
  ) {}

  push(chunk: Buffer): void {
    const joined = Buffer.concat([this.#tail, chunk]);
    if (joined.length > CAPTURED_OUTPUT_BYTES) this.#truncated = true;
    this.#tail = joined.subarray(Math.max(0, joined.length - CAPTURED_OUTPUT_BYTES));
    const lines = (this.#partial + chunk.toString('utf8')).split('\n');
    this.#partial = lines.pop() ?? '';
    for (const line of lines) this.onLine(this.clean(line.replace(/\r$/, '')));
  }

  end(): void {
    if (this.#partial !== '') this.onLine(this.clean(this.#partial));
    this.#partial = '';
  }

  /** The kept output, trimmed, with `…` in front when earlier output was dropped. */
  captured(): string {
    const text = this.clean(this.#tail.toString('utf8').trim());
    return text === '' ? '' : `${this.#truncated ? '…' : ''}${text}`;
  }
}
