import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { UsageError } from '../../errors.js';
import type { CommandContext } from '../main.js';
import { CONFIG_TEMPLATE } from '../templates.js';

/** `delta init`: write a commented delta.config.ts; never overwrite one. */
export async function run(context: CommandContext<'init'>): Promise<void> {
  const target = join(context.streams.cwd, 'delta.config.ts');
  try {
    // 'wx' fails if the file exists, atomically: no check-then-write race.
    await writeFile(target, CONFIG_TEMPLATE, { flag: 'wx', mode: 0o600 });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') throw new UsageError('delta.config.ts already exists; edit it, or remove it first');
    throw error;
  }
  if (context.output.options.json) context.output.json({ created: target });
  else context.output.info(`Created delta.config.ts. Next: delta create <name> to write your first change.`);
}
