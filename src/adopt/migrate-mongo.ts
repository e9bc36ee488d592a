import { randomUUID } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import type { Db, Document } from 'mongodb';
import { redact, secretsOf } from '../config/redact.js';
import type { DeltaConfig } from '../config/resolve-config.js';
import type { DeltaConfigInput } from '../config/schema.js';
import { ConfigError, DatabaseError, DeltaError, LockHeldError, UsageError, messageOf } from '../errors.js';
import type { Lease } from '../runner/runner.js';
import { auditEvent } from '../tracker/audit-event.js';
import type { AuditEvent } from '../tracker/records.js';
import type { Tracker } from '../tracker/tracker.js';
import type { GeneratedConfig } from './delta-config-file.js';
import { GENERATED_CONFIG, existingDeltaConfig, generateDeltaConfig } from './delta-config-file.js';
import type { ImportPlan, PendingFile, PlannedRecord } from './import-plan.js';
import { planImport } from './import-plan.js';
import { detectIdConvention, nextId } from '../loader/id-convention.js';
import type { MigrateMongoConfig, MigrateMongoFile } from './migrate-mongo-project.js';
import { labelOf, readMigrateMongoConfig, readMigrationFiles } from './migrate-mongo-project.js';

export interface ImportMigrateMongoOptions {
  /** migrate-mongo's configuration file, relative to the current folder (default `migrate-mongo-config.js`). */
  readonly configFile?: string;
  /** Show what would be written; take no lock, write nothing. */
  readonly dryRun?: boolean;
  /** Overwrite delta history that exists for an imported id, and an existing `delta.config.mjs`. */
  readonly force?: boolean;
  /** Leave out changelog entries whose migration file is gone (without it the import refuses). */
  readonly skipMissing?: boolean;
  /** Write `migrateMongo: { changelog, ... }` into the generated configuration: commit and rollback keep migrate-mongo's changelog in step. */
  readonly keepChangelog?: boolean;
}

export interface ImportMigrateMongoResult {
  readonly dryRun: boolean;
  /** The import's run id in delta's history and audit log; undefined for a dry run. */
  readonly runId: string | undefined;
  readonly source: {
    /** migrate-mongo's configuration file, as messages name it. */
    readonly configFile: string;
    readonly changelogCollection: string;
    readonly changelogEntries: number;
    /** Absolute path of the migrations folder. */
    readonly migrationsDir: string;
    readonly useFileHash: boolean;
  };
  /** Where the changelog was read and delta's history written (the URI redacted). */
  readonly target: { readonly db: string; readonly uri: string | undefined; readonly uriSource: string | undefined };
  /** The records written (or that would be), in id order. */
  readonly records: readonly PlannedRecord[];
  /** Files migrate-mongo's `status` shows PENDING: delta will run them. */
  readonly pending: readonly PendingFile[];
  /** Changelog entries left out because their file is gone (`skipMissing`). */
  readonly skippedMissing: readonly string[];
  /** How `delta create` will name new changes (written to the configuration as `create.id`), why, and an example. */
  readonly naming: { readonly pattern: string; readonly reason: string; readonly example: string };
  /** What the next `delta commit` does with `pending`, exactly as commit will decide it. */
  readonly nextCommit: NextCommit;
  readonly config: { readonly file: string; readonly content: string; readonly written: boolean; readonly uriWritten: boolean };
  /** What the user should know: settings not carried over, changes delta will see out of order... */
  readonly notes: readonly string[];
}

/**
 * The next `delta commit` after the import: it runs `runs` in this order; or, when a pending file is
 * older than the newest applied change (`outOfOrder`), it refuses (exit 4) and runs nothing, and
 * `command` runs every pending file as `migrate-mongo up` would.
 */
export interface NextCommit {
  readonly runs: readonly string[];
  readonly outOfOrder: readonly string[];
  readonly newestApplied: string | undefined;
  readonly command: string | undefined;
}

/** What the public API gives the import: configuration and connections wired as for every command. */
export interface AdoptionHost {
  readonly cwd: string;
  /** An application's client was given (then the import needs no URL). */
  readonly sharedClient: boolean;
  /** delta's configuration with `inline` in the place of a configuration file: flags and environment still win. */
  resolveConfig(inline: DeltaConfigInput): Promise<DeltaConfig>;
  /** Connects to the configuration's target and tracker. */
  open(config: DeltaConfig): Promise<AdoptionTarget>;
}

export interface AdoptionTarget {
  readonly targetDb: string;
  readonly db: Db;
  readonly tracker: Tracker;
  /** delta's lease lock of the target, the one commit and baseline take. */
  lock(command: string): Lease;
  close(): Promise<void>;
}

/**
 * `delta import migrate-mongo`: reads a migrate-mongo project (its
 * configuration, migrations folder and changelog collection) and writes the
 * equivalent delta history, under delta's lock, plus a `delta.config.mjs`
 * next to migrate-mongo's configuration. The changelog is only read.
 * Everything that can be refused is refused before anything is written.
 */
export async function importMigrateMongo(options: ImportMigrateMongoOptions, host: AdoptionHost): Promise<ImportMigrateMongoResult> {
  const started = performance.now();
  const source = await readMigrateMongoConfig(host.cwd, options.configFile);
  const config = await resolveFromMigrateMongo(source, host);
  const secrets = [...secretsOf(source.url), ...secretsOf(config.uri), ...secretsOf(config.tracker.uri)];
  if (!host.sharedClient && config.uri === undefined) {
    throw new ConfigError(`${source.label}: mongodb.url is not set (does it read an environment variable that is unset?); set it, or pass --uri or set DELTA_URI`);
  }
  if (!host.sharedClient && config.db === undefined) {
    throw new ConfigError(`${source.label}: mongodb.databaseName is not set and the URL names no database; set it, or pass --db`);
  }

  const files = await readMigrationFiles(config.path, source, config.pathSource, host.cwd);
  const naming = detectIdConvention(files.map((file) => file.id));
  const generated = generateDeltaConfig(source, config.path, new Date(), naming, options.keepChangelog === true);
  refuseExistingConfig(generated, host.cwd, options.force === true);

  const target = await guard(secrets, () => host.open(config));
  try {
    return await guard(secrets, async () => {
      const changelogLabel = `changelog "${source.changelogCollectionName}" in ${target.targetDb}`;
      const read = () => readAndPlan(target, source, files, { changelogLabel, force: options.force, skipMissing: options.skipMissing });
      const result = (planned: Planned, runId: string | undefined, written: boolean): ImportMigrateMongoResult => ({
        dryRun: !written,
        runId,
        source: {
          configFile: source.label,
          changelogCollection: source.changelogCollectionName,
          changelogEntries: planned.entries,
          migrationsDir: config.path,
          useFileHash: source.useFileHash,
        },
        target: {
          db: target.targetDb,
          uri: config.uri === undefined ? undefined : redact(config.uri, secrets),
          uriSource: config.uriSource,
        },
        records: planned.plan.records,
        pending: planned.plan.pending,
        skippedMissing: planned.plan.missing,
        nextCommit: nextCommitOf(planned.plan),
        naming: {
          ...naming,
          example: nextId(
            naming.pattern,
            files.map((file) => file.id),
            'next_change',
            new Date(),
          ).id,
        },
        config: { file: generated.file, content: generated.content, written, uriWritten: generated.uri.written },
        notes: notesFor(source, planned.plan, generated, host.cwd),
      });

      // A first read refuses early and is all a dry run shows; what is written is planned again under the lock.
      const preview = await read();
      if (options.dryRun === true) return result(preview, undefined, false);

      const runId = randomUUID();
      const lock = target.lock('import');
      await lock.acquire();
      let planned: Planned;
      try {
        planned = await read();
        await target.tracker.prepare();
        const common = { runId, targetDb: target.targetDb, action: 'baseline', outcome: 'success' } as const;
        const origin = { importedFrom: 'migrate-mongo', changelogCollection: source.changelogCollectionName };
        for (const record of planned.plan.records) {
          lock.assertHeld();
          const audit: AuditEvent = auditEvent({
            ...common,
            changeId: record.id,
            transactional: false,
            details: {
              ...origin,
              appliedAt: record.appliedAt,
              ...(record.fileHash === undefined ? {} : { fileHash: record.fileHash }),
              ...(record.replaces === undefined ? {} : { replaced: { status: record.replaces } }),
            },
          });
          // `at` is migrate-mongo's appliedAt: the record keeps when the change really ran.
          await target.tracker.record(
            { changeId: record.id, status: 'applied', checksum: record.checksum, file: record.file, description: undefined, runId, transactional: false, at: record.appliedAt },
            audit,
          );
        }
        lock.assertHeld();
        // One event for the import as a whole, so that it shows in `delta history` even when it imported nothing.
        await target.tracker.audit(
          auditEvent({
            ...common,
            durationMs: Math.round(performance.now() - started),
            details: {
              ...origin,
              configFile: source.label,
              imported: planned.plan.records.length,
              pending: planned.plan.pending.map((file) => file.id),
              skippedMissing: planned.plan.missing,
              deltaConfig: GENERATED_CONFIG,
            },
          }),
        );
      } finally {
        await lock.release().catch(() => undefined);
      }
      await writeConfig(generated, host.cwd, options.force === true);
      return result(planned, runId, true);
    });
  } finally {
    await target.close().catch(() => undefined);
  }
}

interface Planned {
  readonly plan: ImportPlan;
  readonly entries: number;
}

async function readAndPlan(
  target: AdoptionTarget,
  source: MigrateMongoConfig,
  files: readonly MigrateMongoFile[],
  options: { changelogLabel: string; force: boolean | undefined; skipMissing: boolean | undefined },
): Promise<Planned> {
  const [changelog, history, migrateMongoLock] = await Promise.all([
    // migrate-mongo's own read: the whole collection, natural order.
    target.db.collection(source.changelogCollectionName).find({}).toArray(),
    target.tracker.history(),
    source.lockCollectionName === undefined ? undefined : target.db.collection(source.lockCollectionName).findOne({}),
  ]);
  if (migrateMongoLock !== undefined && migrateMongoLock !== null) refuseMigrateMongoLock(source, target.targetDb, migrateMongoLock);
  const plan = planImport(files, changelog, history, {
    useFileHash: source.useFileHash,
    changelogLabel: options.changelogLabel,
    force: options.force,
    skipMissing: options.skipMissing,
  });
  return { plan, entries: changelog.length };
}

/** migrate-mongo (with `lockTtl` > 0) keeps a document in its lock collection while `up` runs: its changelog is moving. */
function refuseMigrateMongoLock(source: MigrateMongoConfig, targetDb: string, lock: Document): never {
  const since = lock.createdAt instanceof Date ? ` since ${lock.createdAt.toISOString()}` : '';
  throw new LockHeldError(
    `migrate-mongo's lock (${source.lockCollectionName ?? ''} in ${targetDb}) is in place${since}: a migrate-mongo run is in progress or died during one; ` +
      'let it finish (or, if it died, empty that collection) before importing',
    undefined,
  );
}

async function resolveFromMigrateMongo(source: MigrateMongoConfig, host: AdoptionHost): Promise<DeltaConfig> {
  const inline: DeltaConfigInput = {
    path: source.migrationsDir,
    ...(source.url === undefined ? {} : { uri: source.url }),
    ...(source.databaseName === undefined ? {} : { db: source.databaseName }),
  };
  try {
    const resolved = await host.resolveConfig(inline);
    // resolveConfig names an inline layer 'config'; here that layer is migrate-mongo's file.
    const named = (from: string | undefined, key: string) => (from === 'config' ? `${source.label} ${key}` : from);
    return { ...resolved, uriSource: named(resolved.uriSource, 'mongodb.url'), pathSource: named(resolved.pathSource, 'migrationsDir') ?? resolved.pathSource };
  } catch (error) {
    // The inline layer is migrate-mongo's file: name its keys, not delta's.
    if (error instanceof ConfigError && error.message.startsWith('config: ')) {
      const rest = error.message
        .slice('config: '.length)
        .replace(/^uri\b/, 'mongodb.url')
        .replace(/^db\b/, 'mongodb.databaseName')
        .replace(/^path\b/, 'migrationsDir');
      throw new ConfigError(`${source.label}: ${rest}`, { cause: error });
    }
    throw error;
  }
}

function refuseExistingConfig(generated: GeneratedConfig, cwd: string, force: boolean): void {
  const dir = dirname(generated.file);
  const existing = existingDeltaConfig(dir);
  if (existing === undefined) return;
  const shown = existing.startsWith('package.json') ? `${labelOf(cwd, join(dir, 'package.json'))} ("delta" key)` : labelOf(cwd, join(dir, existing));
  if (!force) throw new UsageError(`${shown} already exists: the import writes ${GENERATED_CONFIG} and never overwrites a configuration; remove it, or pass --force to replace ${GENERATED_CONFIG}`);
  if (existing !== GENERATED_CONFIG) throw new UsageError(`${shown} would still be loaded instead of ${GENERATED_CONFIG}: --force replaces only ${GENERATED_CONFIG}; move ${shown} away first`);
}

async function writeConfig(generated: GeneratedConfig, cwd: string, force: boolean): Promise<void> {
  try {
    // 'wx' fails if the file appeared since the check: never overwrite without --force.
    await writeFile(generated.file, generated.content, { flag: force ? 'w' : 'wx', mode: 0o600 });
  } catch (error) {
    const shown = labelOf(cwd, generated.file);
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') throw new UsageError(`${shown} appeared during the import; delta's history is written, the file is not (pass --force to replace it)`);
    throw new ConfigError(`cannot write ${shown}: ${messageOf(error)} (delta's history is written; write the file by hand from --dry-run's output)`, { cause: error });
  }
}

function nextCommitOf(plan: ImportPlan): NextCommit {
  const pending = plan.pending.map((file) => file.id);
  if (plan.outOfOrder.length === 0) return { runs: pending, outOfOrder: [], newestApplied: plan.newestApplied, command: undefined };
  return { runs: [], outOfOrder: plan.outOfOrder, newestApplied: plan.newestApplied, command: 'delta commit --out-of-order' };
}

function notesFor(source: MigrateMongoConfig, plan: ImportPlan, generated: GeneratedConfig, cwd: string): string[] {
  const notes: string[] = [];
  const list = (items: readonly string[]) => items.join(', ');
  if (source.environmentVariables.length > 0 || source.readsDotenv) {
    const names = source.environmentVariables.length > 0 ? `reads ${list(source.environmentVariables)} from the environment` : 'loads a .env file';
    notes.push(
      `${source.label} ${names}${source.readsDotenv ? ' (through dotenv)' : ''}: delta reads ./.env itself (and --dotenv <file>), but only its own variables: ` +
        'DELTA_URI (or MONGODB_URI) for the connection string, DELTA_DB for the database',
    );
  }
  if (!generated.uri.written) notes.push(`${GENERATED_CONFIG} leaves the connection string to DELTA_URI or MONGODB_URI: ${generated.uri.reason}`);
  if (source.ignoredOptions.length > 0) {
    notes.push(`mongodb.options (${list(source.ignoredOptions)}) are not carried over: delta connects with the connection string alone; put them in its query (e.g. ?tls=true)`);
  }
  const changed = plan.pending.filter((file) => file.reason === 'changed');
  if (changed.length > 0) {
    notes.push(
      `${list(changed.map((file) => file.file))}: applied, but changed since and useFileHash is on, so migrate-mongo would run ${changed.length === 1 ? 'it' : 'them'} again; pending for delta too`,
    );
  }
  if (plan.missing.length > 0) notes.push(`left out of delta history (no file): ${list(plan.missing)}`);
  const dir = dirname(generated.file);
  if (dir !== cwd) notes.push(`${GENERATED_CONFIG} is in ${labelOf(cwd, dir)}: run delta there, or pass --config ${labelOf(cwd, generated.file)}`);
  return notes;
}

/** Driver errors become DatabaseErrors with the URI's password hidden; DeltaErrors pass. */
async function guard<T>(secrets: readonly string[], work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    if (error instanceof DeltaError) throw error;
    throw new DatabaseError(`database error: ${redact(messageOf(error), secrets)}`, { cause: error });
  }
}
