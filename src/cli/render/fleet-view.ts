import type { FleetRunResult, FleetStatusResult, FleetTargetResult } from '../../fleet/index.js';
import type { Delta } from '../../api/create-delta.js';
import type { Output } from '../io.js';
import { errorJson, plural } from './run-reporter.js';
import { formatTable } from './table.js';

const OUTCOME_LABELS: Record<FleetTargetResult['outcome'], string> = {
  success: 'done',
  'nothing-to-do': 'up to date',
  failed: 'failed',
  interrupted: 'interrupted',
  'lock-lost': 'lock lost',
  error: 'failed',
  'not-run': 'not run',
};

/** A line per target as it finishes (human output); targets run side by side, so no spinners. */
export function attachFleetReporter(delta: Delta, output: Output): { detach(): void } {
  if (output.options.json || output.options.logFormat === 'json') return { detach: () => undefined };
  const { chalk } = output;
  // Over several deployments a line names the target's deployment beside its database.
  let deployments = 1;
  const offStart = delta.on('target:start', (e) => {
    deployments = e.deployments;
  });
  const offEnd = delta.on('target:end', (e) => {
    const ok = e.outcome === 'success' || e.outcome === 'nothing-to-do';
    const verb = e.command === 'commit' ? 'applied' : 'reverted';
    const what = e.outcome === 'nothing-to-do' ? 'up to date' : `${verb} ${e.done}${e.failed > 0 ? `, ${e.failed} failed` : ''}`;
    const why = e.error === undefined ? '' : `: ${e.error.message}`;
    const where = deployments > 1 ? ` ${chalk.dim(`on ${e.deployment}`)}` : '';
    output.info(`${ok ? chalk.green('✓') : chalk.red('✗')} ${e.target}${where}  ${what}  ${chalk.dim(`${e.durationMs} ms`)}${ok ? '' : chalk.red(why)}`);
  });
  return {
    detach: () => {
      offStart();
      offEnd();
    },
  };
}

/** Whether a fleet's rows span several deployments: then tables show a DEPLOYMENT column. */
function overDeployments(targets: readonly { readonly deployment: string }[]): boolean {
  return new Set(targets.map((t) => t.deployment)).size > 1;
}

/** The table that ends a fleet run: one row per target. */
export function renderFleetRun(result: FleetRunResult, output: Output): void {
  const { chalk } = output;
  const verb = result.command === 'commit' ? 'APPLIED' : 'REVERTED';
  const waves = result.waves !== undefined;
  const deployments = overDeployments(result.targets);
  const rows = result.targets.map((t) => [
    ...(waves ? [String(t.wave ?? '-')] : []),
    ...(deployments ? [t.deployment] : []),
    t.target,
    OUTCOME_LABELS[t.outcome],
    String(t.done),
    String(t.failed),
    t.pending === undefined ? '-' : String(t.pending),
    t.outcome === 'not-run' ? '-' : `${t.durationMs} ms`,
    t.error === undefined || t.outcome === 'interrupted' ? '' : t.error.message,
  ]);
  output.info('');
  for (const line of formatTable([...(waves ? ['WAVE'] : []), ...(deployments ? ['DEPLOYMENT'] : []), 'TARGET', 'OUTCOME', verb, 'FAILED', 'PENDING', 'DURATION', ''], rows)) output.info(line);
  const failed = result.targets.filter((t) => t.outcome === 'failed' || t.outcome === 'error' || t.outcome === 'lock-lost').length;
  const notRun = result.targets.filter((t) => t.outcome === 'not-run').length;
  const wavesDone = result.waves === undefined ? '' : `, ${result.waves.done} of ${plural(result.waves.total, 'wave')} done`;
  const summary = `${plural(result.targets.length, 'target')} in ${result.durationMs} ms: ${result.targets.length - failed - notRun} ok, ${failed} failed${notRun > 0 ? `, ${notRun} not started` : ''}${wavesDone}`;
  output.info('');
  output.info(failed > 0 || (result.outcome !== 'success' && result.outcome !== 'nothing-to-do') ? chalk.red(summary) : chalk.green(summary));
  if (result.waves?.halted !== undefined) output.info(chalk.red(`Halted after ${result.waves.halted}. Run the same command again to go on.`));
}

/** The `--json` document of a fleet run. */
export function fleetRunJson(result: FleetRunResult): object {
  return {
    command: result.command,
    outcome: result.outcome,
    durationMs: result.durationMs,
    targets: result.targets.map((t) => ({
      target: t.target,
      deployment: t.deployment,
      outcome: t.outcome,
      done: t.done,
      failed: t.failed,
      pending: t.pending ?? null,
      durationMs: t.durationMs,
      runId: t.result?.runId ?? null,
      changes: t.result?.changes ?? [],
      error: errorJson(t.error),
      wave: t.wave ?? null,
    })),
    waves: result.waves === undefined ? null : { total: result.waves.total, done: result.waves.done, halted: result.waves.halted ?? null },
    error: errorJson(result.error),
  };
}

/** `status --targets`: a row per target, then how many stand where. */
export function renderFleetStatus(status: FleetStatusResult, output: Output): void {
  const { chalk } = output;
  const waves = status.targets.some((t) => t.wave !== undefined);
  const deployments = overDeployments(status.targets);
  const rows = status.targets.map((t) => [
    ...(waves ? [String(t.wave ?? '-')] : []),
    ...(deployments ? [t.deployment] : []),
    t.target,
    t.error !== undefined ? 'error' : t.failed > 0 ? 'failed' : t.behind ? 'behind' : 'up to date',
    t.newest ?? '(none)',
    String(t.applied),
    String(t.pending),
    String(t.failed),
    [t.error, t.locked ? 'locked: a run is going on' : undefined].filter((part) => part !== undefined).join('; '),
  ]);
  for (const line of formatTable([...(waves ? ['WAVE'] : []), ...(deployments ? ['DEPLOYMENT'] : []), 'TARGET', 'STATE', 'NEWEST APPLIED', 'APPLIED', 'PENDING', 'FAILED', ''], rows))
    output.info(line);
  output.info('');
  const { summary } = status;
  output.info(
    `${plural(summary.total, 'target')}: ${summary.upToDate} up to date, ${summary.behind} behind, ${summary.failed} failed` +
      (status.latest === undefined ? '' : ` (newest change: ${status.latest})`),
  );
  const at = Object.entries(summary.atNewest).sort(([a], [b]) => (a < b ? 1 : a > b ? -1 : 0));
  for (const [id, count] of at) output.info(`  ${plural(count, 'target')} at ${id}`);
  const behind = status.targets.filter((t) => t.behind).map((t) => (deployments ? `${t.target} on ${t.deployment}` : t.target));
  if (behind.length > 0) output.info(chalk.yellow(`behind or failed: ${behind.join(', ')}`));
}
