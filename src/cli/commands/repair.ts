import type { CommandContext } from '../main.js';
import { deltaFor } from '../delta-for-command.js';
import { renderMaintenance } from '../render/maintenance.js';

/** `delta repair`: mend history after a hand fix; audited. */
export async function run(context: CommandContext<'repair'>): Promise<void> {
  const o = context.options;
  const delta = await deltaFor(context);
  try {
    renderMaintenance(await delta.repair({ removeInterrupted: o.removeInterrupted === true, removeMissing: o.removeMissing === true, dryRun: o.dryRun === true }), context.output);
  } finally {
    await delta.close();
  }
}
