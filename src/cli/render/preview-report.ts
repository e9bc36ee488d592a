import type { PreviewResult } from '../../runner/preview.js';
import type { Output } from '../io.js';
import { formatTable } from './table.js';

/** `commit --preview --json`: the result without its error object (main() reports that). */
export function previewJson(result: PreviewResult): object {
  const { error: _error, ...rest } = result;
  return rest;
}

/** `commit --preview`: a row per change and collection, what each did to the catalog, and why any was not previewed. */
export function renderPreview(result: PreviewResult, output: Output): void {
  const { chalk } = output;
  if (result.changes.length === 0) {
    output.info(`Nothing to preview: ${result.targetDb} is up to date.`);
    return;
  }
  const rows: string[][] = [];
  for (const change of result.changes) {
    if (!change.previewed) {
      rows.push([change.id, '-', '', '', '', '', '', `not previewed: ${change.reason ?? ''}`]);
      continue;
    }
    const note = change.failure === undefined ? '' : 'would fail (below)';
    const ddl = change.ddl.map((d) => `${d.action} ${d.collection}${d.name === undefined ? '' : ` ${d.name}`}`.trim());
    if (change.writes.length === 0) rows.push([change.id, '-', '0', '0', '0', '0', '0', [note, ...ddl].filter(Boolean).join('; ')]);
    change.writes.forEach((w, i) => {
      const notes = i === 0 ? [note, ...ddl].filter(Boolean).join('; ') : '';
      rows.push([i === 0 ? change.id : '', w.collection, String(w.matched), String(w.modified), String(w.inserted), String(w.deleted), String(w.upserted), notes]);
    });
  }
  for (const line of formatTable(['CHANGE', 'COLLECTION', 'MATCHED', 'MODIFIED', 'INSERTED', 'DELETED', 'UPSERTED', 'NOTES'], rows)) output.info(line);
  for (const change of result.changes) {
    if (change.failure === undefined) continue;
    const broken = change.expectations ?? [];
    if (broken.length === 0) output.info(chalk.red(`✗ ${change.id} would fail: ${change.failure}`));
    for (const limit of broken) output.info(chalk.red(`✗ ${change.id}: expectation would fail: ${limit}`));
  }
  if (result.stopped !== undefined) output.info(chalk.yellow(`Stopped: ${result.stopped}.`));
  output.info(chalk.dim(`Previewed on ${result.targetDb} in one transaction, then aborted: nothing was written.`));
}
