import { Argument, Command, Option } from 'commander';
import { toolVersion } from '../version.js';
import { AUDIT_ACTIONS } from '../tracker/records.js';
import { TRANSACTION_MODES } from '../vocabulary/index.js';
import { LOG_FORMATS, parseDuration, parseIsoTime, parseMilliseconds, parseNameList, parsePort, parseTagList, parsePositiveInteger } from './options.js';

/** Options every command accepts. */
export interface GlobalOptions {
  readonly config?: string;
  readonly uri?: string;
  readonly db?: string;
  readonly path?: string;
  readonly trackerUri?: string;
  readonly trackerDb?: string;
  readonly json?: boolean;
  readonly logFormat?: 'human' | 'json' | 'both';
  readonly color?: boolean;
  readonly verbose?: boolean;
}

/** Runs a command module's handler; `program.ts` never imports the modules themselves. */
export type Dispatch = (command: CommandName, args: readonly unknown[], options: Record<string, unknown>) => Promise<void>;

export type CommandName =
  | 'commit'
  | 'rollback'
  | 'status'
  | 'validate'
  | 'repair'
  | 'baseline'
  | 'history'
  | 'unlock'
  | 'create'
  | 'init'
  | 'backup'
  | 'backups'
  | 'restore'
  | 'import'
  | 'sandbox';

const EXAMPLES = `
Examples:
  $ delta init                                     write a commented delta.config.ts
  $ delta create add_users_email_index             new change file in ./migrations
  $ delta commit --path ./migrations               apply every pending change
  $ delta rollback --to 20240101120000_users       undo to a version
  $ delta status                                   what is applied, pending, failed, modified
  $ delta sandbox --port 27017                     an in-memory MongoDB to try delta on

Exit codes: 0 ok, 1 change or database failed, 2 bad input, 3 lock held, 4 validation failed, 130 interrupted.
Docs: README.md`;

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
  program
    .description('Versioned, tracked, locked and reversible changes for MongoDB.')
    .version(toolVersion(), '-V, --version', 'print the version')
    .helpOption('-h, --help', 'show help')
    .option('-c, --config <file>', 'configuration file (default: delta.config.* / .deltarc* / package.json#delta in the current folder)')
    .option('--uri <uri>', 'MongoDB connection string of the target (env DELTA_URI or MONGODB_URI)')
    .option('--db <name>', 'target database (env DELTA_DB; default: the database in the URI)')
    .option('-p, --path <dir>', 'folder of change files (env DELTA_PATH; default ./migrations)')
    .option('--tracker-uri <uri>', 'keep history on another deployment (env MIGRATIONS_DB_URI)')
    .option('--tracker-db <name>', 'keep history in another database (env DELTA_TRACKER_DB)')
    .option('--env <name>', 'the environment this run is for: changes with environments run only where it is one of them (env DELTA_ENV)')
    .option('--json', 'print one JSON document on stdout (diagnostics go to stderr)')
    .addOption(new Option('--log-format <format>', 'human: the human view; json: JSON event lines on stderr instead; both: the two together').choices(LOG_FORMATS).default('human'))
    .option('--no-color', 'no colours or spinners (also NO_COLOR=1 or CI=true)')
    .option('--verbose', 'show stack traces of unexpected errors (also DEBUG=delta)')
    .showSuggestionAfterError(true)
    .configureHelp({ showGlobalOptions: true, sortSubcommands: false })
    .addHelpText('after', EXAMPLES);

  const action = (name: CommandName) =>
    async function (this: Command, ...args: unknown[]) {
      // commander passes positional arguments, then the options object, then the command.
      const positional = args.slice(0, -2);
      await dispatch(name, positional, this.optsWithGlobals());
    };

  const lockWait = () => new Option('--lock-wait <duration>', 'wait this long for a held lock (30, 30s, 500ms; 0 = fail at once)').argParser(parseDuration);
  const lockLease = () => new Option('--lock-lease <duration>', 'lease of the lock, renewed every third of it (default 60s)').argParser(parseDuration).hideHelp();
  const backupDir = () => new Option('--backup-dir <dir>', 'folder of backups (config backup.dir; default .delta/backups)');
  const targets = () => new Option('--targets <spec>', "run over many databases: names (a,b), a glob over listDatabases ('tenant_*'), or @file (one per line); config targets");
  const concurrency = () => new Option('--concurrency <n>', 'with --targets: targets run at once (default 4; config fleet.concurrency)').argParser(parsePositiveInteger);
  const failFast = () => new Option('--fail-fast', 'with --targets: start no new target once one failed (config fleet.failFast)');
  const collections = (what: string) => new Option('--collections <names>', `${what} (comma-separated)`).argParser(parseNameList);

  program
    .command('commit')
    .alias('up')
    .description('apply every pending change, in id order')
    .option('--to <id>', 'apply up to and including this change')
    .option('--only <id>', 'apply only this change')
    .option('--dry-run', 'print the plan; take no lock, write nothing')
    .addOption(new Option('--transaction <mode>', "transaction mode for changes that do not set one (default 'auto')").choices(TRANSACTION_MODES))
    .option('--no-auto-rollback', "do not call a failed non-transactional change's rollback")
    .option('--allow-drift', 'run although applied changes were modified or deleted')
    .option('--out-of-order', 'also apply pending changes older than the newest applied one')
    .option('--stage <name>', 'apply only the pending changes of this stage')
    .addOption(new Option('--tags <names>', 'apply only changes tagged with one of these (comma-separated)').argParser(parseTagList))
    .addOption(new Option('--timeout <ms>', 'default time limit per change').argParser(parseMilliseconds))
    .option('--backup', 'back up the whole target database before the first change (config backup.default)')
    .option('--no-backup', 'no whole-database backup even if backup.default is set (changes asking for one still get it)')
    .addOption(backupDir())
    .addOption(targets())
    .addOption(concurrency())
    .addOption(failFast())
    .addOption(lockWait())
    .addOption(lockLease())
    .addHelpText('after', '\nExamples:\n  $ delta commit --path ./migrations\n  $ delta commit --targets "tenant_*" --concurrency 8\n  $ delta commit --backup\n  $ delta commit --to 20240301090000_orders --dry-run\n  $ delta commit --json > result.json')
    .action(action('commit'));

  program
    .command('rollback')
    .alias('down')
    .description('revert applied changes, newest first (default: the last one)')
    .option('--to <id>', 'undo to a version: revert everything applied after <id>, which stays applied')
    .addOption(new Option('--steps <n>', 'revert the last n changes').argParser(parsePositiveInteger))
    .option('--id <id>', 'revert one specific change')
    .addOption(new Option('--since <time>', 'revert everything applied at or after this ISO time').argParser(parseIsoTime))
    .option('--all', 'revert every applied change')
    .option('--dry-run', 'print the plan; take no lock, write nothing')
    .addOption(new Option('--transaction <mode>', 'transaction mode for changes that do not set one').choices(TRANSACTION_MODES))
    .option('--allow-drift', 'revert with a file modified since it was applied')
    .option('--stage <name>', 'revert only changes of this stage (the options above apply inside it)')
    .addOption(new Option('--timeout <ms>', 'default time limit per change').argParser(parseMilliseconds))
    .addOption(targets())
    .addOption(concurrency())
    .addOption(failFast())
    .addOption(lockWait())
    .addOption(lockLease())
    .addHelpText('after', '\nExamples:\n  $ delta rollback\n  $ delta rollback --to 20240101120000_users\n  $ delta rollback --steps 3 --dry-run')
    .action(action('rollback'));

  program
    .command('status')
    .description('show every change: applied, pending, failed, rolled back, running, modified, missing, out of order')
    .option('--check', 'exit 4 when anything is pending, failed, running, modified or missing (CI gate)')
    .addOption(new Option('--tags <names>', 'show changes tagged with one of these as they would run (comma-separated)').argParser(parseTagList))
    .option('--long', 'also show author, tags and environments')
    .addOption(targets())
    .addOption(concurrency())
    .addHelpText('after', '\nExamples:\n  $ delta status\n  $ delta status --targets "tenant_*" --json | jq .summary\n  $ delta status --json | jq .summary\n  $ delta status --check || echo "database is behind"')
    .action(action('status'));

  program
    .command('validate')
    .description('compare change files with history without the lock; exit 4 when anything is wrong')
    .addHelpText('after', '\nExamples:\n  $ delta validate\n  $ delta validate --json | jq .problems')
    .action(action('validate'));
  program
    .command('repair')
    .description('after a hand fix: re-record checksums of edited files, mark interrupted changes failed')
    .option('--remove-interrupted', 'remove records of interrupted (running) changes instead of marking them failed')
    .option('--remove-missing', 'remove the history of changes whose file is gone')
    .option('--dry-run', 'print the plan; take no lock, write nothing')
    .addOption(lockWait())
    .addOption(lockLease())
    .addHelpText('after', '\nExamples:\n  $ delta repair --dry-run\n  $ delta repair --remove-missing')
    .action(action('repair'));
  program
    .command('baseline')
    .description('mark every change up to <id> as applied without running it (a database that already has them)')
    .requiredOption('--to <id>', 'last change to mark applied')
    .option('--force', 'also mark changes recorded failed, running or rolled back')
    .option('--dry-run', 'print the plan; take no lock, write nothing')
    .addOption(lockWait())
    .addOption(lockLease())
    .addHelpText('after', '\nExamples:\n  $ delta baseline --to 20240105130000_orders --dry-run\n  $ delta baseline --to 20240105130000_orders')
    .action(action('baseline'));
  program
    .command('history')
    .description('the audit log, newest first')
    .option('--id <id>', 'events of one change')
    .addOption(new Option('--since <time>', 'events at or after this ISO time').argParser(parseIsoTime))
    .addOption(new Option('--action <action>', 'events of one kind').choices(AUDIT_ACTIONS))
    .addOption(new Option('--limit <n>', 'at most n events (default 50)').argParser(parsePositiveInteger))
    .option('--long', 'also show author, tags and environments')
    .addHelpText('after', '\nExamples:\n  $ delta history --limit 20\n  $ delta history --id 20240101120000_users --json')
    .action(action('history'));
  program
    .command('unlock')
    .description('show who holds the lock and remove it (a fresh lease only with --force)')
    .option('--force', 'remove a lock whose lease is still fresh (its run may still be alive)')
    .addHelpText('after', '\nExamples:\n  $ delta unlock\n  $ delta unlock --force   # its holder is known to be dead')
    .action(action('unlock'));

  program
    .command('create')
    .description('write a new change file named <UTC timestamp>_<name>')
    .argument('<name>', 'what the change does, e.g. add_users_email_index')
    .option('--js', 'write JavaScript instead of TypeScript')
    .option('--yaml', 'write a declarative YAML template')
    .addHelpText('after', '\nExamples:\n  $ delta create add_users_email_index\n  $ delta create backfill_status --js --path ./db/changes\n  $ delta create orders_collection --yaml')
    .action(action('create'));

  program
    .command('init')
    .description('write a commented delta.config.ts in the current folder')
    .addHelpText('after', '\nExample:\n  $ delta init && delta create first_change')
    .action(action('init'));

  program
    .command('backup')
    .description('back up the target database now (documents, indexes, options), under the lock; audited')
    .addOption(collections('only these collections'))
    .addOption(backupDir())
    .addOption(lockWait())
    .addOption(lockLease())
    .addHelpText('after', '\nExamples:\n  $ delta backup\n  $ delta backup --collections users,orders --backup-dir /var/backups/delta')
    .action(action('backup'));
  program
    .command('backups')
    .description('list the backups in the backup folder, oldest first')
    .addOption(backupDir())
    .addHelpText('after', '\nExamples:\n  $ delta backups\n  $ delta backups --json | jq ".backups[-1].id"')
    .action(action('backups'));
  program
    .command('restore')
    .description('restore a backup: checksums checked first, non-empty collections refused without --drop; audited')
    .argument('<backup>', 'a backup id (see delta backups) or the path of a backup folder')
    .addOption(collections('restore only these collections of the backup'))
    .option('--to-db <name>', 'restore into this database instead of the target database')
    .option('--drop', 'replace collections that hold documents (dropped first)')
    .addOption(backupDir())
    .addOption(lockWait())
    .addOption(lockLease())
    .addHelpText('after', '\nExamples:\n  $ delta restore 20240501T101500123Z_1a2b3c4d_001_users\n  $ delta restore <id> --collections users --drop\n  $ delta restore <id> --to-db app_copy')
    .action(action('restore'));
  program
    .command('import')
    .description('adopt a migrate-mongo project: copy its changelog into delta history and write delta.config.mjs')
    .addArgument(new Argument('<tool>', 'the tool the project uses').choices(['migrate-mongo']))
    .option('--dry-run', 'print the records and the configuration file it would write; take no lock, write nothing')
    .option('--force', 'overwrite delta history of the imported changes, and an existing delta.config.mjs')
    .option('--skip-missing', 'leave out changelog entries whose file is gone (without it the import refuses)')
    .addOption(lockWait())
    .addOption(lockLease())
    .addHelpText(
      'after',
      "\n--config names migrate-mongo's configuration file here (default ./migrate-mongo-config.js); --uri, --db, --path\n" +
        'and the DELTA_* variables win over its settings. The changelog collection is only read.\n' +
        '\nExamples:\n  $ delta import migrate-mongo --dry-run\n  $ delta import migrate-mongo --config config/migrate-mongo-config.js\n  $ delta import migrate-mongo && delta status',
    )
    .action(action('import'));

  program
    .command('sandbox')
    .description('run an in-memory MongoDB-compatible server in the foreground (for trying delta)')
    .addOption(new Option('--port <port>', 'port to listen on (0 = any free port)').argParser(parsePort).default(27017))
    .option('--data <file>', 'load from this file on start and save to it on exit')
    .addHelpText('after', '\nExample:\n  $ delta sandbox --port 27017 &\n  $ delta commit --uri "mongodb://127.0.0.1:27017/app?replicaSet=rs0"')
    .action(action('sandbox'));

  return program;
}
