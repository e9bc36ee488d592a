import type { CommandContext } from '../main.js';
import { deltaFor } from '../delta-for-command.js';
import { runCommand } from './run-command.js';
import { fleetOptions, isFleetRun, runFleetCommand } from './fleet-command.js';

/** `delta rollback`: revert applied changes, newest first. */
export async function run(context: CommandContext<'rollback'>): Promise<void> {
  const o = context.options;
  const delta = await deltaFor(context);
  const options = {
    to: o.to,
    steps: o.steps,
    id: o.id,
    since: o.since,
    all: o.all === true,
    dryRun: o.dryRun === true,
    allowDrift: o.allowDrift === true,
    stage: o.stage,
    timeoutMs: o.timeoutMs,
    maxReplicationLagMs: o.maxReplicationLagMs,
    interrupt: context.interrupt,
  };
  if (await isFleetRun(context, delta)) {
    await runFleetCommand(context, delta, () => delta.rollbackFleet({ ...options, ...fleetOptions(context), failFast: o.failFast === true ? true : undefined, maxFailureRate: o.maxFailureRate }));
  } else {
    await runCommand(context, delta, () => delta.rollback(options), options);
  }
}
