import type { CommandContext } from '../main.js';
import { deltaFor } from '../delta-for-command.js';
import { runCommand } from './run-command.js';
import { fleetOptions, isFleetRun, runFleetCommand } from './fleet-command.js';

/** `delta commit`: apply pending changes. */
export async function run(context: CommandContext<'commit'>): Promise<void> {
  const o = context.options;
  const delta = await deltaFor(context);
  const options = {
    to: o.to,
    only: o.only,
    dryRun: o.dryRun === true,
    allowDrift: o.allowDrift === true,
    outOfOrder: o.outOfOrder === true,
    stage: o.stage,
    tags: o.tags,
    timeoutMs: o.timeoutMs,
    // --backup / --no-backup; undefined leaves it to the configuration's backup.default.
    backup: typeof o.backup === 'boolean' ? o.backup : undefined,
    interrupt: context.interrupt,
  };
  if (await isFleetRun(context, delta)) {
    await runFleetCommand(context, delta, () => delta.commitFleet({ ...options, ...fleetOptions(context), failFast: o.failFast === true ? true : undefined, maxFailureRate: o.maxFailureRate }));
  } else {
    await runCommand(context, delta, () => delta.commit(options), options);
  }
}
