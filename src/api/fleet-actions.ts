import type { DeltaConfig } from '../config/resolve-config.js';
import { ConfigError } from '../errors.js';
import type { FleetDeployment, FleetMember, FleetRunResult, FleetStatusResult, FleetWaves, ResolvedFleet, TargetSpec, TargetStatus } from '../fleet/index.js';
import { fleetStatus, forEachTarget, resolveFleet, runFleet, splitIntoWaves, waveNumbers } from '../fleet/index.js';
import type { DeltaEventEmitter } from '../runner/events.js';
import type { StatusResult } from '../runner/results.js';
import type { CommitOptions, RollbackOptions } from '../runner/runner.js';
import type { ChangeFilter, ChangeSource, Direction, RunResult } from '../vocabulary/index.js';
import { parseWaves, waveCounts } from '../vocabulary/index.js';

/** Which targets a fleet call goes over, and how. */
export interface FleetOptions {
  /**
   * A comma list of database names and globs (`tenant_*`, matched against `listDatabases`),
   * `@file` (one name per line), or `@fleet.yaml`/`.json` (entries `{ uri?, db }`); a list of
   * names, globs and `{ uri?, db }` entries (databases on a deployment of their own; `uri` may
   * name environment variables: `${EU_URI}`). Default: the configuration's `targets`.
   */
  readonly targets?: string | readonly (string | { readonly uri?: string; readonly db: string | readonly string[] })[];
  /** Targets run at once on each deployment (default: configuration `fleet.concurrency`, else 4). */
  readonly concurrency?: number;
  /** Targets run at once over the whole fleet (default: configuration `fleet.totalConcurrency`, else no cap). */
  readonly totalConcurrency?: number;
  /** Start no new target once one failed (default: configuration `fleet.failFast`, else false). */
  readonly failFast?: boolean;
  /** Waves (`1,10%,rest`): each starts only after the one before finished within `maxFailureRate` (default: configuration `fleet.waves`). */
  readonly waves?: string;
  /** The share of a wave's targets (0 to 1) that may fail with the next wave still started (default: `fleet.maxFailureRate`, else 0). */
  readonly maxFailureRate?: number;
}

export type FleetCommitOptions = CommitOptions & FleetOptions;
export type FleetRollbackOptions = RollbackOptions & FleetOptions;
export type FleetStatusOptions = ChangeFilter & Omit<FleetOptions, 'failFast' | 'maxFailureRate'>;

/** One target of a fleet, wired by createDelta over the fleet's shared connections. */
export interface FleetTarget {
  commit(source: ChangeSource, options: CommitOptions): Promise<RunResult>;
  rollback(source: ChangeSource, options: RollbackOptions): Promise<RunResult>;
  status(source: ChangeSource, filter: ChangeFilter): Promise<StatusResult>;
}

/** What the fleet actions need from a `Delta`. */
export interface FleetHost {
  readonly config: DeltaConfig;
  readonly cwd: string;
  readonly events: DeltaEventEmitter;
  changeSource(): Promise<ChangeSource>;
  /** Where `${VARIABLES}` of a fleet file's uris are read. */
  readonly env: Readonly<Record<string, string | undefined>>;
  /** The run's own connection string, and its deployment's name (undefined: the run has no connection of its own). */
  readonly ownUri: string | undefined;
  readonly ownDeployment: string | undefined;
  listDatabases(deployment: FleetDeployment): Promise<string[]>;
  /** The tracker database when it is set apart (a glob never selects it). */
  readonly trackerDb: string | undefined;
  /** Opens the fleet's deployments (one connection each, shared by their targets) and wires each target. */
  connect(deployments: readonly FleetDeployment[]): Promise<(target: FleetMember) => FleetTarget>;
}

export async function commitFleet(host: FleetHost, options: FleetCommitOptions): Promise<FleetRunResult> {
  const env = options.env ?? host.config.env;
  return runOverFleet(host, 'commit', options, (target, source) => target.commit(source, { ...options, env, backup: options.backup ?? host.config.backup.default }));
}

export async function rollbackFleet(host: FleetHost, options: FleetRollbackOptions): Promise<FleetRunResult> {
  return runOverFleet(host, 'rollback', options, (target, source) => target.rollback(source, options));
}

export async function statusFleet(host: FleetHost, options: FleetStatusOptions): Promise<FleetStatusResult> {
  const source = await host.changeSource();
  const { targets, deployments } = await targetsOf(host, options);
  const targetOf = await host.connect(deployments);
  const filter: ChangeFilter = { env: options.env ?? host.config.env, tags: options.tags };
  const statuses = new Map<FleetMember, TargetStatus>();
  const limits = { perDeployment: options.concurrency ?? host.config.fleet.concurrency, total: options.totalConcurrency ?? host.config.fleet.totalConcurrency };
  await forEachTarget(targets, limits, {
    work: async (target) => {
      try {
        statuses.set(target, { target, status: await targetOf(target).status(source, filter) });
      } catch (error) {
        statuses.set(target, { target, error: error instanceof Error ? error : new Error(String(error)) });
      }
    },
  });
  const waves = wavesOf(host, options, targets);
  return fleetStatus(
    targets.flatMap((target) => statuses.get(target) ?? []),
    waves === undefined ? undefined : waveNumbers(splitIntoWaves(targets, waves.counts)),
  );
}

async function runOverFleet(
  host: FleetHost,
  command: Direction,
  options: FleetOptions & { readonly interrupt?: AbortSignal },
  run: (target: FleetTarget, source: ChangeSource) => Promise<RunResult>,
): Promise<FleetRunResult> {
  // Change files are read (and refused when bad) before any target is touched.
  const source = await host.changeSource();
  const { targets, deployments } = await targetsOf(host, options);
  const targetOf = await host.connect(deployments);
  const { events } = host;
  const index = new Map(targets.map((target, at) => [target, at]));
  return runFleet(
    targets,
    {
      command,
      concurrency: options.concurrency ?? host.config.fleet.concurrency,
      totalConcurrency: options.totalConcurrency ?? host.config.fleet.totalConcurrency,
      failFast: options.failFast ?? host.config.fleet.failFast,
      waves: wavesOf(host, options, targets),
      interrupt: options.interrupt,
      onStart: (target) =>
        events.emit('target:start', { command, target: target.db, deployment: target.deployment, deployments: deployments.length, index: index.get(target) ?? -1, total: targets.length }),
      onEnd: (r) =>
        events.emit('target:end', {
          command,
          target: r.target,
          deployment: r.deployment,
          outcome: r.outcome,
          done: r.done,
          failed: r.failed,
          pending: r.pending,
          durationMs: r.durationMs,
          error: r.error === undefined ? undefined : { code: r.error.code, message: r.error.message },
        }),
    },
    (target) => run(targetOf(target), source),
  );
}

/** The waves of this call (its option, else the configuration's), sized for `targets`; undefined without waves. */
function wavesOf(host: FleetHost, options: FleetOptions, targets: readonly FleetMember[]): FleetWaves | undefined {
  const spec = options.waves ?? host.config.fleet.waves;
  if (spec === undefined) return undefined;
  const parsed = parseWaves(spec);
  if ('problem' in parsed) throw new ConfigError(`waves: ${parsed.problem}`);
  const maxFailureRate = options.maxFailureRate ?? host.config.fleet.maxFailureRate;
  if (!(maxFailureRate >= 0 && maxFailureRate <= 1)) throw new ConfigError('maxFailureRate must be a share of targets between 0 and 1');
  return { counts: waveCounts(parsed, targets.length), maxFailureRate, betweenWaves: host.config.fleet.betweenWaves };
}

async function targetsOf(host: FleetHost, options: FleetOptions): Promise<ResolvedFleet> {
  const spec: TargetSpec | undefined = options.targets !== undefined ? { spec: specOf(options.targets), source: '--targets', base: host.cwd } : host.config.targets;
  if (spec === undefined) throw new ConfigError('no targets: pass --targets (names, a glob such as tenant_*, @file or @fleet.yaml) or set targets in the configuration');
  if (options.concurrency !== undefined && (!Number.isInteger(options.concurrency) || options.concurrency < 1)) throw new ConfigError('concurrency must be a positive whole number');
  if (options.totalConcurrency !== undefined && (!Number.isInteger(options.totalConcurrency) || options.totalConcurrency < 1)) {
    throw new ConfigError('totalConcurrency must be a positive whole number');
  }
  return resolveFleet(spec, {
    listDatabases: (deployment) => host.listDatabases(deployment),
    exclude: host.trackerDb === undefined ? [] : [host.trackerDb],
    allowSystem: host.config.allowSystemDb,
    env: host.env,
    ownUri: host.ownUri,
    ownDeployment: host.ownDeployment,
  });
}

/** Names and globs as `a,b`; a list with entries stays a list (a name is `{ db }`). */
function specOf(targets: NonNullable<FleetOptions['targets']>): TargetSpec['spec'] {
  if (typeof targets === 'string') return targets;
  const names = targets.filter((item): item is string => typeof item === 'string');
  if (names.length === targets.length) return names.join(',');
  return targets.map((item) => (typeof item === 'string' ? { uri: undefined, db: item } : { uri: item.uri, db: item.db }));
}
