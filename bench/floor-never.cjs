// The floor of `commit --transaction never`: the least a tool can do to apply a folder of changes
// without transactions the way DESIGN.md section 4 asks (a crash must show which change was
// running, so a change's record says `running` before it runs and `applied` after). Loads the
// driver, connects, reads the history with one query, imports every pending change file at once
// (ES modules, as delta's bench files are), marks the first `running`, then for each change runs
// its `commit` and writes ONE command: its record `applied`, its audit event and the next change's
// `running` marker (a client-level bulkWrite on MongoDB 8.0+, as delta does; before 8.0 one
// `update` with the event kept in the record). Records carry only `status`, `file` and `at`; no
// configuration, no CLI, no checksums, no lock, no timeout, no events, no output per change.
// A measuring aid of the bench (bench/compare.ts), not a tool.
//
//   node bench/floor-never.cjs <uri> <database> <folder>
'use strict';
/* eslint-disable @typescript-eslint/no-require-imports -- a CommonJS script, like bench/floor-noop.cjs */
const { readdirSync } = require('node:fs');
const { resolve } = require('node:path');
const { pathToFileURL } = require('node:url');
const { MongoClient } = require('mongodb');

async function main() {
  const [uri, database, folder] = process.argv.slice(2);
  if (folder === undefined) throw new Error('usage: node bench/floor-never.cjs <uri> <database> <folder>');
  const client = new MongoClient(uri);
  // The server's version from the driver's own monitoring, as delta learns it (no round trip).
  let maxWireVersion = 0;
  client.on('serverDescriptionChanged', (event) => {
    if (event.newDescription.type !== 'Unknown') maxWireVersion = Math.max(maxWireVersion, event.newDescription.maxWireVersion);
  });
  try {
    await client.connect();
    const db = client.db(database);
    const records = db.collection('delta_migrations');
    const audit = db.collection('delta_audit');
    const applied = new Set();
    for await (const doc of records.find({ status: 'applied' }, { projection: { _id: 1 }, batchSize: 1000 })) applied.add(doc._id);
    const pending = readdirSync(folder)
      .filter((name) => name.endsWith('.js') && !applied.has(name))
      .sort();
    const modules = await Promise.all(pending.map((name) => import(pathToFileURL(resolve(folder, name)).href)));
    const clientBulkWrite = maxWireVersion >= 25;
    const marker = (name) => ({ filter: { _id: name }, update: { $set: { status: 'running', file: name, at: new Date() } }, upsert: true });
    if (pending.length > 0) await records.updateOne(marker(pending[0]).filter, marker(pending[0]).update, { upsert: true });
    for (let i = 0; i < pending.length; i++) {
      const name = pending[i];
      await modules[i].default.commit({ db, session: undefined });
      const record = { filter: { _id: name }, update: { $set: { status: 'applied', file: name, at: new Date() } }, upsert: true };
      const event = { changeId: name, action: 'commit', outcome: 'success', at: new Date() };
      const next = pending[i + 1];
      if (clientBulkWrite) {
        const models = [
          { namespace: records.namespace, name: 'updateOne', ...record },
          { namespace: audit.namespace, name: 'insertOne', document: event },
        ];
        if (next !== undefined) models.push({ namespace: records.namespace, name: 'updateOne', ...marker(next) });
        await client.bulkWrite(models, { ordered: true });
      } else {
        const statements = [{ updateOne: { ...record, update: { ...record.update, $push: { kept: event } } } }];
        if (next !== undefined) statements.push({ updateOne: marker(next) });
        await records.bulkWrite(statements, { ordered: true });
      }
    }
    process.stdout.write(`applied ${pending.length}\n`);
  } finally {
    await client.close();
  }
}

main().catch((error) => {
  process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
  process.exitCode = 1;
});
