// Every command the sandbox answers, by name as the client spells it.
import { ADMIN_COMMANDS } from './admin-commands.js';
import { AGGREGATE_COMMANDS } from './aggregate-command.js';
import { BULK_WRITE_COMMANDS } from './bulk-write-command.js';
import { CATALOG_COMMANDS } from './catalog-commands.js';
import type { CommandSpec } from './command-context.js';
import { CRUD_COMMANDS } from './crud-commands.js';
import { EXPLAIN_COMMANDS } from './explain-command.js';
import { INDEX_COMMANDS } from './index-commands.js';
import { SESSION_COMMANDS } from './session-commands.js';

export const COMMANDS: ReadonlyMap<string, CommandSpec> = new Map(
  Object.entries({
    ...ADMIN_COMMANDS,
    ...CRUD_COMMANDS,
    ...EXPLAIN_COMMANDS,
    ...AGGREGATE_COMMANDS,
    ...CATALOG_COMMANDS,
    ...INDEX_COMMANDS,
    ...SESSION_COMMANDS,
    ...BULK_WRITE_COMMANDS,
  }),
);

/** The handshake/monitoring commands: not counted in stats.commands, not seen by faults unless named. */
export const HELLO_COMMANDS: ReadonlySet<string> = new Set(['hello', 'isMaster', 'ismaster']);
