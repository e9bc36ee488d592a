import { UsageError } from '../../errors.js';
import type { CommandContext } from '../main.js';
import { deltaFor } from '../delta-for-command.js';
import { rehearsalJson, renderRehearsal } from '../render/rehearsal-report.js';

/** `delta rehearse`: commit, roll back and commit again in a scratch copy of the target. */
export async function run(context: CommandContext<'rehearse'>): Promise<void> {
  const { output } = context;
  const o = context.options;
  if (o.inSandbox === true && o.keep === true) throw new UsageError('--keep keeps a scratch database on the deployment; with --in-sandbox there is none to keep');
  const delta = await deltaFor(context);
  let stopSandbox: (() => Promise<void>) | undefined;
  try {
    let scratchUri: string | undefined;
    if (o.inSandbox === true) {
      // The CLI may start the sandbox; the rehearsal only gets its address.
      const { startSandbox } = await import('../../sandbox/index.js');
      const sandbox = await startSandbox({ port: 0 });
      stopSandbox = () => sandbox.stop();
      scratchUri = sandbox.uri;
    }
    const result = await delta.rehearse({
      to: o.to,
      only: o.only,
      tags: o.tags,
      stage: o.stage,
      allowDrift: o.allowDrift === true,
      outOfOrder: o.outOfOrder === true,
      sample: o.sample,
      scratchDb: o.scratchDb,
      scratchUri,
      keep: o.keep === true,
      timeoutMs: o.timeoutMs,
      interrupt: context.interrupt,
    });
    if (output.options.json) output.json(rehearsalJson(result));
    else renderRehearsal(result, output);
    // A change that failed (its exit code), or differences (exit 4): main() maps the code.
    if (result.error !== undefined) throw result.error;
  } finally {
    await delta.close();
    await stopSandbox?.();
  }
}
