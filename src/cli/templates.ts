/** File templates written by `delta init` and `delta create`. */

export const CONFIG_TEMPLATE = `import { defineConfig } from 'mongo-delta';

// delta configuration. Precedence: command-line flags > environment > this file > defaults.
export default defineConfig({
  // Target deployment and database. Prefer the environment for secrets:
  // DELTA_URI (or MONGODB_URI) and DELTA_DB override these.
  uri: process.env.DELTA_URI ?? 'mongodb://127.0.0.1:27017/?replicaSet=rs0',
  db: 'app',

  // Folder of change files, relative to this file (--path, DELTA_PATH).
  path: './migrations',

  // Where history is kept. Leave out for the target database itself ("internal"
  // mode); set a uri and/or db to keep it elsewhere (--tracker-uri, --tracker-db).
  // tracker: { db: 'delta_tracking', collections: { migrations: 'delta_migrations', audit: 'delta_audit', lock: 'delta_lock' } },

  // 'auto': a transaction per change on replica sets and sharded clusters,
  // none on a standalone server. 'always' refuses to run without one; 'never' never uses one.
  transaction: 'auto',

  // Call a change's rollback when its commit fails outside a transaction.
  autoRollback: true,

  // Distributed lock: how long to wait for another runner, and the lease renewed while running.
  lock: { waitMs: 30_000, leaseMs: 60_000 },

  // How long to wait for the server before giving up.
  connectTimeoutMs: 10_000,
});
`;

export function typeScriptChange(id: string): string {
  return `import { defineMigration } from 'mongo-delta';

export default defineMigration({
  description: '${id.replace(/^\d+_/, '').replace(/_/g, ' ')}',
  // transaction: 'auto', // 'auto' | 'always' | 'never'
  // timeoutMs: 60_000,

  async commit({ db, session }) {
    // Pass { session } to every operation so it joins the change's transaction.
    // await db.collection('users').updateMany({ status: { $exists: false } }, { $set: { status: 'active' } }, { session });
  },

  async rollback({ db, session }) {
    // Undo exactly what commit did.
    // await db.collection('users').updateMany({}, { $unset: { status: '' } }, { session });
  },
});
`;
}

export function javaScriptChange(id: string, esm: boolean): string {
  const body = `{
  description: '${id.replace(/^\d+_/, '').replace(/_/g, ' ')}',
  // transaction: 'auto', // 'auto' | 'always' | 'never'

  /** @param {import('mongo-delta').ChangeContext} context */
  async commit({ db, session }) {
    // Pass { session } to every operation so it joins the change's transaction.
  },

  /** @param {import('mongo-delta').ChangeContext} context */
  async rollback({ db, session }) {
    // Undo exactly what commit did.
  },
}`;
  return esm ? `export default ${body};\n` : `module.exports = ${body};\n`;
}
