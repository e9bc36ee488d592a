import type { Delta } from '../../api/create-delta.js';
import type { PreviewOptions } from '../../runner/preview.js';
import type { CommandContext } from '../main.js';
import { previewJson, renderPreview } from '../render/preview-report.js';

/** `delta commit --preview`: the pending changes run in a transaction that is always aborted; a table (or JSON) of what each did. */
export async function runPreview(context: CommandContext<'commit'>, delta: Delta, options: PreviewOptions): Promise<void> {
  const { output } = context;
  try {
    const result = await delta.preview(options);
    if (output.options.json) output.json(previewJson(result));
    else renderPreview(result, output);
    // A change that would fail (its error, a broken expectation, its verify) or Ctrl-C: main() maps the code.
    if (result.error !== undefined) throw result.error;
  } finally {
    await delta.close();
  }
}
