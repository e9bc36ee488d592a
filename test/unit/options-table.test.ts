// The option table is the one declaration of delta's options: what commander parses, what a
// command receives, what reaches the configuration and what messages call it all come from it.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { buildProgram } from '../../src/cli/program.js';
import type { CommandName, OptionEntry } from '../../src/config/options-table.js';
import { GLOBAL_OPTIONS, OPTIONS, SETTINGS, configFlagsOf, flagName, helpOf, optionsOf } from '../../src/config/options-table.js';
import { resolveConfig } from '../../src/config/resolve-config.js';
import { ConfigError } from '../../src/errors.js';

/** Parses a command line as `delta` would and returns what the command's module receives. */
async function parse(argv: readonly string[]): Promise<{ command: CommandName; options: Record<string, unknown> }> {
  let received: { command: CommandName; options: Record<string, unknown> } | undefined;
  const program = buildProgram(
    async (command, _args, options) => {
      received = { command, options };
    },
    { writeOut: () => undefined, writeErr: () => undefined },
  );
  await program.parseAsync([...argv], { from: 'user' });
  assert.ok(received !== undefined, `no command ran for ${argv.join(' ')}`);
  return received;
}

describe('the option table', () => {
  it("every command has exactly the table's options, in its order, and each global one", () => {
    const program = buildProgram(async () => undefined, { writeOut: () => undefined, writeErr: () => undefined });
    assert.deepEqual(
      program.options.map((option) => option.flags).filter((flags) => flags !== '-V, --version'),
      GLOBAL_OPTIONS.map((entry) => entry.flags),
    );
    for (const command of program.commands) {
      const name = command.name() as CommandName;
      assert.deepEqual(
        command.options.map((option) => option.flags),
        optionsOf(name).map((entry) => entry.flags),
        name,
      );
    }
  });

  it("hands a command its values under the table's names, parsed by the table's parsers", async () => {
    const { command, options } = await parse(['commit', '--lock-wait', '5s', '--timeout', '2m', '--no-auto-rollback', '--transaction', 'never', '--tags', 'a,b', '--db', 'app', '--no-backup']);
    assert.equal(command, 'commit');
    assert.deepEqual(
      {
        lockWaitMs: options.lockWaitMs,
        timeoutMs: options.timeoutMs,
        autoRollback: options.autoRollback,
        transaction: options.transaction,
        tags: options.tags,
        db: options.db,
        backup: options.backup,
      },
      { lockWaitMs: 5000, timeoutMs: 120_000, autoRollback: false, transaction: 'never', tags: ['a', 'b'], db: 'app', backup: false },
    );
    assert.equal((await parse(['sandbox'])).options.port, 27017, 'a default reaches the command');
    assert.equal((await parse(['baseline', '--to', '001_a'])).options.to, '001_a');
  });

  it('gives the configuration only the settings given (a --no- switch only when used) and the file', async () => {
    assert.deepEqual(configFlagsOf((await parse(['status'])).options), {});
    assert.deepEqual(
      configFlagsOf((await parse(['commit', '-c', 'd.json', '--lock-wait', '1', '--lock-lease', '2s', '--tracker-db', 'ops', '--no-auto-rollback', '--backup-dir', 'b', '--dry-run'])).options),
      {
        config: 'd.json',
        lockWaitMs: 1000,
        lockLeaseMs: 2000,
        trackerDb: 'ops',
        autoRollback: false,
        backupDir: 'b',
      },
    );
  });

  it('names a bad flag or variable after the table: the flag, or the variable that was set', async () => {
    const refused = async (options: Parameters<typeof resolveConfig>[0], message: string) =>
      assert.rejects(resolveConfig({ env: {}, ...options }), (error: unknown) => error instanceof ConfigError && error.message === message);
    await refused({ flags: { lockWaitMs: -1 } }, '--lock-wait must be at least 0');
    await refused({ flags: { connectTimeoutMs: 0 } }, '--connect-timeout must be greater than 0');
    await refused({ flags: { autoRollback: 'no' as unknown as boolean } }, '--no-auto-rollback must be a boolean');
    await refused({ env: { MONGODB_URI: 'redis://x' } }, 'MONGODB_URI must be a mongodb:// or mongodb+srv:// connection string');
    await refused({ env: { DELTA_URI: 'mysql://x', MONGODB_URI: 'mongodb://h/a' } }, 'DELTA_URI must be a mongodb:// or mongodb+srv:// connection string');
    await refused({ env: { DELTA_TRACKER_DB: 'a b' } }, 'DELTA_TRACKER_DB must be a database name without /\\. "$*<>:|? or spaces');
  });

  it('each setting has one configuration key, and its help names the variables that set it', () => {
    const keys = SETTINGS.map((entry) => entry.setting);
    assert.equal(new Set(keys).size, keys.length);
    for (const entry of OPTIONS as readonly OptionEntry[]) {
      for (const variable of entry.env ?? []) assert.ok(helpOf(entry).includes(variable), `${flagName(entry)} help names ${variable}`);
    }
    assert.equal(helpOf(GLOBAL_OPTIONS[2] ?? OPTIONS[0]), 'target database (env DELTA_DB; default: the database in the URI)');
  });
});
