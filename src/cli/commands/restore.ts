import type { CommandContext } from '../main.js';
import { deltaFor } from '../delta-for-command.js';
import { attachBackupProgress, count } from '../render/backup-progress.js';
import { plural } from '../render/run-reporter.js';

/** `delta restore <backup> [--collections a,b] [--to-db name] [--drop]`. */
export async function run(context: CommandContext<'restore'>): Promise<void> {
  const { output, options } = context;
  const delta = await deltaFor(context);
  const progress = await attachBackupProgress(delta, output);
  try {
    const result = await delta.restore({
      backup: String(context.args[0]),
      collections: options.collections,
      toDb: options.toDb,
      drop: options.drop === true,
      interrupt: context.interrupt,
    });
    if (output.options.json) {
      output.json(result);
      return;
    }
    output.info(
      `Restored ${plural(result.collections.length, 'collection')} of backup ${result.backupId} (${result.fromDb}) into ${result.toDb}: ${count(result.documents)} documents in ${result.durationMs} ms.`,
    );
    for (const c of result.collections) {
      const what = c.absentInBackup
        ? c.replaced
          ? 'dropped (it did not exist at backup time)'
          : 'absent at backup time; nothing to restore'
        : `${count(c.documents)} documents, ${c.indexes} ${c.indexes === 1 ? 'index' : 'indexes'}${c.replaced ? ', replaced the existing collection' : ''}`;
      output.info(`  ${c.name}: ${what}`);
    }
  } finally {
    progress.detach();
    await delta.close();
  }
}
