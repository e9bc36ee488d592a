// The mongosh runner without a database: the refusal when its optional packages are missing, the
// `// delta:transaction=` setting of a commit file, and syntax errors named by file, line and column.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, it } from 'node:test';
import { ChangeFileError } from '../../src/index.js';
import { loadMongoshShell, prepareScript, transactionDirective } from '../../src/loader/formats/mongosh-shell.js';
import { mongoshFormat } from '../../src/loader/formats/mongosh-format.js';

describe('mongosh runner', () => {
  it('claims <id>.commit.mongosh.js and <id>.rollback.mongosh.js, and nothing else', () => {
    assert.deepEqual(mongoshFormat.match('001_users.commit.mongosh.js'), { id: '001_users', role: 'commit' });
    assert.deepEqual(mongoshFormat.match('001_users.rollback.mongosh.js'), { id: '001_users', role: 'rollback' });
    assert.equal(mongoshFormat.match('001_users.mongosh.js'), undefined);
    assert.equal(mongoshFormat.match('001_users.commit.js'), undefined);
  });

  it('refuses a file with one line naming it and the install command when the mongosh packages are missing', () => {
    // Resolved from an empty folder: as in a project that did not install the optional peers.
    const empty = mkdtempSync(join(tmpdir(), 'delta-no-mongosh-'));
    try {
      assert.throws(
        () => loadMongoshShell('001_users.commit.mongosh.js', pathToFileURL(join(empty, 'here.js')).href),
        (error: unknown) =>
          error instanceof ChangeFileError &&
          error.file === '001_users.commit.mongosh.js' &&
          error.message === '001_users.commit.mongosh.js: the optional mongosh packages are not installed; install them with: npm install @mongosh/shell-api@^5.9.0 @mongosh/async-rewriter2@^2.6.0',
      );
    } finally {
      rmSync(empty, { recursive: true, force: true });
    }
  });

  it('reads // delta:transaction=<mode> from the comments that open the commit file', () => {
    assert.equal(transactionDirective('db.x.insertOne({})\n', 'f.js'), undefined);
    assert.equal(transactionDirective('#!/usr/bin/env mongosh\n\n// Builds the index.\n// delta:transaction=never\ndb.x.createIndex({ a: 1 })\n', 'f.js'), 'never');
    assert.equal(transactionDirective('//delta: transaction = always\r\n', 'f.js'), 'always');
    assert.equal(transactionDirective('db.x.insertOne({})\n// delta:transaction=never\n', 'f.js'), undefined, 'only before the first statement');
    assert.throws(() => transactionDirective('// delta:transaction\n', 'f.js'), /^ChangeFileError: f\.js:1: expected \/\/ delta:transaction=auto\|always\|never$/);
  });

  it('names the file, line and column of a syntax error', () => {
    const shell = loadMongoshShell('f.js');
    assert.throws(
      () => prepareScript(shell, 'db.x.insertOne({ a: 1 });\nconst = 2;\n', '001_x.commit.mongosh.js'),
      (error: unknown) => error instanceof ChangeFileError && /^001_x\.commit\.mongosh\.js:2:7: syntax error: /.test(error.message),
    );
    assert.doesNotThrow(() => prepareScript(shell, 'db.x.find().forEach((doc) => print(doc._id));\nsleep(1);\n', 'ok.js'));
  });
});
