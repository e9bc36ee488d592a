import { join } from 'node:path';
import { ROOT } from './cli.js';
import type { ChangeFolderOptions } from '../../src/loader/change-folder.js';
import { scanChangeFiles } from '../../src/loader/change-folder.js';
import { duplicateIdProblems, importChangeFiles, throwProblems } from '../../src/loader/file-loader.js';
import type { TemplateOptions } from '../../src/loader/templates/index.js';
import type { ChangeDefinition, ChangeUnit } from '../../src/vocabulary/index.js';

/** An in-memory change that inserts `{ _id: id }` into `effects` (in its session) and removes it on rollback. */
export function insertChange(id: string, extra: Partial<ChangeDefinition> = {}): ChangeDefinition {
  return {
    id,
    async commit({ db, session }) {
      await db.collection<{ _id: string }>('effects').insertOne({ _id: id }, { session });
    },
    async rollback({ db, session }) {
      await db.collection<{ _id: string }>('effects').deleteOne({ _id: id }, { session });
    },
    ...extra,
  };
}

/**
 * Source of a change file whose commit inserts `{ change: n, part: 'a' }` and `{ change: n, part: 'b' }`
 * in two commands, without fixed ids: half a change, or a change run twice, shows in the counts.
 */
export function twoPartChangeFile(n: number, options: { readonly transaction?: 'never' } = {}): string {
  return `export default {
  ${options.transaction === undefined ? '' : `transaction: '${options.transaction}',`}
  async commit({ db, session }) {
    await db.collection('effects').insertOne({ change: ${n}, part: 'a' }, { session });
    await db.collection('effects').insertOne({ change: ${n}, part: 'b' }, { session });
  },
  async rollback({ db, session }) { await db.collection('effects').deleteMany({ change: ${n} }, { session }); },
};
`;
}

/**
 * A shell-command change (`sh`) that applies `statement` with this checkout's driver through
 * DELTA_URI and DELTA_DB only, saying first which change it is and where.
 */
export function driverShellScript(statement: string): string {
  return `set -e
echo "change $DELTA_CHANGE_ID on $DELTA_DB"
node -e '
const { MongoClient } = require(${JSON.stringify(join(ROOT, 'node_modules', 'mongodb'))});
(async () => {
  const client = await MongoClient.connect(process.env.DELTA_URI);
  const db = client.db(process.env.DELTA_DB);
  try { ${statement} } finally { await client.close(); }
})().catch((error) => { console.error(error.message); process.exit(1); });
'
`;
}

/**
 * Loads a folder of change files the way a run does before it connects: scans and hashes them,
 * imports each with its format, and throws every file problem (duplicate ids included) at once.
 */
export async function loadChangeFolder(options: ChangeFolderOptions & TemplateOptions): Promise<ChangeUnit[]> {
  const units = await importChangeFiles((await scanChangeFiles(options)).files, options);
  throwProblems(duplicateIdProblems(units));
  return units;
}

/**
 * A fleet project's one change: inserts `{ _id: 'done' }` into `effects` (its rollback removes
 * it), and fails on the databases listed in the FAIL_DB environment variable.
 */
export const FLEET_CHANGE = {
  'package.json': JSON.stringify({ type: 'module' }),
  'migrations/001_mark.js': `export default {
  async commit({ db, session }) {
    if ((process.env.FAIL_DB ?? '').split(',').includes(db.databaseName)) throw new Error('tenant broke');
    await db.collection('effects').insertOne({ _id: 'done' }, { session });
  },
  async rollback({ db, session }) { await db.collection('effects').deleteOne({ _id: 'done' }, { session }); },
};
`,
};
