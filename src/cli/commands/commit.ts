import type { CommandContext } from '../main.js';
import { deltaFor } from '../delta-for-command.js';
import { UsageError } from '../../errors.js';
import { runCommand } from './run-command.js';
import { fleetOptions, isFleetRun, runFleetCommand } from './fleet-command.js';

/** `delta commit`: apply pending changes. */
export async function run(context: CommandContext<'commit'>): Promise<void> {
  const o = context.options;
  if (o.preview === true && o.dryRun === true) throw new UsageError('--preview and --dry-run cannot be used together: --dry-run prints the plan, --preview runs it and aborts');
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
    maxReplicationLagMs: o.maxReplicationLagMs,
    // --backup / --no-backup; undefined leaves it to the configuration's backup.default.
    backup: typeof o.backup === 'boolean' ? o.backup : undefined,
    interrupt: context.interrupt,
  };
  if (o.preview === true) {
    if (await isFleetRun(context, delta)) {
      await delta.close();
      throw new UsageError('--preview previews one target: name it with --db instead of --targets');
    }
    const { runPreview } = await import('./commit-preview.js');
    await runPreview(context, delta, options);
  } else if (await isFleetRun(context, delta)) {
    await runFleetCommand(context, delta, () => delta.commitFleet({ ...options, ...fleetOptions(context), failFast: o.failFast === true ? true : undefined, maxFailureRate: o.maxFailureRate }));
  } else {
    await runCommand(context, delta, () => delta.commit(options), options);
  }
}
