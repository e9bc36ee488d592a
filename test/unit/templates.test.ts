import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { Decimal128, ObjectId } from 'bson';
import { z } from 'zod';
import { resolveConfig } from '../../src/config/resolve-config.js';
import { ChangeFileError, ConfigError } from '../../src/errors.js';
import { checksumOf } from '../../src/loader/index.js';
import { loadChangeFolder } from '../helpers/changes.js';
import type { TemplateOptions } from '../../src/loader/templates/index.js';
import { parseTemplate } from '../../src/loader/templates/index.js';
import { yamlChange } from '../../src/cli/templates.js';
import { tempProject } from '../helpers/temp.js';
import type { ChangeContext } from '../../src/vocabulary/index.js';
import { defineOperation } from '../../src/vocabulary/index.js';

const projects: { cleanup(): void }[] = [];
after(() => projects.forEach((p) => p.cleanup()));

function folder(files: Record<string, string>): string {
  const project = tempProject(files);
  projects.push(project);
  return project.dir;
}

/** The labels of a template's commit and rollback steps, and its transaction mode. */
async function shape(text: string, options: TemplateOptions = {}) {
  const template = await parseTemplate(text, 'x.yaml', options);
  return {
    transaction: template.transaction,
    commit: template.commit.map((step) => step.label),
    rollback: template.rollback?.map((step) => step.label),
    derived: template.rollbackDerived,
  };
}

/** A context good enough for custom operations that touch no database. */
function fakeContext(): ChangeContext {
  return {
    db: undefined as never,
    client: undefined as never,
    session: undefined,
    log: () => undefined,
    signal: new AbortController().signal,
    services: {},
    batches: () => Promise.reject(new Error('no batches here')),
    runId: 'test-run',
  };
}

describe('templates: parsing', () => {
  it('loads .yaml, .yml and .json files with the file name as default id and the checksum of the file', async () => {
    const yaml = 'description: orders collection\ncommit:\n  - createCollection: { name: orders }\n';
    const json = '{ "id": "003_custom", "timeoutMs": 5000, "commit": [ { "insertMany": { "collection": "plans", "documents": [ { "_id": "free" } ] } } ] }\n';
    const dir = folder({ '001_orders.yaml': yaml, '002_users.yml': 'commit:\n  - dropIndex: { collection: users, name: email_1 }\n', '002_z.json': json });
    const changes = await loadChangeFolder({ path: dir });
    assert.deepEqual(
      changes.map((c) => [c.id, c.file, c.style, c.description, c.transaction, c.timeoutMs]),
      [
        ['001_orders', '001_orders.yaml', 'delta', 'orders collection', 'never', undefined],
        ['002_users', '002_users.yml', 'delta', undefined, 'never', undefined],
        ['003_custom', '002_z.json', 'delta', undefined, undefined, 5000],
      ],
    );
    assert.equal(changes[0]?.checksum, checksumOf(yaml));
    assert.equal(changes[2]?.checksum, checksumOf(readFileSync(join(dir, '002_z.json'))));
    assert.equal(typeof changes[0]?.rollback, 'function', 'createCollection gets a derived rollback');
    assert.equal(changes[1]?.rollback, undefined, 'dropIndex has no certain inverse');
    assert.equal(changes[2]?.rollback, undefined, 'insertMany has no certain inverse');
  });

  it('a CRLF copy of a template has the same checksum', async () => {
    const [unix] = await loadChangeFolder({ path: folder({ '001_a.yaml': 'commit:\n  - dropCollection: { name: a }\n' }) });
    const [windows] = await loadChangeFolder({ path: folder({ '001_a.yaml': 'commit:\r\n  - dropCollection: { name: a }\r\n' }) });
    assert.equal(unix?.checksum, windows?.checksum);
  });

  it('derives the rollback of createCollection, createIndex and renameCollection: inverses in reverse order', async () => {
    const template = await shape(`commit:
  - createCollection: { name: orders }
  - createIndex: { collection: orders, keys: { customerId: 1, at: -1 } }
  - createIndex: { collection: orders, keys: { sku: 1 }, options: { name: by_sku, unique: true } }
  - renameCollection: { from: orders, to: purchases }
`);
    assert.equal(template.derived, true);
    assert.deepEqual(template.rollback, [
      'rollback (derived from commit[3]) renameCollection purchases to orders',
      'rollback (derived from commit[2]) dropIndex orders.by_sku',
      'rollback (derived from commit[1]) dropIndex orders.customerId_1_at_-1',
      'rollback (derived from commit[0]) dropCollection orders',
    ]);
  });

  it('derives no rollback when one operation has no certain inverse, and never overrides a written one', async () => {
    assert.equal((await shape('commit:\n  - createCollection: { name: a }\n  - insertMany: { collection: a, documents: [ { x: 1 } ] }\n')).rollback, undefined);
    assert.equal((await shape('commit:\n  - renameCollection: { from: a, to: b, dropTarget: true }\n')).rollback, undefined, 'dropTarget loses the replaced collection');
    assert.equal((await shape('commit:\n  - dropCollection: { name: a }\n')).rollback, undefined);
    const written = await shape('commit:\n  - createCollection: { name: a }\nrollback:\n  - dropCollection: { name: a }\n  - dropCollection: { name: b }\n');
    assert.equal(written.derived, false);
    assert.deepEqual(written.rollback, ['rollback[0] dropCollection a', 'rollback[1] dropCollection b']);
    assert.deepEqual(
      (await shape('commit:\n  - updateMany: { collection: a, filter: {}, update: { $set: { x: 1 } } }\nrollback: []\n')).rollback,
      [],
      'an empty list is an explicit "nothing to undo"',
    );
  });

  it('an empty commit: (comments only) is an empty list; an empty rollback: is no rollback at all', async () => {
    const template = await shape('commit:\n  # - createIndex: ...\nrollback:\n  # nothing yet\n');
    assert.deepEqual(template.commit, []);
    assert.deepEqual(template.rollback, [], 'derived from an empty commit');
    const withData = await shape('commit:\n  - deleteMany: { collection: a, filter: {} }\nrollback:\n');
    assert.equal(withData.rollback, undefined, 'an empty rollback key must not silently undo nothing');
  });

  it("what a configuration allows: runCommand and server JavaScript on opt-in; delta's own collections (as configured) never", async () => {
    const runCommand = 'commit:\n  - runCommand: { command: { dropDatabase: 1 } }\n';
    assert.deepEqual((await shape(runCommand, { permissions: { allowRunCommand: true } })).commit, ['commit[0] runCommand dropDatabase']);
    const where = 'commit:\n  - deleteMany: { collection: users, filter: { $where: "this.a > 1" } }\n';
    assert.equal((await shape(where, { permissions: { allowServerJavaScript: true } })).commit.length, 1);
    await assert.rejects(
      shape('commit:\n  - runCommand: { command: { drop: delta_audit } }\n', { permissions: { allowRunCommand: true } }),
      /x\.yaml:2: commit\[0\]\.runCommand\.command\.drop: delta_audit is one of delta's own collections/,
    );
    const custom = { permissions: { ownCollections: ['history', 'history_audit', 'history_lock'] } };
    await assert.rejects(shape('commit:\n  - deleteMany: { collection: history_audit, filter: {} }\n', custom), /history_audit is one of delta's own collections/);
    assert.equal((await shape('commit:\n  - deleteMany: { collection: delta_audit, filter: {} }\n', custom)).commit.length, 1, 'with other tracker names, delta_audit is an ordinary collection');
  });

  it('transaction rule: DDL and runCommand default to never; data operations take the run mode', async () => {
    assert.equal(
      (await shape('commit:\n  - insertMany: { collection: a, documents: [ { x: 1 } ] }\n  - updateOne: { collection: a, filter: { x: 1 }, update: [ { $set: { y: 2 } } ] }\n')).transaction,
      undefined,
    );
    assert.equal((await shape('commit:\n  - deleteMany: { collection: a, filter: {} }\nrollback:\n  - dropCollection: { name: a }\n')).transaction, 'never', 'the rollback counts too');
    const allowed = { permissions: { allowRunCommand: true } };
    for (const op of ['createCollection: { name: a }', 'createIndex: { collection: a, keys: { x: 1 } }', 'collMod: { collection: a, validationLevel: off }', 'runCommand: { command: { ping: 1 } }']) {
      assert.equal((await shape(`commit:\n  - ${op}\n`, allowed)).transaction, 'never', op);
    }
    assert.equal(
      (await shape('transaction: always\ncommit:\n  - runCommand: { command: { insert: a, documents: [ { x: 1 } ] } }\n', allowed)).transaction,
      'always',
      'runCommand may be transactional when the file says so',
    );
    assert.equal((await shape('transaction: never\ncommit:\n  - insertMany: { collection: a, documents: [ { x: 1 } ] }\n')).transaction, 'never');
  });

  it('Extended JSON values reach operations decoded, freshly on every run', async () => {
    const seen: unknown[] = [];
    const operations = { capture: (_context: ChangeContext, args: unknown) => void seen.push(args) };
    const text = `commit:
  - capture: { _id: { $oid: "65f0c0ffee0000000000cafe" }, at: { $date: "2024-01-01T00:00:00Z" }, price: { $numberDecimal: "9.99" }, n: 3, big: { $numberLong: "42" } }
`;
    const template = await parseTemplate(text, 'x.yaml', { operations });
    assert.equal(template.transaction, undefined, 'custom operations are transactional unless they say otherwise');
    await template.commit[0]?.run(fakeContext());
    await template.commit[0]?.run(fakeContext());
    const [first, second] = seen as Record<string, unknown>[];
    assert.ok(first?._id instanceof ObjectId && first._id.toHexString() === '65f0c0ffee0000000000cafe');
    assert.ok(first.at instanceof Date && first.at.toISOString() === '2024-01-01T00:00:00.000Z');
    assert.ok(first.price instanceof Decimal128 && first.price.toString() === '9.99');
    assert.equal(first.n, 3);
    assert.equal(first.big, 42);
    assert.notEqual(first, second, 'each run gets its own objects');
  });

  it('a custom operation with a schema gets its parsed output; transactional: false makes the template never transactional', async () => {
    const seen: unknown[] = [];
    const seedPlans = defineOperation({
      args: z.object({ plans: z.array(z.object({ name: z.string(), price: z.number().default(0) })) }),
      run(_context, args) {
        seen.push(args.plans.map((plan) => `${plan.name}:${plan.price}`));
      },
    });
    const template = await parseTemplate('commit:\n  - seedPlans: { plans: [ { name: free }, { name: pro, price: 9 } ] }\n', 'x.yaml', { operations: { seedPlans } });
    await template.commit[0]?.run(fakeContext());
    assert.deepEqual(seen, [['free:0', 'pro:9']]);
    const ddl = { run: () => undefined, transactional: false };
    assert.equal((await shape('commit:\n  - shard: {}\n', { operations: { shard: ddl } })).transaction, 'never');
  });

  it('the README examples are valid templates', async () => {
    const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
    const section = readme.slice(readme.indexOf('## Declarative changes (YAML/JSON)'));
    const blocks = [...section.matchAll(/```yaml\n([\s\S]*?)```/g)].map((match) => match[1] ?? '');
    assert.ok(blocks.length >= 2);
    const orders = await shape(blocks[0] ?? '');
    assert.equal(orders.transaction, 'never');
    assert.deepEqual(
      orders.commit.map((label) => label.split(' ')[1]),
      ['createCollection', 'createIndex', 'insertMany', 'updateMany'],
    );
    assert.deepEqual(
      orders.rollback?.map((label) => label.split(' ')[1]),
      ['updateMany', 'deleteMany', 'dropCollection'],
    );
    const seed = await shape(blocks[1] ?? '', { operations: { seedPlans: () => undefined } });
    assert.equal(seed.transaction, undefined);
    const json = /The same in JSON is `([^`]+)`/.exec(section)?.[1]?.replace('"..."', '"orders"') ?? '';
    assert.deepEqual((await shape(json)).commit, ['commit[0] createCollection orders']);
  });

  it('delta create --yaml writes a valid template that does nothing until edited', async () => {
    const text = yamlChange('20240301120000_add_orders');
    assert.match(text, /^# /m);
    const template = await parseTemplate(text, '20240301120000_add_orders.yaml');
    assert.equal(template.description, 'add orders');
    assert.deepEqual(template.commit, []);
    // Uncommenting the example lines gives a working template.
    const uncommented = text.replace(/^ {2}# (- (createCollection|createIndex|insertMany|updateMany):)/gm, '  $1');
    const filled = await parseTemplate(uncommented, 'x.yaml');
    assert.deepEqual(
      filled.commit.map((step) => step.label.split(' ')[1]),
      ['createCollection', 'createIndex', 'insertMany', 'updateMany'],
    );
    assert.equal((await parseTemplate(yamlChange('20240301120000_true'), 'x.yaml')).description, 'true', 'a name YAML would read as a boolean stays a string');
  });
});

interface BadCase {
  readonly name: string;
  readonly text: string;
  /** Where the message must point: `file:line: path`. */
  readonly at: string;
  readonly expected: RegExp;
  readonly file?: string;
}

const BAD: readonly BadCase[] = [
  // delta's own collections, arbitrary commands and server-side JavaScript (issue #28 item 2)
  {
    name: "deleteMany on delta's audit log",
    text: 'commit:\n  - deleteMany: { collection: delta_audit, filter: {} }\n',
    at: '2: commit[0].deleteMany.collection',
    expected: /delta_audit is one of delta's own collections \(history, audit log, lock\): a template never writes it$/,
  },
  {
    name: 'updateMany forging history',
    text: 'commit:\n  - updateMany: { collection: delta_migrations, filter: {}, update: { $set: { status: applied } } }\n',
    at: '2: commit[0].updateMany.collection',
    expected: /delta_migrations is one of delta's own collections/,
  },
  {
    name: 'a rename onto the lock',
    text: 'commit:\n  - renameCollection: { from: staging, to: delta_lock, dropTarget: true }\n',
    at: '2: commit[0].renameCollection.to',
    expected: /delta_lock is one of delta's own collections/,
  },
  {
    name: 'runCommand without the opt-in',
    text: 'commit:\n  - runCommand: { command: { dropDatabase: 1 } }\n',
    at: '2: commit[0].runCommand',
    expected: /runCommand can run any command \(dropDatabase included\): it needs templates: \{ allowRunCommand: true \} in the configuration$/,
  },
  {
    name: '$where in a filter',
    text: 'commit:\n  - deleteMany: { collection: users, filter: { $where: "this.a > 1" } }\n',
    at: '2: commit[0].deleteMany.filter.$where',
    expected: /\$where runs JavaScript on the server: it needs templates: \{ allowServerJavaScript: true \} in the configuration$/,
  },
  {
    name: '$function in an update pipeline',
    text: 'commit:\n  - updateMany:\n      collection: users\n      filter: {}\n      update: [ { $set: { b: { $function: { body: "function() { return 1 }", args: [], lang: js } } } } ]\n',
    at: '5: commit[0].updateMany.update[0].$set.b.$function',
    expected: /\$function runs JavaScript on the server/,
  },
  {
    name: 'BSON code in a document',
    text: '{ "commit": [ { "insertMany": { "collection": "jobs", "documents": [ { "run": { "$code": "function() {}" } } ] } } ] }\n',
    file: '001_x.json',
    at: '1: commit[0].insertMany.documents[0].run.$code',
    expected: /BSON code runs JavaScript on the server/,
  },
  {
    name: 'keys is a list',
    text: 'commit:\n  - createCollection: { name: orders }\n  - insertMany: { collection: orders, documents: [ { a: 1 } ] }\n  - createIndex: { collection: orders, keys: [customerId] }\n',
    at: '4: commit[2].createIndex.keys',
    expected: /expected an object of field: direction.*\(got a list\)/,
  },
  {
    name: 'keys direction',
    text: 'commit:\n  - createIndex: { collection: orders, keys: { a: up } }\n',
    at: '2: commit[0].createIndex.keys.a',
    expected: /expected 1, -1, "text", "2d", "2dsphere" or "hashed" \(got a string "up"\)/,
  },
  { name: 'empty keys', text: 'commit:\n  - createIndex: { collection: orders, keys: {} }\n', at: '2: commit[0].createIndex.keys', expected: /expected at least one field/ },
  {
    name: 'misspelt key',
    text: 'commit:\n  - createIndex:\n      colection: orders\n      keys: { a: 1 }\n',
    at: '3: commit[0].createIndex.colection',
    expected: /unknown key \(expected collection, keys, options\)/,
  },
  { name: 'missing collection', text: 'commit:\n  - dropIndex: { name: a_1 }\n', at: '2: commit[0].dropIndex.collection', expected: /expected a collection name \(a string\) \(got nothing\)/ },
  {
    name: 'unknown operation',
    text: 'commit:\n  - dropCollection: { name: a }\n  - createIdx: { collection: a }\n',
    at: '3: commit[1].createIdx',
    expected: /unknown operation; expected one of createCollection, .*runCommand, or the configured seedPlans$/,
  },
  {
    name: 'two operations in one item',
    text: 'commit:\n  - createIndex: { collection: a, keys: { a: 1 } }\n    dropIndex: { collection: a, name: x }\n',
    at: '2: commit[0]',
    expected: /expected one operation: an object with a single key.*\(got the keys createIndex, dropIndex\)/,
  },
  { name: 'operation is a string', text: 'commit:\n  - createIndex\n', at: '2: commit[0]', expected: /expected one operation.*\(got a string "createIndex"\)/ },
  {
    name: 'bad $oid',
    text: 'commit:\n  - insertMany:\n      collection: a\n      documents:\n        - { _id: { $oid: "zz" } }\n',
    at: '5: commit[0].insertMany.documents[0]._id',
    expected: /expected valid Extended JSON: .*24 character hex string/,
  },
  {
    name: 'bad $date',
    text: 'commit:\n  - updateMany: { collection: a, filter: { at: { $lt: { $date: "yesterday" } } }, update: { $set: { old: true } } }\n',
    at: '2: commit[0].updateMany.filter.at.$lt',
    expected: /expected valid Extended JSON: \$date must be an ISO-8601 date/,
  },
  {
    name: 'bad $numberDecimal',
    text: 'commit:\n  - insertMany: { collection: a, documents: [ { price: { $numberDecimal: "cheap" } } ] }\n',
    at: '2: commit[0].insertMany.documents[0].price',
    expected: /expected valid Extended JSON: .*Decimal128/,
  },
  {
    name: 'replacement as update',
    text: 'commit:\n  - updateOne: { collection: users, filter: { _id: 1 }, update: { name: x } }\n',
    at: '2: commit[0].updateOne.update.name',
    expected: /expected an update operator such as \$set/,
  },
  {
    name: 'pipeline stage',
    text: 'commit:\n  - updateMany: { collection: users, filter: {}, update: [ { $set: { a: 1 } }, 3 ] }\n',
    at: '2: commit[0].updateMany.update[1]',
    expected: /expected a pipeline stage/,
  },
  { name: 'no documents', text: 'commit:\n  - insertMany: { collection: a, documents: [] }\n', at: '2: commit[0].insertMany.documents', expected: /expected at least one document/ },
  {
    name: 'system collection',
    text: 'commit:\n  - createCollection: { name: system.profile }\n',
    at: '2: commit[0].createCollection.name',
    expected: /expected a collection name: non-empty, without '\$', not starting with 'system\.'/,
  },
  {
    name: 'collMod changes nothing',
    text: 'commit:\n  - collMod: { collection: a }\n',
    at: '2: commit[0].collMod',
    expected: /expected at least one of validator, validationLevel, validationAction or options/,
  },
  {
    name: 'validationLevel',
    text: 'commit:\n  - collMod: { collection: a, validationLevel: lax }\n',
    at: '2: commit[0].collMod.validationLevel',
    expected: /expected one of "off", "strict", "moderate"/,
  },
  { name: 'runCommand without command', text: 'commit:\n  - runCommand: { command: {} }\n', at: '2: commit[0].runCommand.command', expected: /expected a command document/ },
  { name: 'dropTarget', text: 'commit:\n  - renameCollection: { from: a, to: b, dropTarget: "yes" }\n', at: '2: commit[0].renameCollection.dropTarget', expected: /expected true or false/ },
  { name: 'commit missing', text: 'description: nothing\n', at: '1: commit', expected: /expected a list of operations \(got nothing\)/ },
  { name: 'commit not a list', text: 'commit: { createIndex: { collection: a, keys: { a: 1 } } }\n', at: '1: commit', expected: /expected a list of operations \(got an object\)/ },
  {
    name: 'unknown top-level key',
    text: 'commit: []\ndown: []\n',
    at: '2: down',
    expected: /unknown key \(expected id, description, transaction, timeoutMs, author, tags, environments, recovery, repeatable, runAlways, expect, commit, rollback\)/,
  },
  { name: 'transaction value', text: 'transaction: sometimes\ncommit: []\n', at: '1: transaction', expected: /expected one of "auto", "always", "never" \(got a string "sometimes"\)/ },
  {
    name: 'transaction with DDL',
    text: 'transaction: auto\ncommit:\n  - updateMany: { collection: a, filter: {}, update: { $set: { x: 1 } } }\n  - createIndex: { collection: a, keys: { x: 1 } }\n',
    at: '1: transaction',
    expected: /expected 'never' or no transaction key: commit\[1\] createIndex a\.x_1 cannot run inside a transaction/,
  },
  { name: 'timeoutMs', text: 'timeoutMs: -5\ncommit: []\n', at: '1: timeoutMs', expected: /expected a positive number of milliseconds \(got the number -5\)/ },
  { name: 'id with spaces', text: 'id: my change\ncommit: []\n', at: '1: id', expected: /expected a non-empty id without spaces/ },
  { name: 'rollback item', text: 'commit: []\nrollback:\n  - dropIndex: { collection: a, name: "" }\n', at: '3: rollback[0].dropIndex.name', expected: /expected a non-empty index name/ },
  { name: 'not a mapping', text: '- createIndex: { collection: a, keys: { a: 1 } }\n', at: '1: (the template)', expected: /expected a mapping with commit: \[operations\].*\(got a list\)/ },
  {
    name: 'JSON file',
    file: '001_x.json',
    text: '{\n  "commit": [\n    { "dropIndex": { "collection": "a", "name": 3 } }\n  ]\n}\n',
    at: '3: commit[0].dropIndex.name',
    expected: /expected an index name \(a string\) \(got the number 3\)/,
  },
  {
    name: 'custom operation arguments',
    text: 'commit:\n  - seedPlans: { plans: [ { name: free, price: "0" } ] }\n',
    at: '2: commit[0].seedPlans.plans[0].price',
    expected: /expected number, received string/,
  },
];

describe('templates: invalid templates are refused with file, line, path and expectation', () => {
  const operations = { seedPlans: { args: z.object({ plans: z.array(z.object({ name: z.string(), price: z.number() })) }), run: () => undefined } };
  for (const bad of BAD) {
    it(bad.name, async () => {
      const file = bad.file ?? '001_x.yaml';
      const dir = folder({ [file]: bad.text });
      await assert.rejects(loadChangeFolder({ path: dir, operations }), (error: unknown) => {
        assert.ok(error instanceof ChangeFileError, String(error));
        assert.equal(error.code, 'CHANGE_FILE_INVALID');
        assert.equal(error.file, file);
        assert.doesNotMatch(error.message, /\n/, 'one line');
        assert.ok(error.message.startsWith(`${file}:${bad.at}: `), `${error.message}\n  should start with ${file}:${bad.at}: `);
        assert.match(error.message, bad.expected);
        return true;
      });
    });
  }

  it('YAML syntax errors name the line and column', async () => {
    const dir = folder({ '001_x.yaml': 'commit:\n  - createIndex: { collection: a, keys: { a: 1 }\n', '002_y.yaml': 'a: 1\na: 2\n' });
    await assert.rejects(loadChangeFolder({ path: dir }), (error: unknown) => {
      assert.ok(error instanceof ChangeFileError);
      const lines = error.message.split('\n');
      assert.equal(lines.length, 2, 'every file with a problem gets its line');
      assert.match(lines[0] ?? '', /^001_x\.yaml:3:1: syntax error: Flow map .* must be sufficiently indented and end with a \}$/);
      assert.match(lines[1] ?? '', /^002_y\.yaml:2:1: syntax error: Map keys must be unique$/);
      return true;
    });
  });

  it('an empty file is refused', async () => {
    await assert.rejects(loadChangeFolder({ path: folder({ '001_x.yml': '# nothing\n' }) }), (error: unknown) => {
      assert.match((error as Error).message, /^001_x\.yml: \(the template\): expected a mapping with commit.*\(got an empty file\)$/);
      return true;
    });
  });
});

describe('templates: custom operations in the configuration', () => {
  it('are kept as given (schemas unfrozen) and refuse built-in names, bad names and bad shapes', async () => {
    const args = z.object({ n: z.number() });
    const config = await resolveConfig({ inline: { operations: { seed: { args, run: () => undefined }, plain: () => undefined } }, env: {} });
    assert.equal((config.operations.seed as { args: unknown }).args, args);
    assert.equal(Object.isFrozen(args), false);
    assert.equal(typeof config.operations.plain, 'function');
    assert.equal(args.safeParse({ n: 1 }).success, true);
    const refused = async (operations: unknown, message: RegExp) =>
      assert.rejects(resolveConfig({ inline: { operations }, env: {} }), (error: unknown) => error instanceof ConfigError && message.test(error.message));
    await refused({ createIndex: () => undefined }, /^config: operations\.createIndex is a built-in operation; choose another name$/);
    await refused({ 'seed-plans': () => undefined }, /^config: operations\.seed-plans must be a name of letters, digits and _/);
    await refused({ seed: { run: 'nope' } }, /^config: operations\.seed must be a function \(context, args\) => \.\.\., or \{ run/);
    await refused({ seed: { run: () => undefined, args: { n: 'number' } } }, /^config: operations\.seed must be a function/);
    await refused({ seed: { run: () => undefined, extra: 1 } }, /^config: operations\.seed must be a function/);
    await refused([1], /^config: operations must be an object$/);
  });

  it('default to none: a template naming one says which exist', async () => {
    const dir = folder({ '001_x.yaml': 'commit:\n  - seedPlans: {}\n' });
    await assert.rejects(loadChangeFolder({ path: dir }), (error: unknown) => {
      assert.match((error as Error).message, /^001_x\.yaml:2: commit\[0\]\.seedPlans: unknown operation; expected one of .*, or one registered under operations in the configuration$/);
      return true;
    });
    await assert.rejects(loadChangeFolder({ path: dir, operations: { other: () => undefined } }), (error: unknown) => {
      assert.match((error as Error).message, /commit\[0\]\.seedPlans: unknown operation; expected one of .*, or the configured other$/);
      return true;
    });
  });
});
