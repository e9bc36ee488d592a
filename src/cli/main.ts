import { CommanderError } from 'commander';
import { secretsOf } from '../config/redact.js';
import { DeltaErrorCodes, isDeltaError, messageOf } from '../errors.js';
import { ExitCode, exitCodeFor } from './exit-codes.js';
import type { CliStreams } from './io.js';
import { Output } from './io.js';
import type { OptionValues } from '../config/options-table.js';
import { withEnvironmentFiles } from './env-files.js';
import type { CommandName, GlobalOptions } from './program.js';
import { buildProgram } from './program.js';

/** What a command module's `run` receives. */
export interface CommandContext<C extends CommandName = CommandName> {
  readonly output: Output;
  /** The command's option values, typed by the option table (whose parsers produced them). */
  readonly options: OptionValues<C>;
  readonly args: readonly unknown[];
  readonly streams: CliStreams;
  /** Aborted by the first Ctrl-C. */
  readonly interrupt: AbortSignal;
}

export interface CommandModule<C extends CommandName> {
  run(context: CommandContext<C>): Promise<void>;
}

const COMMANDS: { readonly [C in CommandName]: () => Promise<CommandModule<C>> } = {
  commit: () => import('./commands/commit.js'),
  rollback: () => import('./commands/rollback.js'),
  status: () => import('./commands/status.js'),
  create: () => import('./commands/create.js'),
  init: () => import('./commands/init.js'),
  sandbox: () => import('./commands/sandbox.js'),
  validate: () => import('./commands/validate.js'),
  repair: () => import('./commands/repair.js'),
  baseline: () => import('./commands/baseline.js'),
  history: () => import('./commands/history.js'),
  unlock: () => import('./commands/unlock.js'),
  backup: () => import('./commands/backup.js'),
  backups: () => import('./commands/backups.js'),
  restore: () => import('./commands/restore.js'),
  import: () => import('./commands/import.js'),
  rehearse: () => import('./commands/rehearse.js'),
};

/**
 * Parses `argv`, runs one command and returns the exit code. Only this
 * function turns errors into exit codes; nothing else exits the process.
 */
export async function main(argv: readonly string[], streams: CliStreams): Promise<number> {
  let output: Output | undefined;
  let verbose = isDebug(streams.env);
  const interrupt = new AbortController();
  const program = buildProgram(
    async (name, args, options) => {
      const globals = options as GlobalOptions;
      verbose ||= globals.verbose === true;
      output = await createOutput(streams, globals);
      // The environment files' variables under the process's own: the URIs of both are secrets.
      const env = await withEnvironmentFiles(streams.env, streams.cwd, globals.dotenv ?? []);
      output.addSecrets([globals.uri, globals.trackerUri, env.DELTA_URI, env.MONGODB_URI, env.MIGRATIONS_DB_URI].flatMap((uri) => secretsOf(uri)));
      const commandStreams = env === streams.env ? streams : { ...streams, env };
      warnPasswordOnCommandLine(output, globals);
      const release = onInterrupt(interrupt, output);
      try {
        const module = (await COMMANDS[name]()) as CommandModule<CommandName>;
        // commander produced these values with the table's parsers and choices: OptionValues is their type.
        await module.run({ output, options: options as OptionValues<CommandName>, args, streams: commandStreams, interrupt: interrupt.signal });
      } finally {
        release();
      }
    },
    { writeOut: (text) => streams.stdout.write(text), writeErr: (text) => streams.stderr.write(text) },
  );

  try {
    await program.parseAsync([...argv], { from: 'user' });
    return ExitCode.success;
  } catch (error) {
    const out = output ?? (await createOutput(streams, { json: jsonRequested(argv) }));
    if (error instanceof CommanderError) {
      // commander has printed its message (`delta: error: unknown option '--x'`).
      if (error.code === 'commander.helpDisplayed' || error.code === 'commander.version' || error.code === 'commander.help') return ExitCode.success;
      printJsonError(out, DeltaErrorCodes.usage, error.message.replace(/^error: /, ''), ExitCode.badInput);
      return ExitCode.badInput;
    }
    if (isDeltaError(error)) {
      out.error(error.message);
      if (verbose && error.cause instanceof Error && error.cause.stack !== undefined) out.warn(error.cause.stack);
      printJsonError(out, error.code, error.message, exitCodeFor(error.code));
      return exitCodeFor(error.code);
    }
    const message = `unexpected error: ${messageOf(error).split('\n')[0] ?? ''}`;
    out.error(`${message}${verbose ? '' : ' (run with --verbose or DEBUG=delta for details)'}`);
    if (verbose && error instanceof Error && error.stack !== undefined) out.warn(error.stack);
    printJsonError(out, 'UNEXPECTED', message, ExitCode.failure);
    return ExitCode.failure;
  }
}

/**
 * Under `--json` every outcome prints exactly one JSON document on stdout: a failure that came
 * before the command's own document prints `{ "error": { code, message, exitCode } }`.
 */
function printJsonError(output: Output, code: string, message: string, exitCode: number): void {
  if (!output.options.json || output.printedJson) return;
  output.json({ error: { code, message, exitCode } });
}

/** `--json` before any `--` (what follows `--` is arguments): for errors commander raises before a command runs. */
function jsonRequested(argv: readonly string[]): boolean {
  const end = argv.indexOf('--');
  return (end === -1 ? argv : argv.slice(0, end)).includes('--json');
}

/** The launcher's entry: real streams, real exit code. */
export async function run(): Promise<void> {
  // `delta status | head`: a closed pipe is the reader's choice, not an error worth a stack trace.
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (error: NodeJS.ErrnoException) => {
      if (error.code === 'EPIPE') process.exit(typeof process.exitCode === 'number' ? process.exitCode : 0);
      throw error;
    });
  }
  const code = await main(process.argv.slice(2), { stdout: process.stdout, stderr: process.stderr, env: process.env, cwd: process.cwd() });
  process.exitCode = code;
  // A change may leave timers or its own connections open (an abandoned transaction after Ctrl-C,
  // a client it forgot to close): the command is over, so leave once the output is flushed.
  await Promise.all([process.stdout, process.stderr].map((stream) => new Promise<void>((resolve) => stream.write('', () => resolve()))));
  process.exit(code);
}

async function createOutput(streams: CliStreams, options: GlobalOptions): Promise<Output> {
  const { Chalk } = await import('chalk');
  const env = streams.env;
  const color = options.color !== false && env.NO_COLOR === undefined && streams.stdout.isTTY === true;
  const chalk = new Chalk({ level: color ? 1 : 0 });
  return new Output(streams, { json: options.json === true, color, verbose: options.verbose === true, logFormat: options.logFormat ?? 'human' }, chalk);
}

function isDebug(env: Readonly<Record<string, string | undefined>>): boolean {
  return (env.DEBUG ?? '').split(',').some((part) => part.trim() === 'delta' || part.trim() === 'delta:*' || part.trim() === '*');
}

/** First Ctrl-C: stop after (or abort) the current change. Second: leave at once. */
/** A password in a flag is in every local user's `ps`: say so once (on stderr; never under --json). */
function warnPasswordOnCommandLine(output: Output, globals: GlobalOptions & Record<string, unknown>): void {
  if (output.options.json) return;
  const flags = (
    [
      ['--uri', globals.uri],
      ['--tracker-uri', globals.trackerUri],
    ] as const
  )
    .filter(([, uri]) => typeof uri === 'string' && secretsOf(uri).length > 0)
    .map(([flag]) => flag);
  if (flags.length === 0) return;
  output.warn(
    `delta: warning: the password in ${flags.join(' and ')} is visible to every user of this machine (ps); put the URI in DELTA_URI${flags.includes('--tracker-uri') ? ' / MIGRATIONS_DB_URI' : ''} or the configuration file instead`,
  );
}

function onInterrupt(controller: AbortController, output: Output): () => void {
  const handler = () => {
    if (controller.signal.aborted) {
      output.warn('delta: interrupted again, exiting now');
      process.exit(ExitCode.interrupted);
    }
    output.warn('delta: interrupting: finishing cleanly (Ctrl-C again to exit at once)');
    controller.abort();
  };
  process.on('SIGINT', handler);
  process.on('SIGTERM', handler);
  return () => {
    process.off('SIGINT', handler);
    process.off('SIGTERM', handler);
  };
}
