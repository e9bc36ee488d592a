import { Argument, Command, InvalidArgumentError, Option } from 'commander';
import { readmePath, toolVersion } from '../version.js';
import type { CommandName, GlobalOptionValues, OptionEntry } from '../config/options-table.js';
import { GLOBAL_OPTIONS, helpOf, optionsOf } from '../config/options-table.js';
import { OptionValueError } from '../config/option-parsers.js';
export type { CommandName } from '../config/options-table.js';

/** Options every command accepts. */
export type GlobalOptions = GlobalOptionValues;

/** Runs a command module's handler; `program.ts` never imports the modules themselves. */
export type Dispatch = (command: CommandName, args: readonly unknown[], options: Record<string, unknown>) => Promise<void>;

const examples = () => `
Examples:
  $ delta init                                     write a commented delta.config.ts
  $ delta create add_users_email_index             new change file in ./migrations
  $ delta commit --path ./migrations               apply every pending change
  $ delta rollback --to 20240101120000_users       undo to a version
  $ delta status                                   what is applied, pending, failed, modified
  $ delta sandbox --port 27017                     an in-memory MongoDB to try delta on

Exit codes: 0 ok, 1 change or database failed, 2 bad input, 3 lock held, 4 validation failed, 130 interrupted.
Docs: npm docs mongo-delta, or ${readmePath()}`;

export interface ProgramOutput {
  readonly writeOut: (text: string) => void;
  readonly writeErr: (text: string) => void;
}

/** The commander program: names, options and help only; command code is loaded when run. */
export function buildProgram(dispatch: Dispatch, io: ProgramOutput): Command {
  const program = new Command('delta');
  // Set before the subcommands exist so that they inherit them: errors come
  // back to main() (which alone picks exit codes) instead of process.exit().
  program.exitOverride().configureOutput({ writeOut: io.writeOut, writeErr: io.writeErr, outputError: (text, write) => write(`delta: ${text}`) });
  program.description('Versioned, tracked, locked and reversible changes for MongoDB.').version(toolVersion(), '-V, --version', 'print the version').helpOption('-h, --help', 'show help');
  for (const entry of GLOBAL_OPTIONS) program.addOption(commanderOption(entry));
  program.showSuggestionAfterError(true).configureHelp({ showGlobalOptions: true, sortSubcommands: false }).addHelpText('after', examples);

  const action = (name: CommandName) =>
    async function (this: Command, ...args: unknown[]) {
      // commander passes positional arguments, then the options object, then the command.
      const positional = args.slice(0, -2);
      await dispatch(name, positional, valuesByKey(this.optsWithGlobals(), [...GLOBAL_OPTIONS, ...optionsOf(name)]));
    };
  // A command with its options from the table, in the table's order.
  const command = (name: CommandName): Command => {
    const created = program.command(name);
    for (const entry of optionsOf(name)) created.addOption(commanderOption(entry, name));
    return created;
  };

  command('commit')
    .alias('up')
    .description('apply every pending change, in id order')
    .addHelpText(
      'after',
      '\nExamples:\n  $ delta commit --path ./migrations\n  $ delta commit --targets "tenant_*" --concurrency 8\n  $ delta commit --backup\n  $ delta commit --to 20240301090000_orders --dry-run\n  $ delta commit --json > result.json',
    )
    .action(action('commit'));

  command('rollback')
    .alias('down')
    .description('revert applied changes, newest first (default: the last one)')
    .addHelpText('after', '\nExamples:\n  $ delta rollback\n  $ delta rollback --to 20240101120000_users\n  $ delta rollback --steps 3 --dry-run')
    .action(action('rollback'));

  command('status')
    .description('show every change: applied, pending, failed, rolled back, running, modified, missing, out of order')
    .addHelpText(
      'after',
      '\nExamples:\n  $ delta status\n  $ delta status --targets "tenant_*" --json | jq .summary\n  $ delta status --json | jq .summary\n  $ delta status --check || echo "database is behind"',
    )
    .action(action('status'));

  command('validate')
    .description('compare change files with history without the lock; exit 4 when anything is wrong')
    .addHelpText('after', '\nExamples:\n  $ delta validate\n  $ delta validate --json | jq .problems')
    .action(action('validate'));
  command('repair')
    .description('after a hand fix: re-record checksums of edited files, mark interrupted changes failed')
    .addHelpText('after', '\nExamples:\n  $ delta repair --dry-run\n  $ delta repair --remove-missing')
    .action(action('repair'));
  command('baseline')
    .description('mark every change up to <id> as applied without running it (a database that already has them)')
    .addHelpText('after', '\nExamples:\n  $ delta baseline --to 20240105130000_orders --dry-run\n  $ delta baseline --to 20240105130000_orders')
    .action(action('baseline'));
  command('history')
    .description('the audit log, newest first')
    .addHelpText('after', '\nExamples:\n  $ delta history --limit 20\n  $ delta history --id 20240101120000_users --json')
    .action(action('history'));
  command('unlock')
    .description('show who holds the lock and remove it (a fresh lease only with --force)')
    .addHelpText('after', '\nExamples:\n  $ delta unlock\n  $ delta unlock --force   # its holder is known to be dead')
    .action(action('unlock'));

  command('create')
    .description('write a new change file named <UTC timestamp>_<name>')
    .argument('<name>', 'what the change does, e.g. add_users_email_index')
    .addHelpText('after', '\nExamples:\n  $ delta create add_users_email_index\n  $ delta create backfill_status --js --path ./db/changes\n  $ delta create orders_collection --yaml')
    .action(action('create'));

  command('init').description('write a commented delta.config.ts in the current folder').addHelpText('after', '\nExample:\n  $ delta init && delta create first_change').action(action('init'));

  command('backup')
    .description('back up the target database now (documents, indexes, options), under the lock; audited')
    .addHelpText('after', '\nExamples:\n  $ delta backup\n  $ delta backup --collections users,orders --backup-dir /var/backups/delta')
    .action(action('backup'));
  command('backups')
    .description('list the backups in the backup folder, oldest first')
    .addHelpText('after', '\nExamples:\n  $ delta backups\n  $ delta backups --json | jq ".backups[-1].id"')
    .action(action('backups'));
  command('restore')
    .description('restore a backup: checksums checked first, non-empty collections refused without --drop; audited')
    .argument('<backup>', 'a backup id (see delta backups) or the path of a backup folder')
    .addHelpText('after', '\nExamples:\n  $ delta restore 20240501T101500123Z_1a2b3c4d_001_users\n  $ delta restore <id> --collections users --drop\n  $ delta restore <id> --to-db app_copy')
    .action(action('restore'));
  command('import')
    .description('adopt a migrate-mongo project: copy its changelog into delta history and write delta.config.mjs')
    .addArgument(new Argument('<tool>', 'the tool the project uses').choices(['migrate-mongo']))
    .addHelpText(
      'after',
      "\n--config names migrate-mongo's configuration file here (default ./migrate-mongo-config.js); --uri, --db, --path\n" +
        'and the DELTA_* variables win over its settings. The changelog collection is only read.\n' +
        '\nExamples:\n  $ delta import migrate-mongo --dry-run\n  $ delta import migrate-mongo --config config/migrate-mongo-config.js\n  $ delta import migrate-mongo && delta status',
    )
    .action(action('import'));

  command('rehearse')
    .description('prove the pending changes roll back: commit, roll back and commit again in a scratch copy of the target')
    .addHelpText(
      'after',
      '\nThe target is only read. Exit 0: every rollback restored the copy and the second commit matched the first;\n4: a difference (named by change and collection); 1: a change failed.\n' +
        '\nExamples:\n  $ delta rehearse\n  $ delta rehearse --in-sandbox --sample 200\n  $ delta rehearse --scratch-db app_rehearsal --keep --json',
    )
    .action(action('rehearse'));

  command('sandbox')
    .description('run an in-memory MongoDB-compatible server in the foreground (for trying delta)')
    .addHelpText('after', '\nExample:\n  $ delta sandbox --port 27017 &\n  $ delta commit --uri "mongodb://127.0.0.1:27017/app?replicaSet=rs0"')
    .action(action('sandbox'));

  return program;
}

/** commander's values (by attribute: `lockWait`) under the table's value names (`lockWaitMs`). */
function valuesByKey(values: Readonly<Record<string, unknown>>, entries: readonly OptionEntry[]): Record<string, unknown> {
  const byKey: Record<string, unknown> = {};
  for (const entry of entries) {
    const value = values[new Option(entry.flags).attributeName()];
    if (value !== undefined) byKey[entry.key] = value;
  }
  return byKey;
}

/** The commander Option of a table entry, as `command` words it; its parser's complaint becomes commander's. */
function commanderOption(entry: OptionEntry, command?: CommandName): Option {
  const option = new Option(entry.flags, helpOf(entry, command));
  const { parse } = entry;
  if (parse !== undefined) {
    option.argParser((text: string) => {
      try {
        return parse(text);
      } catch (error) {
        throw error instanceof OptionValueError ? new InvalidArgumentError(error.message) : error;
      }
    });
  }
  if (entry.repeatable === true) option.argParser((text: string, previous: unknown) => [...(Array.isArray(previous) ? previous : []), text]);
  if (entry.choices !== undefined) option.choices(entry.choices);
  if (entry.defaultValue !== undefined) option.default(entry.defaultValue);
  if (entry.hidden === true) option.hideHelp();
  if (command !== undefined && entry.requiredBy?.includes(command) === true) option.makeOptionMandatory();
  return option;
}
