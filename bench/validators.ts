// Why valibot validates delta's inputs: zod and valibot side by side on what delta does with a
// schema library. A measuring script, not a test.
//
//   node --import tsx bench/validators.ts
//
// 1. Import time, as whole processes (`node -e "await import('zod')"`), the libraries alternating,
//    BENCH_IMPORT_RUNS each (default 5), against `node -e 0`; and the import() itself, timed inside
//    the process.
// 2. Validation time of a full configuration and of 1,000 change-metadata objects: delta's valibot
//    schemas (src/config/schema.ts, src/loader/change-metadata.ts) against the same rules in zod 4,
//    written out below (the zod schemas delta had before are in git history).
// 3. Error messages: what each library says about the same bad values on its own, before delta
//    words them (`lock.waitMs must be a number`).
import { spawnSync } from 'node:child_process';
import { cpus, loadavg } from 'node:os';
import * as v from 'valibot';
import { z } from 'zod';
import { configFileSchema } from '../src/config/schema.js';
import { CHANGE_METADATA_SCHEMA, metadataFrom } from '../src/loader/change-metadata.js';
import { median } from './process-timer.js';

const RUNS = Number(process.env.BENCH_IMPORT_RUNS ?? 5);

function importTimes(): void {
  const cases: Record<string, string> = { 'node -e 0': '0', zod: "await import('zod')", 'zod/mini': "await import('zod/mini')", valibot: "await import('valibot')" };
  const wall: Record<string, number[]> = {};
  const inside: Record<string, number[]> = {};
  for (let run = 0; run < RUNS; run += 1) {
    for (const [name, code] of Object.entries(cases)) {
      const started = performance.now();
      const child = spawnSync(process.execPath, ['--input-type=module', '-e', `const s = performance.now(); ${code}; console.log(performance.now() - s)`], { encoding: 'utf8' });
      (wall[name] ??= []).push(performance.now() - started);
      (inside[name] ??= []).push(Number(child.stdout.trim()));
    }
  }
  console.log(`\n## Import time (${RUNS} runs each, whole processes)\n`);
  console.log('| import | process ms (each run) | median | import() inside the process, median ms |');
  console.log('| --- | --- | ---: | ---: |');
  for (const name of Object.keys(cases)) {
    const runs = wall[name] ?? [];
    console.log(`| ${name} | ${runs.map((ms) => ms.toFixed(0)).join(', ')} | ${median(runs).toFixed(0)} | ${median(inside[name] ?? []).toFixed(1)} |`);
  }
}

// The same rules in zod, for the comparison only.
const zodConfig = z.strictObject({
  uri: z
    .string()
    .regex(/^mongodb(\+srv)?:\/\//i)
    .optional(),
  db: z
    .string()
    .min(1)
    .max(63)
    .regex(/^[^/\\. "$*<>:|?]{1,63}$/)
    .optional(),
  path: z.string().min(1).optional(),
  env: z
    .string()
    .regex(/^[A-Za-z0-9][\w.:-]*$/)
    .optional(),
  stages: z
    .array(z.union([z.string(), z.strictObject({ name: z.string(), transaction: z.enum(['auto', 'always', 'never']).optional(), parallel: z.boolean().optional() })]))
    .min(1)
    .optional(),
  tracker: z
    .strictObject({
      uri: z.string().optional(),
      db: z.string().min(1).optional(),
      collections: z.strictObject({ migrations: z.string().min(1).optional(), audit: z.string().min(1).optional(), lock: z.string().min(1).optional() }).optional(),
    })
    .optional(),
  transaction: z.enum(['auto', 'always', 'never']).optional(),
  autoRollback: z.boolean().optional(),
  groupTransactions: z.boolean().optional(),
  lock: z.strictObject({ waitMs: z.number().int().nonnegative().optional(), leaseMs: z.number().int().min(1000).optional(), scope: z.string().min(1).optional() }).optional(),
  connectTimeoutMs: z.number().int().positive().optional(),
  backup: z
    .strictObject({ dir: z.string().min(1).optional(), default: z.boolean().optional(), keep: z.number().int().nonnegative().optional(), warnAboveBytes: z.number().int().nonnegative().optional() })
    .optional(),
  targets: z.union([z.string().min(1), z.array(z.string().min(1)).min(1)]).optional(),
  fleet: z.strictObject({ concurrency: z.number().int().positive().optional(), failFast: z.boolean().optional() }).optional(),
  programs: z.record(z.string().regex(/^\.[A-Za-z0-9_-]+$/), z.union([z.string().min(1), z.array(z.string().min(1)).min(1)])).optional(),
  hooks: z.strictObject({ beforeAll: z.custom<() => void>((value) => typeof value === 'function').optional() }).optional(),
});
// The same parts in valibot without delta's messages, for the comparison of the libraries' own words.
const valibotPlain = v.strictObject({
  stages: v.optional(v.array(v.union([v.string(), v.strictObject({ name: v.string() })]))),
  tracker: v.optional(v.strictObject({ db: v.optional(v.string()) })),
  lock: v.optional(v.strictObject({ waitMs: v.optional(v.pipe(v.number(), v.integer(), v.minValue(0))) })),
  targets: v.optional(v.union([v.pipe(v.string(), v.minLength(1)), v.pipe(v.array(v.string()), v.minLength(1))])),
  programs: v.optional(v.record(v.pipe(v.string(), v.regex(/^\.[A-Za-z0-9_-]+$/)), v.string())),
});
const zodName = z.string().regex(/^[A-Za-z0-9][\w.:-]*$/);
const zodMetadata = z.object({
  author: z.string().min(1).optional(),
  tags: z.array(zodName).optional(),
  environments: z.array(zodName).optional(),
  recovery: z.enum(['manual', 'retry']).optional(),
  repeatable: z.boolean().optional(),
  runAlways: z.boolean().optional(),
});

const FULL_CONFIG = {
  uri: 'mongodb://user:pw@db1,db2,db3/app?replicaSet=rs0',
  db: 'app',
  path: './db/changes',
  env: 'prod',
  stages: ['schema', { name: 'data', transaction: 'never', parallel: true }, 'indexes'],
  tracker: { uri: 'mongodb://history/ops', db: 'ops', collections: { migrations: 'm', audit: 'a', lock: 'l' } },
  transaction: 'auto',
  autoRollback: true,
  groupTransactions: false,
  lock: { waitMs: 30_000, leaseMs: 60_000, scope: 'app' },
  connectTimeoutMs: 5000,
  backup: { dir: '.delta/backups', default: true, keep: 5, warnAboveBytes: 1_000_000 },
  targets: ['tenant_a', 'tenant_b'],
  fleet: { concurrency: 8, failFast: true },
  programs: { '.py': 'python3', '.sh': ['bash', '-e'] },
  hooks: { beforeAll: () => undefined },
};
const METADATA = Array.from({ length: 1000 }, (_, index) => ({
  id: `2024${String(index).padStart(10, '0')}_change`,
  author: 'ana',
  tags: ['billing', `t${index % 7}`],
  environments: index % 3 === 0 ? ['prod', 'staging'] : undefined,
  recovery: index % 2 === 0 ? 'retry' : undefined,
  repeatable: index % 5 === 0,
  commit: () => undefined,
}));

/** Median time of `rounds` rounds of `work`, after as many to warm up. */
function timed(rounds: number, work: () => void): number {
  const times: number[] = [];
  for (let round = 0; round < rounds * 2; round += 1) {
    const started = performance.now();
    work();
    if (round >= rounds) times.push(performance.now() - started);
  }
  return median(times);
}

function validationTimes(): void {
  if (!v.safeParse(configFileSchema, FULL_CONFIG).success || !zodConfig.safeParse(FULL_CONFIG).success) throw new Error('the full configuration must be valid in both');
  const once = (schema: 'valibot' | 'zod') => {
    const started = performance.now();
    if (schema === 'valibot') v.safeParse(configFileSchema, FULL_CONFIG);
    else zodConfig.safeParse(FULL_CONFIG);
    return performance.now() - started;
  };
  const firstValibot = once('valibot');
  const firstZod = once('zod');
  console.log('\n## Validation time (in one process, median of 50 rounds after 50 to warm up)\n');
  console.log('| what | valibot ms | zod ms |');
  console.log('| --- | ---: | ---: |');
  console.log(`| a full configuration, first call (cold) | ${firstValibot.toFixed(3)} | ${firstZod.toFixed(3)} |`);
  console.log(`| a full configuration | ${timed(50, () => v.safeParse(configFileSchema, FULL_CONFIG)).toFixed(4)} | ${timed(50, () => zodConfig.safeParse(FULL_CONFIG)).toFixed(4)} |`);
  console.log(
    `| 1,000 change-metadata objects | ${timed(50, () =>
      METADATA.forEach((m) => {
        const checked = v.safeParse(CHANGE_METADATA_SCHEMA, m);
        if (checked.success) metadataFrom(checked.output);
      }),
    ).toFixed(3)} | ${timed(50, () => METADATA.forEach((m) => zodMetadata.safeParse(m))).toFixed(3)} |`,
  );
}

function messages(): void {
  const bad: [string, unknown][] = [
    ['a string for lock.waitMs', { lock: { waitMs: 'soon' } }],
    ['an unknown key', { tracker: { colection: 'x' } }],
    ['a stage that is no name and no object', { stages: [5] }],
    ['targets of the wrong type', { targets: 5 }],
    ['a program key without its dot', { programs: { py: 'python3' } }],
  ];
  const path = (keys: readonly PropertyKey[] | undefined) => (keys ?? []).map(String).join('.');
  console.log("\n## Error messages: each library's own words (delta rewords both)\n");
  console.log('| input | zod 4 | valibot 1 |');
  console.log('| --- | --- | --- |');
  for (const [what, input] of bad) {
    const zodIssue = zodConfig.safeParse(input).error?.issues[0];
    const valibotIssue = v.safeParse(valibotPlain, input).issues?.[0];
    const zodText = zodIssue === undefined ? 'ok' : `${path(zodIssue.path)}: ${zodIssue.message}`;
    const valibotText = valibotIssue === undefined ? 'ok' : `${path(valibotIssue.path?.map((item) => item.key as PropertyKey))}: ${valibotIssue.message}`;
    console.log(`| ${what} | ${zodText.replaceAll('|', '\\|')} | ${valibotText.replaceAll('|', '\\|')} |`);
  }
}

console.log(
  `node ${process.version}, ${cpus().length} cores, load ${loadavg()
    .map((l) => l.toFixed(2))
    .join(' ')}`,
);
importTimes();
validationTimes();
messages();
