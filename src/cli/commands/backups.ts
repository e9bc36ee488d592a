import type { CommandContext } from '../main.js';
import { deltaFor } from '../delta-for-command.js';
import { count, formatBytes } from '../render/backup-progress.js';
import { formatTable } from '../render/table.js';

/** `delta backups`: the backups in the backup folder, oldest first. */
export async function run(context: CommandContext<'backups'>): Promise<void> {
  const { output } = context;
  const delta = await deltaFor(context);
  try {
    const result = await delta.backups();
    for (const bad of result.unreadable) output.warn(`delta: warning: ${bad.reason}`);
    if (output.options.json) {
      output.json(result);
      return;
    }
    if (result.backups.length === 0) {
      output.info(`No backups in ${result.dir}.`);
      return;
    }
    const rows = result.backups.map((b) => [b.id, b.createdAt, b.db, b.changeId ?? `(${b.reason})`, b.collections.join(',') || '-', count(b.documents), formatBytes(b.bytes)]);
    for (const line of formatTable(['ID', 'CREATED', 'DB', 'BEFORE', 'COLLECTIONS', 'DOCUMENTS', 'SIZE'], rows)) output.info(line);
    output.info(output.chalk.dim(`in ${result.dir}; restore one with: delta restore <ID>`));
  } finally {
    await delta.close();
  }
}
