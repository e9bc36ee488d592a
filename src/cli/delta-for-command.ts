import type { Delta } from '../api/create-delta.js';
import { createDelta } from '../api/create-delta.js';
import { secretsOf } from '../config/redact.js';
import type { ConfigFlags } from '../config/resolve-config.js';
import type { CommandContext } from './main.js';

/** The flags a command line gives the configuration (flags win over everything). */
export function configFlags(options: CommandContext['options']): ConfigFlags {
  const str = (key: string) => (typeof options[key] === 'string' ? (options[key] as string) : undefined);
  const num = (key: string) => (typeof options[key] === 'number' ? (options[key] as number) : undefined);
  return {
    config: options.config,
    uri: options.uri,
    db: options.db,
    path: options.path,
    env: str('env'),
    trackerUri: options.trackerUri,
    trackerDb: options.trackerDb,
    transaction: str('transaction'),
    // commander sets autoRollback=true by default for `--no-auto-rollback`; only `false` is a choice.
    autoRollback: options.autoRollback === false ? false : undefined,
    lockWaitMs: num('lockWait'),
    lockLeaseMs: num('lockLease'),
    backupDir: str('backupDir'),
  };
}

/** A `Delta` for this command line, with every configured password registered for redaction. */
export async function deltaFor(context: CommandContext): Promise<Delta> {
  const delta = createDelta({ flags: configFlags(context.options), env: context.streams.env, cwd: context.streams.cwd });
  const config = await delta.config();
  context.output.addSecrets([...secretsOf(config.uri), ...secretsOf(config.tracker.uri)]);
  return delta;
}
