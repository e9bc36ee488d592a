import type { ImportMigrateMongoResult } from '../../adopt/index.js';
import { createDelta } from '../../api/create-delta.js';
import type { CommandContext } from '../main.js';
import { configFlagsOf } from '../../config/options-table.js';
import type { Output } from '../io.js';
import { plural } from '../render/run-reporter.js';
import { formatTable } from '../render/table.js';

/** `delta import migrate-mongo`: copy a migrate-mongo changelog into delta history and write delta.config.mjs. */
export async function run(context: CommandContext<'import'>): Promise<void> {
  const o = context.options;
  // Here --config names migrate-mongo's configuration file: delta's own is what the import writes.
  const delta = createDelta({ flags: { ...configFlagsOf(o), config: undefined }, env: context.streams.env, cwd: context.streams.cwd });
  try {
    const result = await delta.importMigrateMongo({
      configFile: o.config,
      dryRun: o.dryRun === true,
      force: o.force === true,
      skipMissing: o.skipMissing === true,
      keepChangelog: o.keepChangelog === true,
    });
    render(result, context.output);
  } finally {
    await delta.close();
  }
}

function render(result: ImportMigrateMongoResult, output: Output): void {
  for (const note of result.notes) output.warn(`note: ${note}`);
  if (output.options.json) {
    output.json(result);
    return;
  }
  const { source, target } = result;
  output.info(
    `migrate-mongo project ${source.configFile}: changelog "${source.changelogCollection}" (${source.changelogEntries} ${source.changelogEntries === 1 ? 'entry' : 'entries'}) ` +
      `in ${target.db}${target.uri === undefined ? '' : ` on ${target.uri}`}${target.uriSource === undefined ? '' : ` (from ${target.uriSource})`}`,
  );
  if (result.dryRun) output.info('Dry run: no lock taken, nothing written.');
  const verb = result.dryRun ? 'Would import' : 'Imported';
  output.info(
    `${verb} ${plural(result.records.length, 'applied change')} into delta history of ${target.db}${result.runId === undefined ? '' : ` (run ${result.runId})`}${result.records.length === 0 ? '.' : ':'}`,
  );
  if (result.records.length > 0) {
    const rows = result.records.map((r) => [r.id, r.appliedAt.toISOString(), `${r.checksum.slice(0, 12)}…`, r.file, r.replaces === undefined ? '' : `overwrites a record in state ${r.replaces}`]);
    for (const line of formatTable(['ID', 'APPLIED AT', 'CHECKSUM', 'FILE', ''], rows)) output.info(`  ${line}`);
  }
  output.info(nextCommitLine(result));
  output.info(`delta create will name new changes ${result.naming.pattern} (${result.naming.reason}), e.g. ${result.naming.example}.`);
  if (result.skippedMissing.length > 0) output.info(`Left out (no file): ${result.skippedMissing.join(', ')}`);
  if (result.dryRun) {
    output.info(`Would write ${result.config.file}:`);
    for (const line of result.config.content.trimEnd().split('\n')) output.info(`  | ${line}`);
  } else {
    output.info(`Wrote ${result.config.file}. Next: delta status`);
  }
}

/** Exactly what the next `delta commit` will do, and the command to run when that needs a flag. */
function nextCommitLine(result: ImportMigrateMongoResult): string {
  const { nextCommit, pending } = result;
  const why = (id: string) => (pending.find((file) => file.id === id)?.reason === 'changed' ? ' (edited since migrate-mongo applied it)' : '');
  if (nextCommit.outOfOrder.length > 0) {
    const older = nextCommit.outOfOrder.map((id) => `${id}${why(id)}`).join(', ');
    return (
      `Next: delta commit will refuse to run (exit 4, nothing run): ${older} ${nextCommit.outOfOrder.length === 1 ? 'is' : 'are'} pending but older than the newest applied change ${nextCommit.newestApplied ?? ''}. ` +
      `To run ${pending.length === 1 ? 'it' : `all ${pending.length} pending files`} as migrate-mongo up would: ${nextCommit.command ?? ''}`
    );
  }
  if (nextCommit.runs.length === 0) return 'Next: delta commit has nothing to do.';
  return `Next: delta commit will run ${nextCommit.runs.map((id) => `${id}${why(id)}`).join(', ')}${nextCommit.runs.length > 1 ? ', in this order' : ''}.`;
}
