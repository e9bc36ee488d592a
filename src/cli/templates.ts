/** File templates written by `delta init` and `delta create`. */

export const CONFIG_TEMPLATE = `// A type-only import: erased when delta loads this file, so it runs through npx or a global
// install without mongo-delta in this project (your editor needs it installed for the types).
import type { DeltaConfigInput } from 'mongo-delta';

// delta configuration. Precedence: command-line flags > environment > this file > defaults.
export default {
  // Target deployment, and the database in its path (/app). Prefer the environment
  // for real deployments and secrets: DELTA_URI (or MONGODB_URI) replaces this uri,
  // database included (mongodb://host/prod_db targets prod_db); --db or DELTA_DB
  // names a database over any URI's.
  uri: 'mongodb://127.0.0.1:27017/app?replicaSet=rs0',
  // Or name the database apart from the URI: this wins over the path of the uri
  // above, not over a database named by --uri, DELTA_URI or MONGODB_URI.
  // db: 'app',

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
} satisfies DeltaConfigInput;
`;

export function typeScriptChange(id: string): string {
  return `import type { ChangeDefinition } from 'mongo-delta';

export default {
  description: '${id.replace(/^\d+_/, '').replace(/_/g, ' ')}',
  // transaction: 'auto', // 'auto' | 'always' | 'never'
  // timeoutMs: 60_000,

  async commit({ db, session }) {
    // In a transaction, every operation through db joins it (passing { session } is optional).
    // await db.collection('users').updateMany({ status: { $exists: false } }, { $set: { status: 'active' } }, { session });
  },

  async rollback({ db, session }) {
    // Undo exactly what commit did.
    // await db.collection('users').updateMany({}, { $unset: { status: '' } }, { session });
  },
} satisfies ChangeDefinition;
`;
}

export function javaScriptChange(id: string, esm: boolean): string {
  const body = `{
  description: '${id.replace(/^\d+_/, '').replace(/_/g, ' ')}',
  // transaction: 'auto', // 'auto' | 'always' | 'never'

  /** @param {import('mongo-delta').ChangeContext} context */
  async commit({ db, session }) {
    // In a transaction, every operation through db joins it (passing { session } is optional).
  },

  /** @param {import('mongo-delta').ChangeContext} context */
  async rollback({ db, session }) {
    // Undo exactly what commit did.
  },
}`;
  return esm ? `export default ${body};\n` : `module.exports = ${body};\n`;
}

/** A declarative change: valid as written (it does nothing until an operation is uncommented). */
export function yamlChange(id: string): string {
  return `# A declarative change (see "Declarative changes (YAML/JSON)" in the mongo-delta README).
# Its id is the file name without .yaml unless you set one:
# id: ${id}
description: ${JSON.stringify(id.replace(/^\d+_/, '').replace(/_/g, ' '))}
# transaction: never   # default: 'never' when an operation below cannot run in a transaction
#                      # (collection and index changes, runCommand), else the run's mode
# timeoutMs: 60000

# Operations run in order. Values may use Extended JSON:
# { $oid: "65f0c0ffee0000000000cafe" }, { $date: "2024-01-01T00:00:00Z" }, { $numberDecimal: "9.99" }.
commit:
  # - createCollection: { name: orders, validator: { $jsonSchema: { bsonType: object, required: [customerId] } } }
  # - createIndex: { collection: orders, keys: { customerId: 1, at: -1 }, options: { name: by_customer } }
  # - insertMany: { collection: plans, documents: [ { _id: free, price: { $numberDecimal: "0" } } ] }
  # - updateMany: { collection: users, filter: { status: { $exists: false } }, update: { $set: { status: active } } }
  # - updateOne, deleteMany, dropIndex, dropCollection, renameCollection, collMod, runCommand,
  #   or an operation registered under operations in delta.config.ts

# Leave rollback out to have it derived when every commit operation has a certain
# inverse (createCollection, createIndex, renameCollection); otherwise write it here,
# or the change cannot be rolled back.
# rollback:
#   - updateMany: { collection: users, filter: {}, update: { $unset: { status: "" } } }
`;
}
