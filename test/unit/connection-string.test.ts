// The helper every test builds its URIs with, over the shapes MONGODB_URI takes in the wild: the
// README's `?replicaSet=rs0` without a database, a path, credentials (with authSource kept right),
// several hosts, and mongodb+srv.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { hostOf, parseConnectionString, withCredentials, withDatabase, withOption } from '../helpers/connection-string.js';

describe('test connection strings', () => {
  const cases: [string, string, string][] = [
    ['no path, a query (the README form)', 'mongodb://127.0.0.1:27017/?replicaSet=rs0', 'mongodb://127.0.0.1:27017/app?replicaSet=rs0'],
    ['no path, no slash', 'mongodb://127.0.0.1:27017', 'mongodb://127.0.0.1:27017/app'],
    ['no path, a query without a slash', 'mongodb://h:1?replicaSet=rs0', 'mongodb://h:1/app?replicaSet=rs0'],
    ['a path is replaced', 'mongodb://h:1/other?w=majority', 'mongodb://h:1/app?w=majority'],
    ['several hosts', 'mongodb://a:1,b:2,c:3/x?replicaSet=rs0', 'mongodb://a:1,b:2,c:3/app?replicaSet=rs0'],
    ['credentials without a path authenticate against admin', 'mongodb://u:p%40ss@h/?replicaSet=rs0', 'mongodb://u:p%40ss@h/app?replicaSet=rs0&authSource=admin'],
    ['credentials with a path keep authenticating there', 'mongodb://u:p@h/users', 'mongodb://u:p@h/app?authSource=users'],
    ['an explicit authSource is kept', 'mongodb://u:p@h/x?authSource=admin', 'mongodb://u:p@h/app?authSource=admin'],
    ['mongodb+srv', 'mongodb+srv://u:p@cluster0.example.net/?retryWrites=true', 'mongodb+srv://u:p@cluster0.example.net/app?retryWrites=true&authSource=admin'],
  ];
  for (const [name, uri, expected] of cases) {
    it(`withDatabase: ${name}`, () => assert.equal(withDatabase(uri, 'app'), expected));
  }

  it("withDatabase(uri, '') leaves no database, options kept", () => {
    assert.equal(withDatabase('mongodb://h:1/x?replicaSet=rs0', ''), 'mongodb://h:1/?replicaSet=rs0');
    assert.equal(parseConnectionString(withDatabase('mongodb://h:1/x', '')).database, '');
  });

  it('withCredentials replaces credentials and drops the authSource that was theirs', () => {
    assert.equal(withCredentials('mongodb://u:p@h/app?replicaSet=rs0&authSource=admin', 'deploy', 'S3cr3t%40x'), 'mongodb://deploy:S3cr3t%40x@h/app?replicaSet=rs0');
    assert.equal(withCredentials('mongodb+srv://c.example.net/app', 'x', 'y'), 'mongodb+srv://x:y@c.example.net/app');
  });

  it('withOption adds or replaces one option', () => {
    assert.equal(withOption('mongodb://h/app', 'appName', 'tracker'), 'mongodb://h/app?appName=tracker');
    assert.equal(withOption('mongodb://h/app?appName=a&w=1', 'appName', 'b'), 'mongodb://h/app?appName=b&w=1');
  });

  it('hostOf gives the hosts or the SRV name, never the credentials', () => {
    assert.equal(hostOf('mongodb://u:p@a:1,b:2/x?replicaSet=rs0'), 'a:1,b:2');
    assert.equal(hostOf('mongodb+srv://u:p@cluster0.example.net/'), 'cluster0.example.net');
  });

  it('refuses what is not a MongoDB connection string', () => {
    assert.throws(() => parseConnectionString('http://h/app'), /not a MongoDB connection string/);
  });
});
