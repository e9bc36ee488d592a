import { ValidationError } from '../../errors.js';
import type { CommandContext } from '../main.js';
import { deltaFor } from '../delta-for-command.js';
import { renderFleetStatus } from '../render/fleet-view.js';
import { CHECK_FAILS, renderStatus, stateLabel } from '../render/status-table.js';
import { fleetOptions, isFleetRun } from './fleet-command.js';

/** `delta status`: every change's state; `--check` exits 4 unless all are applied. */
export async function run(context: CommandContext<'status'>): Promise<void> {
  const { output } = context;
  const delta = await deltaFor(context);
  const tags = context.options.tags;
  try {
    if (await isFleetRun(context, delta)) {
      const fleet = await delta.statusFleet({ ...fleetOptions(context), tags });
      if (output.options.json) output.json(fleet);
      else renderFleetStatus(fleet, output);
      if (context.options.check === true && fleet.summary.upToDate < fleet.summary.total) {
        throw new ValidationError(`status --check: ${fleet.summary.behind} targets behind, ${fleet.summary.failed} failed`);
      }
      return;
    }
    const status = await delta.status({ tags });
    if (output.options.json) output.json(status);
    else renderStatus(status, output, { long: context.options.long === true });
    if (context.options.check === true) {
      const failing = CHECK_FAILS.filter((state) => status.summary[state] > 0);
      if (failing.length > 0) {
        throw new ValidationError(`status --check: ${failing.map((state) => `${status.summary[state]} ${stateLabel(state)}`).join(', ')}`);
      }
    }
  } finally {
    await delta.close();
  }
}
