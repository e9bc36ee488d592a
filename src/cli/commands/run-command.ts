import type { Delta } from '../../api/create-delta.js';
import type { CommandContext } from '../main.js';
import { attachBackupProgress } from '../render/backup-progress.js';
import { attachRunReporter, renderRunSummary, runResultJson } from '../render/run-reporter.js';
import type { RunSelection } from '../render/run-reporter.js';
import type { RunResult } from '../../vocabulary/index.js';

/** Shared by commit and rollback: render events, print the result, surface its error. */
export async function runCommand(context: CommandContext, delta: Delta, execute: () => Promise<RunResult>, selection: RunSelection = {}): Promise<void> {
  const { output } = context;
  const reporter = await attachRunReporter(delta, output);
  const progress = await attachBackupProgress(delta, output);
  try {
    const result = await execute();
    if (output.options.json) output.json(runResultJson(result));
    else renderRunSummary(result, output, selection);
    // main() prints the error's message once and maps its code to the exit code.
    if (result.error !== undefined) throw result.error;
  } finally {
    reporter.detach();
    progress.detach();
    await delta.close();
  }
}
