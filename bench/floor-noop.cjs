// The floor of "nothing to do" and of "status": the least any migration tool written in Node
// must do to learn which files of a folder are applied. Loads the driver (the same copy both
// tools use), connects, reads every history document with one query (the fields asked for: the
// first is the file name; batches of 1,000, raw documents decoded by the driver's bson: the
// leanest way through its cursor), lists the folder, compares names, prints one line, closes. No
// configuration, no CLI framework, no lock, and no checksums unless a sixth argument names the
// field that holds each file's sha256: then it also reads and hashes every file and counts one
// whose hash differs as not applied, the least `status` must do to show an edited file as
// `modified` (delta's records keep that hash in `checksum`). A measuring aid of the bench
// (bench/applied-scenarios.ts, bench/compare.ts, bench/race-scenarios.ts), not a tool:
// CommonJS, since require is Node's cheapest way to load the driver.
//
//   node bench/floor-noop.cjs <uri> <database> <collection> <field>[,<field>...] <folder> [<checksum field>]
'use strict';
/* eslint-disable @typescript-eslint/no-require-imports -- a CommonJS script on purpose (above) */
const { hash } = require('node:crypto');
const { readFileSync, readdirSync } = require('node:fs');
const { join } = require('node:path');
const { BSON, MongoClient } = require('mongodb');

async function main() {
  const [uri, database, collection, fields, folder, checksumField] = process.argv.slice(2);
  if (folder === undefined) throw new Error('usage: node bench/floor-noop.cjs <uri> <database> <collection> <field>[,<field>...] <folder> [<checksum field>]');
  const projected = [...fields.split(','), ...(checksumField === undefined ? [] : [checksumField])];
  const field = projected[0];
  const client = new MongoClient(uri);
  try {
    await client.connect();
    const applied = new Map();
    const cursor = client
      .db(database)
      .collection(collection)
      .find({}, { projection: Object.fromEntries(projected.map((name) => [name, 1])), batchSize: 1000, raw: true });
    // Every decoded document is kept, as a tool keeps what it shows.
    const documents = [];
    for await (const bytes of cursor) documents.push(BSON.deserialize(bytes));
    for (const doc of documents) applied.set(doc[field], doc);
    const unchanged = (name) => checksumField === undefined || hash('sha256', readFileSync(join(folder, name)), 'hex') === applied.get(name)[checksumField];
    const pending = readdirSync(folder).filter((name) => name.endsWith('.js') && !(applied.has(name) && unchanged(name)));
    process.stdout.write(pending.length === 0 ? `nothing to do: ${applied.size} applied\n` : `${pending.length} pending\n`);
  } finally {
    await client.close();
  }
}

main().catch((error) => {
  process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
  process.exitCode = 1;
});
