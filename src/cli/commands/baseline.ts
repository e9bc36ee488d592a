import type { CommandContext } from '../main.js';
import { deltaFor } from '../delta-for-command.js';
import { renderMaintenance } from '../render/maintenance.js';

/** `delta baseline --to <id>`: mark changes applied without running them; audited. */
export async function run(context: CommandContext<'baseline'>): Promise<void> {
  const o = context.options;
  const delta = await deltaFor(context);
  try {
    renderMaintenance(await delta.baseline({ to: o.to, force: o.force === true, dryRun: o.dryRun === true }), context.output);
  } finally {
    await delta.close();
  }
}
