// A fleet over several deployments, without a server: fleet files and entries, ${VARIABLES} in
// their uris, deployment names, the order of targets, and the per-deployment and total caps.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { UsageError } from '../../src/index.js';
import { deploymentName, sameConnection } from '../../src/config/deployment-name.js';
import type { FleetDeployment, FleetMember } from '../../src/fleet/index.js';
import { resolveFleet, runFleet } from '../../src/fleet/index.js';
import type { RunResult } from '../../src/vocabulary/index.js';
import { tempProject } from '../helpers/temp.js';

const DATABASES: Record<string, string[]> = {
  'own:27017': ['tenant_a', 'tenant_b', 'other'],
  'eu1:27017,eu2:27017': ['tenant_b', 'tenant_c', 'tenant_a'],
};
const OWN = 'mongodb://own:27017/app';

function resolveIn(dir: string, spec: string, env: Record<string, string> = {}) {
  return resolveFleet(
    { spec, source: '--targets', base: dir },
    { listDatabases: (d: FleetDeployment) => Promise.resolve(DATABASES[d.name] ?? []), env, ownUri: OWN, ownDeployment: deploymentName(OWN) },
  );
}

describe('deployment names', () => {
  it('are the host list with default ports, sorted, lower-cased, without credentials, database or options', () => {
    assert.equal(deploymentName('mongodb://u:secret@EU2,eu1:27017/db?authSource=admin'), 'eu1:27017,eu2:27017');
    assert.equal(deploymentName('mongodb+srv://u:p@Cluster0.example.net/x'), 'mongodb+srv://cluster0.example.net');
    assert.equal(deploymentName('postgres://x'), undefined);
    assert.equal(sameConnection('mongodb://u:p@h/a', 'mongodb://u:p@h:27017/b'), true);
    assert.equal(sameConnection('mongodb://u:p@h/a', 'mongodb://v:p@h/a'), false);
  });
});

describe('fleet files', () => {
  it('reads YAML entries in order (names sorted within an entry), ${VARIABLES} from env, the same name on two deployments twice', async () => {
    const p = tempProject({
      'fleet.yaml': "- { db: 'tenant_*' }\n- uri: ${EU_URI}\n  db: [tenant_c, 'tenant_?']\n- tenant_a\n",
      'fleet.json': JSON.stringify([{ uri: 'mongodb://own:27017/?x=1', db: 'a' }]),
    });
    try {
      const fleet = await resolveIn(p.dir, '@fleet.yaml', { EU_URI: 'mongodb://user:pw@eu2,eu1/' });
      const eu = 'eu1:27017,eu2:27017';
      assert.deepEqual(
        fleet.targets.map((t: FleetMember) => `${t.deployment}/${t.db}`),
        ['own:27017/tenant_a', 'own:27017/tenant_b', `${eu}/tenant_a`, `${eu}/tenant_b`, `${eu}/tenant_c`],
      );
      assert.deepEqual(fleet.deployments, [
        { name: 'own:27017', uri: undefined },
        { name: eu, uri: 'mongodb://user:pw@eu2,eu1/' },
      ]);
      // The run's own hosts connected another way: refused, not merged.
      await assert.rejects(resolveIn(p.dir, '@fleet.json'), /--targets @fleet\.json: entry 1: key "uri" names the run's own deployment own:27017 with other credentials/);
    } finally {
      p.cleanup();
    }
  });

  it('refuses bad entries and unset variables naming file, entry and key, never a value', async () => {
    const p = tempProject({
      'unknown.yml': '- { db: a }\n- { url: x, db: b }\n',
      'nodb.yaml': '- { uri: "mongodb://h" }\n',
      'baddb.yaml': '- { db: [] }\n',
      'unset.yaml': '- { uri: "mongodb://u:${PASS}@h", db: a }\n',
      'nouri.yaml': '- { uri: "${EU_URI}", db: a }\n',
      'twice.yaml': '- { uri: "mongodb://a:one@eu1,eu2", db: a }\n- { uri: "mongodb://a:two@eu1,eu2", db: b }\n',
      'broken.yaml': '- { db: [a\n',
    });
    const refused = async (file: string, pattern: RegExp, env: Record<string, string> = {}) =>
      assert.rejects(resolveIn(p.dir, `@${file}`, env), (e: unknown) => e instanceof UsageError && pattern.test(e.message) && !e.message.includes('s3cret'));
    try {
      await refused('unknown.yml', /^--targets @unknown\.yml: entry 2: unknown key "url" \(an entry has uri and db\)$/);
      await refused('nodb.yaml', /entry 1: key "db" is missing/);
      await refused('baddb.yaml', /entry 1: key "db" must be a database name, a glob, or a non-empty list of them/);
      await refused('unset.yaml', /^--targets @unset\.yaml: entry 1: key "uri" names the environment variable PASS, which is not set$/);
      await refused('nouri.yaml', /entry 1: key "uri" must be a mongodb:\/\/ or mongodb\+srv:\/\/ connection string \(after its \$\{VARIABLES\}\)$/, { EU_URI: 'http://u:s3cret@h' });
      await refused('twice.yaml', /entry 2: key "uri" names the deployment eu1:27017,eu2:27017 of entry 1 with other credentials or options/);
      await refused('broken.yaml', /^--targets @broken\.yaml: not valid YAML/);
      // Variables are checked for every entry before any deployment is asked for its databases.
      p.write('late.yaml', "- { db: 'tenant_*' }\n- { uri: '${EU_URI}', db: 'tenant_*' }\n");
      let listed = 0;
      const counting = {
        listDatabases: () => {
          listed += 1;
          return Promise.resolve([]);
        },
        env: {},
        ownUri: OWN,
        ownDeployment: deploymentName(OWN),
      };
      await assert.rejects(resolveFleet({ spec: '@late.yaml', source: '--targets', base: p.dir }, counting), /entry 2: key "uri" names the environment variable EU_URI/);
      assert.equal(listed, 0);
    } finally {
      p.cleanup();
    }
  });
});

describe("the configuration's targets list", () => {
  it('resolves entries as a fleet file does, messages naming the configuration key', async () => {
    const options = { listDatabases: (d: FleetDeployment) => Promise.resolve(DATABASES[d.name] ?? []), ownUri: OWN, ownDeployment: deploymentName(OWN) };
    const spec = [
      { uri: undefined, db: 'other' },
      { uri: '${EU_URI}', db: 'tenant_*' },
    ];
    const fleet = await resolveFleet({ spec, source: 'delta.config.json: targets', base: '/nowhere' }, { ...options, env: { EU_URI: 'mongodb://eu1,eu2' } });
    assert.deepEqual(
      fleet.targets.map((t) => `${t.deployment}/${t.db}`),
      ['own:27017/other', 'eu1:27017,eu2:27017/tenant_a', 'eu1:27017,eu2:27017/tenant_b', 'eu1:27017,eu2:27017/tenant_c'],
    );
    await assert.rejects(
      resolveFleet({ spec, source: 'delta.config.json: targets', base: '/nowhere' }, { ...options, env: {} }),
      /delta\.config\.json: targets: entry 2: key "uri" names the environment variable EU_URI, which is not set$/,
    );
  });
});

describe('fleet concurrency', () => {
  it('runs at most --concurrency targets per deployment and --total-concurrency over all', async () => {
    const targets: FleetMember[] = ['a', 'b'].flatMap((deployment) => Array.from({ length: 6 }, (_, i) => ({ db: `t${i}`, deployment })));
    const measure = async (concurrency: number, totalConcurrency: number | undefined) => {
      const running = new Map<string, number>();
      let most = 0;
      let mostPer = 0;
      const result = await runFleet(targets, { command: 'commit', concurrency, totalConcurrency, failFast: false }, async (t) => {
        running.set(t.deployment, (running.get(t.deployment) ?? 0) + 1);
        const total = [...running.values()].reduce((a, b) => a + b, 0);
        most = Math.max(most, total);
        mostPer = Math.max(mostPer, running.get(t.deployment) ?? 0);
        await new Promise((resolve) => setTimeout(resolve, 5));
        running.set(t.deployment, (running.get(t.deployment) ?? 0) - 1);
        return { outcome: 'nothing-to-do', changes: [], durationMs: 5, error: undefined } as unknown as RunResult;
      });
      assert.equal(result.targets.length, 12);
      assert.deepEqual(
        result.targets.map((r) => `${r.deployment}/${r.target}`),
        targets.map((t) => `${t.deployment}/${t.db}`),
      );
      return { most, mostPer };
    };
    assert.deepEqual(await measure(2, undefined), { most: 4, mostPer: 2 });
    assert.deepEqual(await measure(3, 4), { most: 4, mostPer: 3 });
    assert.deepEqual(await measure(4, 1), { most: 1, mostPer: 1 });
  });
});
