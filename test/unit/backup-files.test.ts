import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { serialize } from 'bson';
import { fileStems, readBsonFile, writeBsonFile } from '../../src/backup/bson-files.js';
import { backupId } from '../../src/backup/backup-store.js';
import { resolveConfig } from '../../src/config/index.js';
import { BackupInvalidError } from '../../src/errors.js';
import { tempProject } from '../helpers/temp.js';

const temp = tempProject();
after(() => temp.cleanup());

async function* from(documents: readonly Uint8Array[]): AsyncGenerator<Uint8Array> {
  yield* documents;
}

describe('BSON backup files', () => {
  it('writes documents back to back with their sha256, and reads them back across 1 MiB read boundaries', async () => {
    // ~3 MiB of documents of varied sizes, so that many straddle the reader's chunks.
    const documents = Array.from({ length: 3000 }, (_, i) => serialize({ _id: i, pad: 'x'.repeat((i * 37) % 2000) }));
    const path = join(temp.dir, 'docs.bson');
    const written = await writeBsonFile(path, from(documents));
    const bytes = readFileSync(path);
    assert.equal(written.documents, 3000);
    assert.equal(written.bytes, bytes.length);
    assert.equal(written.sha256, createHash('sha256').update(bytes).digest('hex'));
    const read: Buffer[] = [];
    for await (const document of readBsonFile(path)) read.push(Buffer.from(document));
    assert.equal(read.length, 3000);
    assert.ok(read.every((document, i) => Buffer.compare(document, documents[i] ?? Buffer.alloc(0)) === 0));
  });

  it('a truncated or garbled file is a BackupInvalidError naming it', async () => {
    const path = join(temp.dir, 'short.bson');
    const whole = Buffer.concat([serialize({ a: 1 }), serialize({ b: 2 })]);
    writeFileSync(path, whole.subarray(0, whole.length - 3));
    await assert.rejects(
      async () => {
        for await (const _ of readBsonFile(path, 'short.bson'));
      },
      (error: unknown) => error instanceof BackupInvalidError && error.file === 'short.bson' && /truncated/.test(error.message),
    );
    writeFileSync(path, Buffer.from([1, 0, 0, 0, 0, 0, 0, 0]));
    await assert.rejects(async () => {
      for await (const _ of readBsonFile(path));
    }, /not a BSON document at byte 0 \(length 1\)/);
  });

  it('refuses to overwrite a file', async () => {
    const path = join(temp.dir, 'exists.bson');
    writeFileSync(path, '');
    await assert.rejects(writeBsonFile(path, from([])), /EEXIST/);
  });

  it('file names: safe characters kept, others escaped, names differing only in case kept apart', () => {
    const stems = fileStems(['users', 'Users', 'a/b', '.hidden', 'café', 'x%y']);
    assert.deepEqual([...stems.values()], ['users', 'Users~2', 'a%2Fb', '%2Ehidden', 'caf%C3%A9', 'x%25y']);
  });

  it('backup ids sort by time and name the change', () => {
    const id = backupId(new Date('2024-05-01T10:15:00.123Z'), '1a2b3c4d-0000-4000-8000-000000000000', 'change', '001_users/odd name');
    assert.equal(id, '20240501T101500123Z_1a2b3c4d_001_users_odd_name');
    assert.equal(backupId(new Date('2024-05-01T10:15:00.123Z'), 'abc', 'manual', undefined), '20240501T101500123Z_abc_manual');
  });
});

describe('backup configuration', () => {
  it('backup.dir from a config file is relative to it; --backup-dir to the current folder; defaults', async () => {
    const p = tempProject({ 'conf/delta.config.json': JSON.stringify({ backup: { dir: 'bk', keep: 3, default: true } }) });
    try {
      const fromFile = await resolveConfig({ cwd: p.dir, env: {}, flags: { config: 'conf/delta.config.json' } });
      assert.deepEqual(fromFile.backup, { dir: join(p.dir, 'conf/bk'), default: true, keep: 3, warnAboveBytes: 1024 ** 3 });
      const fromFlag = await resolveConfig({ cwd: p.dir, env: {}, flags: { config: 'conf/delta.config.json', backupDir: 'here' } });
      assert.equal(fromFlag.backup.dir, join(p.dir, 'here'));
      const defaults = await resolveConfig({ cwd: p.dir, env: {}, inline: {} });
      assert.deepEqual(defaults.backup, { dir: join(p.dir, '.delta/backups'), default: false, keep: 10, warnAboveBytes: 1024 ** 3 });
      await assert.rejects(resolveConfig({ cwd: p.dir, env: {}, inline: { backup: { keep: -1 } } }), /backup\.keep must be at least 0/);
    } finally {
      p.cleanup();
    }
  });
});
