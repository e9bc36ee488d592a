import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { redact, secretsOf } from '../../src/config/index.js';

describe('redact() hides the password of every URI form', () => {
  const cases: [string, string][] = [
    ['mongodb://user:secret@localhost:27017/app', 'mongodb://user:***@localhost:27017/app'],
    ['mongodb+srv://user:secret@cluster0.abc.mongodb.net/prod?retryWrites=true', 'mongodb+srv://user:***@cluster0.abc.mongodb.net/prod?retryWrites=true'],
    ['mongodb://user:S3cr3t%40x@h1:1,h2:2/db?replicaSet=rs0', 'mongodb://user:***@h1:1,h2:2/db?replicaSet=rs0'],
    ['mongodb://user:p@ss@host/db', 'mongodb://user:***@host/db'],
    ['mongodb://user:pa/ss@host/db', 'mongodb://user:***@host/db'],
    ['mongodb://user:pa?ss@host/db', 'mongodb://user:***@host/db'],
    ['mongodb://user:secret@host', 'mongodb://user:***@host'],
    ['mongodb://user:@host/db', 'mongodb://user:***@host/db'],
    ['mongodb://localhost:27017/app', 'mongodb://localhost:27017/app'],
    ['mongodb://onlyuser@host/db', 'mongodb://onlyuser@host/db'],
    ['MONGODB://Admin:Secret@HOST/db', 'MONGODB://Admin:***@HOST/db'],
    ['failed to connect to mongodb://a:b1c2@h/x: timeout', 'failed to connect to mongodb://a:***@h/x: timeout'],
    ['"mongodb://a:quoted@h/x"', '"mongodb://a:***@h/x"'],
    ['uri=mongodb://a:one@h1/x,mongodb://b:two@h2/y', 'uri=mongodb://a:***@h1/x,mongodb://b:***@h2/y'],
    ['mongodb://u:p@host/db?appName=me@work', 'mongodb://u:***@host/db?appName=me@work'],
    ['mongodb://u:pa,ss@h1,h2/db', 'mongodb://u:***@h1,h2/db'],
    ['mongodb://host/db?authMechanismProperties=AWS_SESSION_TOKEN:abcdef', 'mongodb://host/db?authMechanismProperties=AWS_SESSION_TOKEN:***'],
    ['mongodb://host/db?tls=true&tlsCertificateKeyFilePassword=hunter2', 'mongodb://host/db?tls=true&tlsCertificateKeyFilePassword=***'],
    ['two lines\nmongodb://x:y2z@h\nend', 'two lines\nmongodb://x:***@h\nend'],
    ['{"uri":"mongodb://u:json@h/d"}', '{"uri":"mongodb://u:***@h/d"}'],
    // Characters the driver accepts unescaped in a password end nothing.
    ['mongodb://admin:S3cr(et)x@db.example/app', 'mongodb://admin:***@db.example/app'],
    ["mongodb://admin:it's[a]{b}<c>@db.example/app", 'mongodb://admin:***@db.example/app'],
    ['cannot connect to mongodb://admin:q"uo"te@db.example:27017 (from --uri)', 'cannot connect to mongodb://admin:***@db.example:27017 (from --uri)'],
    ['(see mongodb://u:p4ss@h/x)', '(see mongodb://u:***@h/x)'],
  ];
  for (const [input, expected] of cases) {
    it(input.replace(/\n/g, '\\n'), () => assert.equal(redact(input), expected));
  }

  it('hides known secrets wherever they appear, raw and decoded', () => {
    const uri = 'mongodb://user:S3cr3t%40x@host/db';
    const secrets = secretsOf(uri);
    assert.deepEqual(secrets.sort(), ['S3cr3t%40x', 'S3cr3t@x'].sort());
    assert.equal(redact('auth failed for password S3cr3t@x', secrets), 'auth failed for password ***');
  });

  it('secretsOf finds nothing in a URI without a password', () => {
    assert.deepEqual(secretsOf('mongodb://host/db'), []);
    assert.deepEqual(secretsOf('mongodb://user@host/db'), []);
    assert.deepEqual(secretsOf(undefined), []);
  });
});

describe('JSON output', () => {
  it('redacts every string before encoding it: a password with a quote is hidden in --json and in JSON logs', async () => {
    const { Output } = await import('../../src/cli/io.js');
    const { Chalk } = await import('chalk');
    const written: string[] = [];
    const sink = { write: (text: string) => written.push(text) } as unknown as NodeJS.WritableStream;
    const output = new Output({ stdout: sink, stderr: sink, env: {}, cwd: '.' }, { json: true, color: false, verbose: false, logFormat: 'json' }, new Chalk({ level: 0 }));
    output.addSecrets(secretsOf('mongodb://deploy:Pa"ss\\w0rd@host/db'));
    output.json({ error: 'the server refused Pa"ss\\w0rd for deploy' });
    output.event('change:failure', { message: 'retrying with Pa"ss\\w0rd' });
    const text = written.join('');
    assert.ok(!text.includes('Pa\\"ss') && !text.includes('Pa"ss'), text);
    assert.match(text, /"error": "the server refused \*\*\* for deploy"/);
    assert.match(text, /"message":"retrying with \*\*\*"/);
  });
});
