import type { CommandContext } from '../main.js';
import { deltaFor } from '../delta-for-command.js';
import { attachBackupProgress, count, formatBytes } from '../render/backup-progress.js';
import { plural } from '../render/run-reporter.js';

/** `delta backup [--collections a,b]`: back up the target database now. */
export async function run(context: CommandContext<'backup'>): Promise<void> {
  const { output, options } = context;
  const delta = await deltaFor(context);
  const progress = await attachBackupProgress(delta, output);
  const offWarning = delta.on('backup:warning', (e) => output.warn(`delta: warning: ${e.message}`));
  try {
    const result = await delta.backup({ collections: options.collections, includeTracker: options.includeTracker === true, interrupt: context.interrupt });
    if (output.options.json) {
      output.json(result);
      return;
    }
    output.info(`Backed up ${plural(result.collections.length, 'collection')} of ${result.db} (${count(result.documents)} documents, ${formatBytes(result.bytes)}) in ${result.durationMs} ms:`);
    output.info(`  ${result.id}  ${output.chalk.dim(result.path)}`);
    for (const c of result.collections) output.info(`  ${c.name}: ${c.existed ? `${count(c.documents)} documents, ${formatBytes(c.bytes)}` : 'does not exist (recorded as absent)'}`);
    for (const s of result.skipped) output.info(output.chalk.dim(`  ${s.name}: skipped (${s.reason})`));
    if (result.pruned.length > 0) output.info(output.chalk.dim(`Pruned ${plural(result.pruned.length, 'older backup')} (backup.keep): ${result.pruned.join(', ')}`));
  } finally {
    offWarning();
    progress.detach();
    await delta.close();
  }
}
