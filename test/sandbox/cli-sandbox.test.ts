// `delta sandbox [--port] [--data <file>]` as a person runs it: prints its URI, serves the driver,
// saves to the file on Ctrl-C and loads it again on the next start.
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { MongoClient } from 'mongodb';
import type { CliResult } from '../helpers/cli.js';
import { runCli } from '../helpers/cli.js';
import { sandboxOnly } from '../helpers/server.js';
import { startSandbox } from '../../src/sandbox/index.js';
import { tempProject } from '../helpers/temp.js';

const project = tempProject();
after(() => project.cleanup());

/** Starts `delta sandbox`, runs `work` against the URI it prints, then presses Ctrl-C. */
async function withCliSandbox(args: string[], work: (uri: string) => Promise<void>): Promise<CliResult> {
  let started: (uri: string) => void = () => undefined;
  const uriSeen = new Promise<string>((resolve) => (started = resolve));
  let stop: (() => void) | undefined;
  const done = runCli(['sandbox', '--port', '0', ...args], {
    cwd: project.dir,
    onOutput: ({ stdout }, kill) => {
      stop = () => kill('SIGINT');
      const uri = /mongodb:\/\/127\.0\.0\.1:\d+\/\?replicaSet=rs0/.exec(stdout)?.[0];
      if (uri !== undefined) started(uri);
    },
  });
  const uri = await Promise.race([uriSeen, done.then((r) => Promise.reject(new Error(`sandbox exited ${r.code}: ${r.stderr}`)))]);
  try {
    await work(uri);
  } finally {
    stop?.();
  }
  return done;
}

describe('delta sandbox', { skip: sandboxOnly('the delta sandbox command itself') }, () => {
  it('serves the driver, saves --data on Ctrl-C and loads it on the next start', async () => {
    const data = join(project.dir, 'sandbox.bson');
    const first = await withCliSandbox(['--data', data], async (uri) => {
      const client = await new MongoClient(uri).connect();
      try {
        await client
          .db('app')
          .collection('notes')
          .insertOne({ _id: 1, text: 'kept' } as never);
      } finally {
        await client.close();
      }
    });
    assert.equal(first.code, 0, first.stderr);
    assert.match(first.stdout, /data saved to .*sandbox\.bson on Ctrl-C/);
    assert.match(first.stdout, /delta sandbox: stopped/);
    assert.ok(existsSync(data), 'the data file was written');
    assert.equal(statSync(data).mode & 0o777, 0o600, "the data file is its owner's only");
    assert.deepEqual(
      readdirSync(project.dir).filter((name) => name.includes('.tmp-')),
      [],
      'no temporary file left',
    );

    const second = await withCliSandbox(['--data', data], async (uri) => {
      const client = await new MongoClient(uri).connect();
      try {
        assert.deepEqual(await client.db('app').collection('notes').find({}).toArray(), [{ _id: 1, text: 'kept' }]);
      } finally {
        await client.close();
      }
    });
    assert.equal(second.code, 0, second.stderr);
  });

  it('never writes through a symlink planted where the temporary file used to be named (<data>.tmp-<pid>)', async () => {
    const data = join(project.dir, 'planted.bson');
    const victim = join(project.dir, 'victim.txt');
    writeFileSync(victim, 'precious');
    // In process, so the pid the old name used is this one.
    symlinkSync(victim, `${data}.tmp-${process.pid}`);
    const sandbox = await startSandbox({ persistPath: data });
    await sandbox.stop();
    assert.equal(readFileSync(victim, 'utf8'), 'precious');
    assert.equal(statSync(data).mode & 0o777, 0o600);
  });
});
