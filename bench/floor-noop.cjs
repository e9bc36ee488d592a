// The floor of "nothing to do": the least any migration tool written in Node must do to learn
// that every file in a folder is applied. Loads the driver (the same copy both tools use),
// connects, reads the changelog with one query, lists the folder, compares names, prints one
// line, closes. No configuration, no CLI framework, no checksums, no lock. A measuring aid of the
// bench (bench/applied-scenarios.ts), not a tool: CommonJS, since require is Node's cheapest way
// to load the driver.
//
//   node bench/floor-noop.cjs <uri> <database> <collection> <folder>
'use strict';
/* eslint-disable @typescript-eslint/no-require-imports -- a CommonJS script on purpose (above) */
const { readdirSync } = require('node:fs');
const { MongoClient } = require('mongodb');

async function main() {
  const [uri, database, collection, folder] = process.argv.slice(2);
  if (folder === undefined) throw new Error('usage: node bench/floor-noop.cjs <uri> <database> <collection> <folder>');
  const client = new MongoClient(uri);
  try {
    await client.connect();
    const applied = new Set(
      (
        await client
          .db(database)
          .collection(collection)
          .find({}, { projection: { fileName: 1 } })
          .toArray()
      ).map((doc) => doc.fileName),
    );
    const pending = readdirSync(folder).filter((name) => name.endsWith('.js') && !applied.has(name));
    process.stdout.write(pending.length === 0 ? `nothing to do: ${applied.size} applied\n` : `${pending.length} pending\n`);
  } finally {
    await client.close();
  }
}

main().catch((error) => {
  process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
  process.exitCode = 1;
});
