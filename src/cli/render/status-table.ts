import type { ChangeState } from '../../runner/plan.js';
import type { StatusResult } from '../../runner/results.js';
import type { Output } from '../io.js';
import { plural } from './run-reporter.js';

const LABELS: Record<ChangeState, string> = {
  applied: 'applied',
  pending: 'pending',
  failed: 'failed',
  rolled_back: 'rolled back',
  running: 'running',
  modified: 'modified',
  missing: 'missing',
  out_of_order: 'out of order',
  up_to_date: 'up to date',
  changed: 'changed',
  skipped: 'skipped',
};

/** The human `delta status` view: one row per change, then a summary and the lock. */
export function renderStatus(status: StatusResult, output: Output, options: { long?: boolean } = {}): void {
  const { chalk } = output;
  const paint: Record<ChangeState, (text: string) => string> = {
    applied: chalk.green,
    pending: chalk.yellow,
    failed: chalk.red,
    rolled_back: chalk.yellow,
    running: chalk.magenta,
    modified: chalk.red,
    missing: chalk.red,
    out_of_order: chalk.yellow,
    up_to_date: chalk.green,
    changed: chalk.yellow,
    skipped: chalk.dim,
  };
  if (status.changes.length === 0) {
    output.info(`No changes found and no history in ${status.targetDb}.`);
  } else {
    // The stage column shows only in projects with stages (or history recorded with them).
    const staged = status.stages.length > 0 || status.changes.some((c) => c.stage !== undefined);
    const long = options.long === true;
    // The runner column shows when a change runs with something other than the driver (JSON always has it).
    const runners = status.changes.some((c) => c.runner !== undefined && c.runner !== 'driver');
    const note = (c: StatusResult['changes'][number]) => {
      if (c.state === 'skipped') return c.reason ?? '';
      const kind = c.repeat === 'always' ? 'runs on every commit' : c.repeat === 'on-change' ? 'repeatable' : '';
      const blocks = c.reason === undefined ? '' : `blocks commit: ${c.reason}`;
      return [c.error, blocks, long ? '' : kind].filter((part) => part !== undefined && part !== '').join('; ');
    };
    const rows = status.changes.map((c) => [
      LABELS[c.state],
      ...(staged ? [c.stage ?? ''] : []),
      c.id,
      ...(runners ? [c.runner ?? ''] : []),
      c.appliedAt ?? '',
      c.durationMs === undefined ? '' : `${c.durationMs} ms`,
      ...(long ? [c.author ?? '', c.tags.join(','), c.environments.join(','), c.repeat === 'once' ? '' : c.repeat] : []),
      note(c),
    ]);
    const header = ['STATE', ...(staged ? ['STAGE'] : []), 'ID', ...(runners ? ['RUNNER'] : []), 'APPLIED AT', 'DURATION', ...(long ? ['AUTHOR', 'TAGS', 'ENVIRONMENTS', 'REPEAT'] : []), ''];
    const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
    const line = (cells: readonly string[], color?: (t: string) => string) =>
      cells
        .map((cell, i) => {
          const padded = i === cells.length - 1 ? cell : cell.padEnd(widths[i] ?? 0);
          return i === 0 && color !== undefined ? color(padded) : padded;
        })
        .join('  ')
        .trimEnd();
    output.info(chalk.bold(line(header)));
    status.changes.forEach((change, i) => output.info(line(rows[i] ?? [], paint[change.state])));
  }
  const parts = (Object.keys(LABELS) as ChangeState[]).filter((s) => status.summary[s] > 0).map((s) => `${status.summary[s]} ${LABELS[s]}`);
  output.info('');
  output.info(`${status.targetDb}${status.env === undefined ? '' : ` (environment ${status.env})`}: ${plural(status.summary.total, 'change')}${parts.length > 0 ? ` (${parts.join(', ')})` : ''}`);
  if (status.lock !== undefined) {
    output.info(chalk.yellow(`lock held by ${status.lock.host} pid ${status.lock.pid} (${status.lock.command}) since ${status.lock.since}, lease until ${status.lock.expiresAt}`));
  }
}

/** States that `status --check` treats as "the database is not where the files say". */
export const CHECK_FAILS: readonly ChangeState[] = ['pending', 'out_of_order', 'rolled_back', 'failed', 'running', 'modified', 'missing', 'changed'];

export function stateLabel(state: ChangeState): string {
  return LABELS[state];
}
