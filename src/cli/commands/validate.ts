import { ValidationError } from '../../errors.js';
import type { CommandContext } from '../main.js';
import { deltaFor } from '../delta-for-command.js';
import { plural } from '../render/run-reporter.js';

/** `delta validate`: every problem between files and history, without the lock; exit 4 when any. */
export async function run(context: CommandContext<'validate'>): Promise<void> {
  const { output } = context;
  const delta = await deltaFor(context);
  try {
    const report = await delta.validate();
    if (output.options.json) output.json({ ...report, ok: report.problems.length === 0 });
    else if (report.problems.length === 0) output.info(output.chalk.green(`${report.targetDb}: ${plural(report.changes, 'change')}, no problems.`));
    else for (const problem of report.problems) output.info(`${output.chalk.red(problem.kind.padEnd(12))}  ${problem.message}`);
    if (report.problems.length > 0) throw new ValidationError(`validate: ${plural(report.problems.length, 'problem')} in ${report.targetDb}`);
  } finally {
    await delta.close();
  }
}
