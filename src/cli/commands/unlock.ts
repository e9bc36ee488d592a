import type { CommandContext } from '../main.js';
import { deltaFor } from '../delta-for-command.js';

/** `delta unlock [--force]`: shows who holds the lock and removes it (a fresh lease only with --force). */
export async function run(context: CommandContext<'unlock'>): Promise<void> {
  const { output } = context;
  const delta = await deltaFor(context);
  try {
    const result = await delta.unlock({ force: context.options.force === true });
    if (output.options.json) {
      output.json(result);
      return;
    }
    const { holder } = result;
    if (holder === undefined) output.info(`No lock is held on ${result.scope}.`);
    else if (result.removed) {
      output.info(`Removed the lock on ${result.scope} held by ${holder.host} pid ${holder.pid} (${holder.command}) since ${holder.acquiredAt.toISOString()}.`);
    } else output.info(`The lock on ${result.scope} was released meanwhile; it is now held by ${holder.host} pid ${holder.pid} (${holder.command}), left in place.`);
  } finally {
    await delta.close();
  }
}
