import type { RehearseResult } from '../../api/rehearse-action.js';
import type { Output } from '../io.js';

/** `rehearse --json`: the result without its error object (main() reports that). */
export function rehearsalJson(result: RehearseResult): object {
  const { error: _error, ...rest } = result;
  return rest;
}

/** `delta rehearse`: what was copied, what ran, and every difference, named by change and collection. */
export function renderRehearsal(result: RehearseResult, output: Output): void {
  const { chalk } = output;
  const where = result.elsewhere ? `${result.scratchDb} on the built-in sandbox` : result.scratchDb;
  const documents = result.copied.reduce((sum, c) => sum + c.documents, 0);
  output.info(`Copied ${result.copied.length} collection${result.copied.length === 1 ? '' : 's'} of ${result.targetDb} (${documents} documents, up to ${result.sample} each) into ${where}.`);
  if (result.changes.length === 0) {
    output.info(`Nothing to rehearse: ${result.targetDb} has no pending change.`);
  } else if (result.failure !== undefined) {
    output.info(chalk.red(`✗ ${result.failure.change} failed during its ${result.failure.step}: ${result.failure.message}`));
  } else {
    output.info(`Committed, rolled back and committed again: ${result.changes.join(', ')}.`);
  }
  for (const d of result.differences) {
    const step = d.step === 'rollback' ? `rolling back ${d.change} did not restore` : `committing ${d.change} again changed`;
    const examples = d.examples === undefined || d.examples.length === 0 ? '' : `; e.g. _id ${d.examples.join(', ')}`;
    output.info(chalk.red(`✗ ${step} ${d.collection}: ${d.detail}${examples}`));
  }
  if (result.changes.length > 0 && result.failure === undefined && result.differences.length === 0) {
    output.info(chalk.green('✓ every rollback restored the database, and the second commit matched the first'));
  }
  output.info(chalk.dim(result.kept ? `Kept ${result.scratchDb}.` : `Dropped ${where}.`));
}
