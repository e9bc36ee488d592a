import { readFile } from 'node:fs/promises';
import type { MongoshScript } from './mongosh-shell.js';
import { matchPair, pairedChange } from './paired-change.js';
import type { ChangeFormat, ChangeFunction } from '../../vocabulary/index.js';

/**
 * mongosh scripts: `<id>.commit.mongosh.js` and `<id>.rollback.mongosh.js`,
 * written in mongosh's syntax (`db.users.createIndex(...)`, `print`, `sleep`)
 * and evaluated in-process with `@mongosh/shell-api` (optional peer
 * packages, loaded only when a folder has such a file) over delta's own
 * connection. Unlike a shell change, the script's operations join the
 * change's session, so it runs in the change's transaction when the mode
 * allows; `// delta:transaction=never` at the top of the commit file opts out.
 */
export const mongoshFormat: ChangeFormat = {
  name: 'mongosh',
  paired: true,
  match: (fileName) => matchPair(fileName, '\\.mongosh\\.js'),
  async load(file) {
    // Loaded on first use: a folder without mongosh scripts never loads the shell (nor Babel).
    const { loadMongoshShell, prepareScript, runScript, transactionDirective } = await import('./mongosh-shell.js');
    const shell = loadMongoshShell(file.file);
    const commitSource = await readFile(file.absolutePath, 'utf8');
    const transaction = transactionDirective(commitSource, file.file);
    // Both files are checked now, so a syntax error in either stops the run before anything runs.
    const commitScript = prepareScript(shell, commitSource, file.file);
    const rollbackFile = file.rollbackFile;
    const rollbackScript = rollbackFile === undefined ? undefined : prepareScript(shell, await readFile(rollbackFile.absolutePath, 'utf8'), rollbackFile.file);
    const run =
      (script: MongoshScript): ChangeFunction =>
      (context) =>
        runScript(shell, script, context);
    // The file's // delta:transaction=..., else (undefined) the stage's or the run's mode, as for code changes.
    return pairedChange(file, { runner: 'mongosh', transaction, commit: run(commitScript), rollback: rollbackScript === undefined ? undefined : run(rollbackScript) });
  },
};
