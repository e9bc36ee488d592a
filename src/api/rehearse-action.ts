// `delta rehearse`: the target copied into a scratch database (beside it, or on another server
// such as the built-in sandbox), where the pending changes are committed, rolled back and
// committed again (src/rehearse). The target is only read; its history is copied, never written.
import { randomBytes } from 'node:crypto';
import type { DeltaConfig } from '../config/resolve-config.js';
import type { Connection } from '../connection/connect.js';
import { openConnection } from '../connection/connect.js';
import { ChangeFailedError, UsageError } from '../errors.js';
import type { RehearsalHost, RehearsalResult } from '../rehearse/rehearsal.js';
import { rehearse } from '../rehearse/rehearsal.js';
import { DeltaEventEmitter } from '../runner/events.js';
import type { CommitPlanOptions } from '../runner/plan.js';
import { Runner } from '../runner/runner.js';
import { WriteCounter } from '../runner/write-counter.js';
import type { RecordWrite } from '../tracker/tracker.js';
import type { ChangeSource } from '../vocabulary/index.js';
import { DATABASE_NAME_RULE, isDatabaseName } from '../vocabulary/index.js';
import type { ConnectedTarget } from './connected-target.js';
import { leaseLock, mongoTarget } from './connected-target.js';

export interface RehearseOptions extends CommitPlanOptions {
  /** Documents copied per collection (default 1,000). */
  readonly sample?: number;
  /** The scratch database (must be empty); default `<db>_rehearse_<random>` beside the target, or the target's name on `scratchUri`. */
  readonly scratchDb?: string;
  /** Another server to rehearse on (`--in-sandbox` passes the built-in one's): the target's deployment is then only read. */
  readonly scratchUri?: string;
  /** Keep the scratch database afterwards. */
  readonly keep?: boolean;
  readonly timeoutMs?: number;
  readonly interrupt?: AbortSignal;
}

export interface RehearseResult extends RehearsalResult {
  readonly targetDb: string;
  readonly scratchDb: string;
  /** The scratch database is on another server (`--in-sandbox`), not beside the target. */
  readonly elsewhere: boolean;
  readonly kept: boolean;
  readonly sample: number;
}

const SYSTEM_DATABASES = ['admin', 'local', 'config'];

/** Rehearses the target's pending changes in a scratch database (see rehearse()). */
export async function rehearseOn(opened: ConnectedTarget, source: ChangeSource, options: RehearseOptions): Promise<RehearseResult> {
  const { config, targetDb } = opened;
  const sample = options.sample ?? 1000;
  const elsewhere = options.scratchUri !== undefined;
  const scratchDb = options.scratchDb ?? (elsewhere ? targetDb : `${targetDb.slice(0, 44)}_rehearse_${randomBytes(4).toString('hex')}`);
  if (!isDatabaseName(scratchDb)) throw new UsageError(`--scratch-db: ${JSON.stringify(scratchDb)} is not a database name (${DATABASE_NAME_RULE})`);
  if (SYSTEM_DATABASES.includes(scratchDb)) throw new UsageError(`--scratch-db: ${scratchDb} is one of MongoDB's own databases; name a scratch database of your own`);
  if (!elsewhere && (scratchDb === targetDb || scratchDb === config.tracker.db)) {
    throw new UsageError(`--scratch-db: ${scratchDb} is the target${scratchDb === targetDb ? '' : "'s tracker"} database; a rehearsal runs in a database of its own and drops it afterwards`);
  }
  const connection: Connection = elsewhere ? await openConnection({ uri: options.scratchUri ?? '', source: '--in-sandbox', connectTimeoutMs: config.connectTimeoutMs }) : opened.target;
  const scratch = connection.db(scratchDb);
  let created = false;
  // Writes that reach the target while changes run in the scratch database (a change that names
  // a database of its own instead of using ctx.db): the rehearsal reports them.
  const stopWatch = elsewhere ? undefined : WriteCounter.of(opened.target.client).count(targetDb, undefined, opened.ownNamespaces);
  try {
    if ((await scratch.listCollections({}, { nameOnly: true }).toArray()).length > 0) {
      throw new UsageError(`--scratch-db: ${scratchDb} already holds collections; a rehearsal needs an empty database (and drops it afterwards)`);
    }
    created = true;
    const result = await rehearse(scratchHost(opened, source, options, connection, scratchDb), { sample });
    const escaped = stopWatch?.();
    const written = escaped === undefined ? [] : [...escaped.writes.keys(), ...escaped.ddl.map((d) => d.collection)];
    const outcome = { ...result, targetDb, scratchDb, elsewhere, kept: options.keep === true, sample };
    if (written.length === 0) return outcome;
    const error = new ChangeFailedError(
      `a change wrote to the target database ${targetDb} during the rehearsal (${[...new Set(written)].join(', ')}): changes must write through ctx.db; check the target`,
      result.changes.join(', '),
    );
    return { ...outcome, error };
  } finally {
    stopWatch?.();
    if (created && options.keep !== true) await scratch.dropDatabase().catch(() => undefined);
    if (elsewhere) await connection.close().catch(() => undefined);
  }
}

/** The scratch database as a target of its own: an internal tracker there, its own lock, no hooks, services or backups. */
function scratchHost(opened: ConnectedTarget, source: ChangeSource, options: RehearseOptions, connection: Connection, scratchDb: string): RehearsalHost {
  const { config } = opened;
  const internal: DeltaConfig = { ...config, tracker: { ...config.tracker, uri: undefined, uriSource: undefined, db: undefined } };
  const scratchTarget = mongoTarget(internal, { target: connection, trackerConnection: undefined }, scratchDb, scratchDb);
  const runner = new Runner({
    client: connection.client,
    db: connection.db(scratchDb),
    deployment: connection.deployment,
    tracker: scratchTarget.tracker,
    lockScope: scratchDb,
    lock: (command, onLost) => leaseLock(scratchTarget, command, onLost),
    events: new DeltaEventEmitter(),
    transaction: config.transaction,
    autoRollback: config.autoRollback,
    groupTransactions: false,
    ownNamespaces: scratchTarget.ownNamespaces,
    // A change's `backup` of the scratch database would back up a copy: skipped.
    backup: () => Promise.resolve({ id: 'rehearsal', path: '', collections: [], documents: 0, bytes: 0, durationMs: 0 }),
  });
  const { to, only, tags, stage, env, allowDrift, outOfOrder, timeoutMs, interrupt } = options;
  const filters = { tags, stage, env, allowDrift, outOfOrder };
  const control = { timeoutMs, interrupt };
  return {
    target: opened.target.db(opened.targetDb),
    targetOwn: opened.ownCollections,
    scratch: connection.db(scratchDb),
    scratchOwn: scratchTarget.ownCollections,
    async copyHistory() {
      const history = await opened.tracker.history();
      if (history.length === 0) return;
      await scratchTarget.tracker.prepare();
      const writes: RecordWrite[] = history.map((entry) => ({
        change: {
          changeId: entry.changeId,
          status: entry.status,
          checksum: entry.checksum,
          file: entry.file,
          description: entry.description,
          stage: entry.stage,
          runner: entry.runner,
          runId: 'rehearsal',
          transactional: entry.transactional,
          at: entry.appliedAt ?? entry.rolledBackAt ?? new Date(),
          appliedSeq: entry.appliedSeq,
          error: entry.error,
          reason: entry.reason,
        },
      }));
      await scratchTarget.tracker.recordAll(writes);
    },
    async pending() {
      const planned = await runner.commit(source, { ...filters, to, only, dryRun: true });
      if (planned.error !== undefined) throw planned.error;
      return planned.changes.map((change) => change.id);
    },
    // Every change before `id` is applied already: `to` (or `only`) runs exactly `id`, with the run's filters.
    commitOne: (id) => runner.commit(source, { ...filters, ...(only === undefined ? { to: id } : { only: id }), ...control }),
    rollbackLast: () => runner.rollback(source, { allowDrift, ...control }),
  };
}
