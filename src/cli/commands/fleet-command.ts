import type { Delta } from '../../api/create-delta.js';
import type { FleetRunResult } from '../../fleet/index.js';
import type { CommandContext } from '../main.js';

/** The commands that run over a fleet with `--targets`. */
type FleetCommand = 'commit' | 'rollback' | 'status';
import { attachFleetReporter, fleetRunJson, renderFleetRun } from '../render/fleet-view.js';
import { attachRunReporter } from '../render/run-reporter.js';

/**
 * Whether this command line runs over a fleet: `--targets`, or the configuration's `targets`
 * unless `--db` names one database.
 */
export async function isFleetRun(context: CommandContext<FleetCommand>, delta: Delta): Promise<boolean> {
  if (typeof context.options.targets === 'string') return true;
  return context.options.db === undefined && (await delta.config()).targets !== undefined;
}

/** The options every fleet command takes from its command line. */
export function fleetOptions(context: CommandContext<FleetCommand>): {
  targets: string | undefined;
  concurrency: number | undefined;
  totalConcurrency: number | undefined;
  waves: string | undefined;
} {
  const { targets, concurrency, totalConcurrency, waves } = context.options;
  return { targets, concurrency, totalConcurrency, waves };
}

/** Shared by commit and rollback over a fleet: a line per target, the table, the error. */
export async function runFleetCommand(context: CommandContext<FleetCommand>, delta: Delta, execute: () => Promise<FleetRunResult>): Promise<void> {
  const { output } = context;
  // Only the JSON event lines of the runs (--log-format json|both): their human view would interleave.
  const events = output.options.logFormat === 'human' ? { detach: () => undefined } : await attachRunReporter(delta, output);
  const reporter = attachFleetReporter(delta, output);
  try {
    const result = await execute();
    if (output.options.json) output.json(fleetRunJson(result));
    else renderFleetRun(result, output);
    if (result.error !== undefined) throw result.error;
  } finally {
    reporter.detach();
    events.detach();
    await delta.close();
  }
}
