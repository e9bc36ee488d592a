import type { CommandContext } from '../main.js';
import { deltaFor } from '../delta-for-command.js';
import { formatTable } from '../render/table.js';

/** `delta history`: the audit log, newest first. */
export async function run(context: CommandContext<'history'>): Promise<void> {
  const { output, options } = context;
  const delta = await deltaFor(context);
  try {
    const events = await delta.history({
      changeId: options.id,
      since: options.since,
      action: options.action,
      limit: options.limit ?? 50,
    });
    if (output.options.json) {
      output.json({ events });
      return;
    }
    if (events.length === 0) {
      output.info('No audit events match.');
      return;
    }
    const staged = events.some((e) => e.stage !== undefined);
    const long = options.long === true;
    const runners = events.some((e) => e.runner !== undefined && e.runner !== 'driver');
    const rows = events.map((e) => [
      e.at.toISOString(),
      e.action,
      e.outcome,
      ...(staged ? [e.stage ?? ''] : []),
      e.changeId ?? '',
      ...(runners ? [e.runner ?? ''] : []),
      `${e.executedBy.user}@${e.executedBy.host} pid ${e.executedBy.pid}`,
      ...(long ? [e.author ?? '', (e.tags ?? []).join(','), (e.environments ?? []).join(',')] : []),
      e.durationMs === undefined ? '' : `${e.durationMs} ms`,
      e.error?.message ?? (e.details === undefined ? '' : JSON.stringify(e.details)),
    ]);
    for (const line of formatTable(
      ['AT', 'ACTION', 'OUTCOME', ...(staged ? ['STAGE'] : []), 'ID', ...(runners ? ['RUNNER'] : []), 'BY', ...(long ? ['AUTHOR', 'TAGS', 'ENVIRONMENTS'] : []), 'DURATION', ''],
      rows,
    ))
      output.info(line);
  } finally {
    await delta.close();
  }
}
