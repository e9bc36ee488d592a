import type { Delta } from '../../api/create-delta.js';
import type { DeltaEventName, DeltaEvents } from '../../runner/events.js';
import { DELTA_EVENT_NAMES } from '../../runner/events.js';
import type { Output } from '../io.js';
import type { DeltaError } from '../../errors.js';
import { exitCodeFor } from '../exit-codes.js';
import type { RunResult } from '../../vocabulary/index.js';

interface Spinner {
  start(text: string): Spinner;
  succeed(text: string): Spinner;
  fail(text: string): Spinner;
  stop(): Spinner;
}

/**
 * Renders a run from the runner's events only: an ora spinner per change
 * on a TTY, plain lines otherwise, JSON lines on stderr with
 * `--log-format json`, nothing on stdout under `--json`.
 */
export async function attachRunReporter(delta: Delta, output: Output): Promise<{ detach(): void }> {
  const offs: (() => void)[] = [];
  const { chalk } = output;
  if (output.options.logFormat !== 'human') {
    for (const name of DELTA_EVENT_NAMES) offs.push(delta.on(name, (payload) => output.event(name, payload)));
  }
  const human = !output.options.json && output.options.logFormat !== 'json';
  if (human) {
    let spinner: Spinner | undefined;
    if (output.interactive) {
      const { default: ora } = await import('ora');
      spinner = ora({ stream: output.stdout, discardStdin: false });
    }
    const verb = (direction: 'commit' | 'rollback') => (direction === 'commit' ? 'applied' : 'reverted');
    const mode = (transactional: boolean) => chalk.dim(transactional ? 'transaction' : 'no transaction');
    const on = <E extends DeltaEventName>(event: E, listener: (payload: DeltaEvents[E]) => void) => offs.push(delta.on(event, listener));
    on('run:start', (e) => output.info(`${e.command === 'commit' ? 'Applying' : 'Reverting'} ${plural(e.planned.length, 'change')} ${e.command === 'commit' ? 'to' : 'in'} ${chalk.bold(e.targetDb)}`));
    on('lock:acquired', (e) => {
      if (output.options.verbose) output.info(chalk.dim(`lock ${e.scope} acquired after ${e.waitedMs} ms`));
    });
    on('lock:lost', (e) => output.warn(`delta: lost the lock on ${e.scope}: ${e.reason}`));
    // One spinner shows one change: a parallel stage prints a line per change instead.
    let parallel = false;
    const spinning = () => (parallel ? undefined : spinner);
    on('stage:start', (e) => {
      parallel = e.parallel;
      const how = e.parallel ? `, up to ${e.concurrency} at once` : '';
      output.info(chalk.bold(`Stage ${e.stage}`) + chalk.dim(` (${plural(e.planned.length, 'change')}${how})`));
    });
    on('stage:end', () => {
      parallel = false;
    });
    on('backup:done', (e) => {
      const what = `${e.changeId === undefined ? 'the database' : `before ${e.changeId}`}: ${e.collections.join(', ') || 'no collections'}, ${e.documents} documents`;
      output.info(`${chalk.green('✓')} backed up ${what}  ${chalk.dim(`${e.durationMs} ms  ${e.backupId}`)}`);
    });
    on('backup:warning', (e) => output.warn(`delta: warning: ${e.message}`));
    on('change:start', (e) => {
      spinning()?.start(`${e.changeId} ${chalk.dim(`(${e.index + 1}/${e.total})`)}`);
    });
    on('change:success', (e) => {
      const text = `${e.changeId}  ${chalk.dim(`${e.durationMs} ms`)}  ${mode(e.transactional)}`;
      const current = spinning();
      if (current !== undefined) current.succeed(text);
      else output.info(`${chalk.green('✓')} ${verb(e.direction)} ${text}`);
    });
    on('change:failure', (e) => {
      const note = e.compensated === true ? ', its rollback ran to compensate' : e.compensated === false ? ', its compensating rollback failed too' : e.transactional ? ', transaction aborted' : '';
      const text = `${e.changeId}  ${chalk.dim(`${e.durationMs} ms`)}  ${chalk.red(`failed${note}`)}`;
      const current = spinning();
      if (current !== undefined) current.fail(text);
      else output.info(`${chalk.red('✗')} ${text}`);
    });
    // Plain output gets a progress line at most once a second per walk, and its last one.
    const lastLine = new Map<string, number>();
    on('change:progress', (e) => {
      const pause = e.paused === undefined ? '' : `; paused ${e.paused.ms} ms: ${e.paused.reason}`;
      const ranges = e.ranges === undefined ? '' : `, ranges ${e.ranges.complete}/${e.ranges.total} done, ${e.ranges.running} walking`;
      const text = `${e.changeId}: ${e.collection}${e.walk === e.collection ? '' : ` (${e.walk})`} ${e.done} documents, ${e.batches} batches of ${e.batchSize}${ranges}, ${e.ratePerSecond} docs/s${e.complete ? ', done' : `, ${e.remaining} left${e.etaSeconds === undefined ? '' : ` (about ${e.etaSeconds} s)`}`}${pause}`;
      const current = spinning();
      if (current !== undefined && !e.complete) {
        current.start(text);
        return;
      }
      const key = `${e.changeId}/${e.walk}`;
      const now = Date.now();
      if (!e.complete && now - (lastLine.get(key) ?? 0) < 1000) return;
      lastLine.set(key, now);
      output.info(chalk.dim(`  ${text}`));
    });
    on('change:fallback', (e) => {
      spinner?.stop();
      output.info(chalk.dim(`  ${e.changeId}: the server refused an operation inside a transaction (${e.reason}); running it again without one`));
    });
    on('change:log', (e) => {
      spinner?.stop();
      output.info(chalk.dim(`  ${e.changeId}: ${e.message}`));
    });
  }
  return {
    detach() {
      for (const off of offs) off();
    },
  };
}

/** The options that narrowed a run, as typed: what "nothing to do" was about. */
export interface RunSelection {
  readonly to?: string | undefined;
  readonly since?: Date | undefined;
  readonly stage?: string | undefined;
  readonly only?: string | undefined;
  readonly tags?: readonly string[] | undefined;
}

/** Says what was found to be applied (or not) for what the options asked: never "no change is applied" when some are. */
function nothingToDoLine(result: RunResult, selection: RunSelection): string {
  const db = result.targetDb;
  const stage = selection.stage === undefined ? '' : ` of stage ${selection.stage}`;
  if (result.command === 'commit') {
    if (selection.only !== undefined) return `Nothing to do: ${selection.only} is applied to ${db}.`;
    const scope = selection.tags !== undefined ? ` tagged ${selection.tags.join(', ')}` : '';
    const upTo = selection.to === undefined ? '' : ` up to ${selection.to}`;
    return `Nothing to do: every change${stage}${scope}${upTo} is applied to ${db}.`;
  }
  if (selection.to !== undefined) return `Nothing to roll back in ${db}: no change newer than ${selection.to}${stage} is applied.`;
  if (selection.since !== undefined) return `Nothing to roll back in ${db}: no change${stage} was applied since ${selection.since.toISOString()}.`;
  return `Nothing to roll back in ${db}: no change${stage} is applied.`;
}

/** The closing line of a run, in human output. */
export function renderRunSummary(result: RunResult, output: Output, selection: RunSelection = {}): void {
  const { chalk } = output;
  const done = result.changes.filter((c) => c.status === 'done').length;
  const notRun = result.changes.filter((c) => c.status === 'not-run').length;
  const verb = result.command === 'commit' ? 'applied' : 'reverted';
  if (result.dryRun) {
    if (result.changes.length === 0) {
      output.info(result.command === 'commit' ? 'Nothing to do: every change is applied.' : 'Nothing to roll back.');
      return;
    }
    const order = result.command === 'rollback' ? ', newest applied first' : ', in this order';
    output.info(
      `Dry run on ${chalk.bold(result.targetDb)}: would ${result.command === 'commit' ? 'apply' : 'revert'} ${plural(result.changes.length, 'change')}${order} (no lock taken, nothing written):`,
    );
    for (const [index, change] of result.changes.entries()) {
      output.info(
        `  ${index + 1}. ${change.stage === undefined ? '' : `${change.stage}/`}${change.id}  ${chalk.dim(`${change.runner === undefined || change.runner === 'driver' ? '' : `${change.runner}, `}${change.transactional ? 'in a transaction' : 'without a transaction'}${result.command === 'rollback' ? ', its rollback function' : ''}`)}`,
      );
    }
    return;
  }
  switch (result.outcome) {
    case 'nothing-to-do':
      output.info(nothingToDoLine(result, selection));
      return;
    case 'success':
      output.info(chalk.green(`Done: ${verb} ${plural(done, 'change')} in ${result.durationMs} ms.`));
      return;
    default:
      output.info(chalk.red(`Stopped (${result.outcome}): ${verb} ${plural(done, 'change')}` + (notRun > 0 ? `, ${notRun} not run` : '') + ` in ${result.durationMs} ms.`));
  }
}

/** The `--json` document of a run. */
export function runResultJson(result: RunResult): object {
  return {
    runId: result.runId,
    command: result.command,
    targetDb: result.targetDb,
    outcome: result.outcome,
    dryRun: result.dryRun,
    durationMs: result.durationMs,
    changes: result.changes,
    error: errorJson(result.error),
  };
}

/** An error in a `--json` document: the same shape as the document a failure before any result prints. */
export function errorJson(error: DeltaError | undefined): { code: string; message: string; exitCode: number } | null {
  return error === undefined ? null : { code: error.code, message: error.message, exitCode: exitCodeFor(error.code) };
}

export function plural(count: number, noun: string): string {
  return `${count} ${noun}${count === 1 ? '' : 's'}`;
}
