import type { Delta } from '../api/create-delta.js';
import { createDelta } from '../api/create-delta.js';
import { secretsOf } from '../config/redact.js';
import { configFlagsOf } from '../config/options-table.js';
import type { CommandContext } from './main.js';

/** A `Delta` for this command line, with every configured password registered for redaction. */
export async function deltaFor(context: CommandContext): Promise<Delta> {
  const delta = createDelta({ flags: configFlagsOf(context.options), env: context.streams.env, cwd: context.streams.cwd });
  const config = await delta.config();
  context.output.addSecrets([...secretsOf(config.uri), ...secretsOf(config.tracker.uri)]);
  return delta;
}
