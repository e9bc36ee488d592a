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
