// Resolving a fleet's --targets spec: names, globs over the deployment's databases, @file.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigError, DatabaseError, UsageError } from '../../src/index.js';
import { resolveConfig } from '../../src/config/resolve-config.js';
import { resolveTargets } from '../../src/fleet/index.js';
import { tempProject } from '../helpers/temp.js';

const databases = ['admin', 'config', 'local', 'tenant_a', 'tenant_b', 'tenant.x', 'tenantc', 'shared_tracker', 'tenant_tracker'];
const resolve = (spec: string, base = '/nowhere', exclude: string[] = []) => resolveTargets({ spec, source: '--targets', base }, { listDatabases: () => Promise.resolve(databases), exclude });

describe('fleet target specs', () => {
  it('takes names as written, matches globs literally except * and ?, and sorts without repeats', async () => {
    assert.deepEqual(await resolve('tenant_b, new_tenant ,tenant_b'), ['new_tenant', 'tenant_b']);
    assert.deepEqual(await resolve('tenant_*', '/nowhere', ['tenant_tracker']), ['tenant_a', 'tenant_b']);
    // `.` in a database name is not a wildcard; `?` is one character.
    assert.deepEqual(await resolve('tenan?c,tenant_?'), ['tenant_a', 'tenant_b', 'tenantc']);
    assert.deepEqual(await resolve('*'), ['shared_tracker', 'tenant.x', 'tenant_a', 'tenant_b', 'tenant_tracker', 'tenantc']);
  });

  it('reads @file relative to its base, skipping blank lines and # comments', async () => {
    const p = tempProject({ 'fleet/tenants.txt': '# customers\ntenant_b\r\n\n  tenant_a  \n' });
    try {
      assert.deepEqual(await resolve('@fleet/tenants.txt', p.dir), ['tenant_a', 'tenant_b']);
      await assert.rejects(resolve('@fleet/none.txt', p.dir), (e: unknown) => e instanceof UsageError && /--targets @fleet\/none\.txt: no such file/.test(e.message));
      p.write('empty.txt', '# nobody yet\n');
      await assert.rejects(resolve('@empty.txt', p.dir), /--targets @empty\.txt: the file lists no database/);
    } finally {
      p.cleanup();
    }
  });

  it('refuses empty items, bad names and globs that match nothing', async () => {
    await assert.rejects(resolve('a,,b'), (e: unknown) => e instanceof UsageError && /expected database names or globs separated by commas/.test(e.message));
    await assert.rejects(resolve('bad/name'), /"bad\/name" is not a database name/);
    await assert.rejects(resolve('nobody_*'), /--targets: no database matches "nobody_\*"/);
    await assert.rejects(resolve('adm*'), /no database matches "adm\*"/);
  });

  it('a glob refused with Unauthorized (13), even wrapped in a DeltaError, names the listDatabases privilege; other errors pass through', async () => {
    const refused = Object.assign(new Error('not authorized on admin to execute command { listDatabases: 1 }'), { code: 13 });
    const wrapped = new DatabaseError('database error: not authorized', { cause: refused });
    for (const error of [refused, wrapped]) {
      const rejecting = resolveTargets({ spec: 'tenant_a,tenant_*', source: '--targets', base: '/nowhere' }, { listDatabases: () => Promise.reject(error) });
      await assert.rejects(
        rejecting,
        (e: unknown) =>
          e instanceof UsageError && e.message === '--targets: "tenant_*" needs the listDatabases privilege, which this user does not have; name the databases (a,b or @file) or grant listDatabases',
      );
    }
    const down = new Error('connection closed');
    await assert.rejects(resolveTargets({ spec: 'tenant_*', source: '--targets', base: '/nowhere' }, { listDatabases: () => Promise.reject(down) }), (e: unknown) => e === down);
    assert.deepEqual(await resolveTargets({ spec: 'tenant_a', source: '--targets', base: '/nowhere' }, { listDatabases: () => Promise.reject(refused) }), ['tenant_a'], 'names alone never list');
  });
});

describe('fleet configuration', () => {
  it('takes targets as a spec or a list, with fleet.concurrency and fleet.failFast, and names a wrong key', async () => {
    const config = await resolveConfig({ env: {}, cwd: '/project', inline: { targets: ['tenant_a', 'tenant_*'], fleet: { concurrency: 8, failFast: true } } });
    assert.deepEqual(config.targets, { spec: 'tenant_a,tenant_*', source: 'config: targets', base: '/project' });
    assert.deepEqual(config.fleet, { concurrency: 8, totalConcurrency: undefined, failFast: true, waves: undefined, maxFailureRate: 0, betweenWaves: undefined });
    const defaults = await resolveConfig({ env: {}, cwd: '/project', inline: {} });
    assert.equal(defaults.targets, undefined);
    assert.deepEqual(defaults.fleet, { concurrency: 4, totalConcurrency: undefined, failFast: false, waves: undefined, maxFailureRate: 0, betweenWaves: undefined });
    await assert.rejects(resolveConfig({ env: {}, cwd: '/project', inline: { fleet: { concurrency: 0 } } }), (e: unknown) => e instanceof ConfigError && /fleet\.concurrency/.test(e.message));
  });

  it('takes a list with { uri?, db } entries as entries, fleet.totalConcurrency, and names a bad entry key', async () => {
    const inline = { targets: ['tenant_a', { uri: '${EU_URI}', db: ['b', 'c_*'] }], fleet: { totalConcurrency: 6 } };
    const config = await resolveConfig({ env: {}, cwd: '/project', inline });
    assert.deepEqual(config.targets?.spec, [
      { uri: undefined, db: 'tenant_a' },
      { uri: '${EU_URI}', db: ['b', 'c_*'] },
    ]);
    assert.equal(config.fleet.totalConcurrency, 6);
    await assert.rejects(
      resolveConfig({ env: {}, cwd: '/project', inline: { targets: [{ url: 'mongodb://x', db: 'a' }] } }),
      (e: unknown) => e instanceof ConfigError && e.message === "config: unknown key 'targets.0.url'",
    );
    await assert.rejects(
      resolveConfig({ env: {}, cwd: '/project', inline: { targets: [{ uri: 'mongodb://eu' }] } }),
      (e: unknown) => e instanceof ConfigError && e.message === 'config: targets.0.db is missing',
    );
    await assert.rejects(
      resolveConfig({ env: {}, cwd: '/project', inline: { fleet: { totalConcurrency: 1.5 } } }),
      (e: unknown) => e instanceof ConfigError && /fleet\.totalConcurrency/.test(e.message),
    );
  });
});
