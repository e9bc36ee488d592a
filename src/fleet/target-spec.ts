import { readFile } from 'node:fs/promises';
import { isAbsolute, resolve } from 'node:path';
import { UsageError } from '../errors.js';
import type { TargetEntry } from '../config/resolve-config.js';
import { deploymentName, sameConnection } from '../config/deployment-name.js';
import { DATABASE_NAME_RULE, isDatabaseName } from '../vocabulary/index.js';
import { checkEntries, expandUri, isFleetFile, parseFleetFile } from './target-file.js';

/** Where a fleet's target list comes from (`--targets`, or the configuration's `targets`). */
export interface TargetSpec {
  /** `a,b`, `tenant_*`, `a,tenant_*`, `@file`, `@fleet.yaml`; or a list of entries (the configuration's). */
  readonly spec: string | readonly TargetEntry[];
  /** How messages name it: `--targets`, `delta.config.json: targets`. */
  readonly source: string;
  /** The folder an `@file` is relative to. */
  readonly base: string;
}

export interface ResolveTargetsOptions {
  /** The deployment's databases (`listDatabases`), asked only when the spec has a glob. */
  readonly listDatabases: () => Promise<readonly string[]>;
  /** Databases a glob never matches (the tracker database of an external tracker). */
  readonly exclude?: readonly string[];
  /** Whether admin, local and config may be named (`--allow-system-db`); a glob never picks them. */
  readonly allowSystem?: boolean;
}

/** A deployment of a fleet: its name (the host list: no credentials) and its connection string (undefined: the run's own connection). */
export interface FleetDeployment {
  readonly name: string;
  readonly uri: string | undefined;
}

/** One target of a fleet: a database on a deployment (named as `FleetDeployment.name`). */
export interface FleetMember {
  readonly db: string;
  readonly deployment: string;
}

export interface ResolveFleetOptions extends Omit<ResolveTargetsOptions, 'listDatabases'> {
  /** A deployment's databases, asked only for a glob on it. */
  readonly listDatabases: (deployment: FleetDeployment) => Promise<readonly string[]>;
  /** Where `${VARIABLE}`s of entry uris are read. */
  readonly env: Readonly<Record<string, string | undefined>>;
  /** The run's own connection string (`--uri`...), when it has one. */
  readonly ownUri: string | undefined;
  /** The name of the run's own deployment; undefined when the run has no connection of its own. */
  readonly ownDeployment: string | undefined;
}

/** A fleet's targets in run order, and the deployments they are on (the run's own first when it has targets). */
export interface ResolvedFleet {
  readonly targets: readonly FleetMember[];
  readonly deployments: readonly FleetDeployment[];
}

/** MongoDB's own databases: a glob never picks them. */
const SYSTEM_DATABASES = new Set(['admin', 'local', 'config']);

/**
 * The target databases of a spec on one deployment, in name order without repeats. A name is
 * taken as written (it may not exist yet: a new tenant); a glob (`*`, `?`) matches the
 * deployment's databases and must match one; `@file` lists one name per line (blank lines and
 * `#` comments skipped). Bad input is a UsageError (exit 2) naming the spec's source and the part
 * at fault. Fleet files and entries with a deployment of their own are resolveFleet's.
 */
export async function resolveTargets(target: TargetSpec, options: ResolveTargetsOptions): Promise<string[]> {
  const { spec } = target;
  if (typeof spec !== 'string') throw new UsageError(`${target.source}: a list of entries is resolved with resolveFleet`);
  const trimmed = spec.trim();
  const items = trimmed.startsWith('@') ? await readTargetFile(target, trimmed.slice(1)) : trimmed.split(',').map((item) => item.trim());
  if (items.length === 0 || items.some((item) => item === '')) {
    throw new UsageError(`${target.source} ${JSON.stringify(spec)}: expected database names or globs separated by commas, e.g. tenant_a,tenant_b or 'tenant_*'`);
  }
  return (await namesOf(items, target.source, options)).sort();
}

/**
 * A fleet's targets over one or more deployments. A plain spec (`a,b`, globs, `@file` of names)
 * is on the run's own deployment, in name order. Entries (a fleet file `@fleet.yaml`/`.json`, or
 * the configuration's list) run in the entries' order, and in name order within an entry; an
 * entry's `uri` (its `${VARIABLES}` taken from `env`) names its deployment, the run's own when
 * absent. A deployment is its host list: one connection string per deployment (entries naming
 * the same hosts with other credentials or options are refused), and the same database on two
 * deployments is two targets.
 */
export async function resolveFleet(target: TargetSpec, options: ResolveFleetOptions): Promise<ResolvedFleet> {
  const { spec } = target;
  const file = typeof spec === 'string' && spec.trim().startsWith('@') ? spec.trim().slice(1) : undefined;
  let entries: readonly TargetEntry[];
  let label = target.source;
  if (typeof spec !== 'string') entries = checkEntries(spec, target.source);
  else if (file !== undefined && isFleetFile(file)) {
    label = `${target.source} @${file}`;
    const path = isAbsolute(file) ? file : resolve(target.base, file);
    entries = await parseFleetFile(await readText(label, path), file, label);
  } else {
    const own = ownDeployment(options, `${target.source}`);
    const listOwn = () => options.listDatabases(own);
    const names = await resolveTargets(target, { ...options, listDatabases: listOwn });
    return { targets: names.map((db) => ({ db, deployment: own.name })), deployments: [own] };
  }
  // Every entry's deployment first (variables, connection strings): a bad one is refused before any connection.
  const deployments = new Map<string, FleetDeployment & { readonly entry: number }>();
  const placed = entries.map((entry, index) => {
    const at = `${label}: entry ${index + 1}`;
    const deployment = entryDeployment(entry, at, options);
    const earlier = deployments.get(deployment.name);
    if (earlier === undefined) deployments.set(deployment.name, { ...deployment, entry: index + 1 });
    else if (earlier.uri !== deployment.uri && !(earlier.uri !== undefined && deployment.uri !== undefined && sameConnection(earlier.uri, deployment.uri))) {
      throw new UsageError(`${at}: key "uri" names the deployment ${deployment.name} of entry ${earlier.entry} with other credentials or options: one deployment, one connection string`);
    }
    return { entry, at, deployment };
  });
  // Then the names: a deployment's databases are listed once, for its first glob.
  const listed = new Map<string, Promise<readonly string[]>>();
  const seen = new Set<string>();
  const targets: FleetMember[] = [];
  for (const { entry, at, deployment } of placed) {
    const list = () => {
      let databases = listed.get(deployment.name);
      if (databases === undefined) {
        databases = options.listDatabases(deployment);
        listed.set(deployment.name, databases);
      }
      return databases;
    };
    const items = typeof entry.db === 'string' ? [entry.db] : [...entry.db];
    const names = (await namesOf(items, at, { ...options, listDatabases: list })).sort();
    for (const db of names) {
      const key = `${deployment.name}\u0000${db}`;
      if (seen.has(key)) continue;
      seen.add(key);
      targets.push({ db, deployment: deployment.name });
    }
  }
  return { targets, deployments: [...deployments.values()].map(({ name, uri }) => ({ name, uri })) };
}

/** The deployment of an entry: its uri's, or the run's own (also when its uri names the run's own deployment the same way). */
function entryDeployment(entry: TargetEntry, at: string, options: ResolveFleetOptions): FleetDeployment {
  if (entry.uri === undefined) return ownDeployment(options, at);
  const uri = expandUri(entry.uri, options.env, at);
  const name = deploymentName(uri);
  // The uri may hold a password: never shown, even when it is not a connection string.
  if (name === undefined) throw new UsageError(`${at}: key "uri" must be a mongodb:// or mongodb+srv:// connection string${entry.uri.includes('${') ? ' (after its ${VARIABLES})' : ''}`);
  if (name !== options.ownDeployment) return { name, uri };
  if (options.ownUri === undefined || sameConnection(uri, options.ownUri)) return { name, uri: undefined };
  throw new UsageError(`${at}: key "uri" names the run's own deployment ${name} with other credentials or options than its connection string: leave uri out, or connect the same way`);
}

function ownDeployment(options: ResolveFleetOptions, at: string): FleetDeployment {
  if (options.ownDeployment === undefined) throw new UsageError(`${at}: no uri, and the run has no connection string of its own (--uri, DELTA_URI)`);
  return { name: options.ownDeployment, uri: undefined };
}

/** Names and globs, resolved on one deployment: names as written, globs over its databases; without repeats, in the order found. */
async function namesOf(items: readonly string[], source: string, options: ResolveTargetsOptions): Promise<string[]> {
  const target = { source };
  const names = new Set<string>();
  let databases: readonly string[] | undefined;
  for (const item of items) {
    if (!isGlob(item)) {
      if (!isDatabaseName(item)) throw new UsageError(`${target.source}: ${JSON.stringify(item)} is not a database name (${DATABASE_NAME_RULE})`);
      if (SYSTEM_DATABASES.has(item) && options.allowSystem !== true) {
        throw new UsageError(`${target.source}: ${item} is one of MongoDB's own databases (admin, local, config): a fleet targets it only with --allow-system-db`);
      }
      names.add(item);
      continue;
    }
    databases ??= await listDatabases(target, item, options);
    const pattern = globPattern(item);
    const matched = databases.filter((db) => pattern.test(db) && !SYSTEM_DATABASES.has(db) && !(options.exclude ?? []).includes(db));
    if (matched.length === 0) throw new UsageError(`${target.source}: no database matches ${JSON.stringify(item)}`);
    for (const db of matched) names.add(db);
  }
  return [...names];
}

/**
 * The deployment's databases for a glob. MongoDB answers a user without the listDatabases
 * privilege with only the databases it may use, or, where it is asked to or is older, refuses
 * with Unauthorized (13): that refusal names the privilege and the way around it, not the command.
 */
async function listDatabases(target: { readonly source: string }, glob: string, options: ResolveTargetsOptions): Promise<readonly string[]> {
  try {
    return await options.listDatabases();
  } catch (error) {
    if (!isUnauthorized(error)) throw error;
    throw new UsageError(`${target.source}: ${JSON.stringify(glob)} needs the listDatabases privilege, which this user does not have; name the databases (a,b or @file) or grant listDatabases`, {
      cause: error,
    });
  }
}

/** Unauthorized (13), as the driver threw it or wrapped in a DeltaError's cause. */
function isUnauthorized(error: unknown): boolean {
  for (let current: unknown = error; current instanceof Error; current = current.cause) {
    if ((current as { code?: unknown }).code === 13) return true;
  }
  return false;
}

async function readTargetFile(target: TargetSpec, file: string): Promise<string[]> {
  if (file === '') throw new UsageError(`${target.source} @: expected a file name after @`);
  const path = isAbsolute(file) ? file : resolve(target.base, file);
  const text = await readText(`${target.source} @${file}`, path);
  const names = text
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'));
  if (names.length === 0) throw new UsageError(`${target.source} @${file}: the file lists no database`);
  return names;
}

async function readText(label: string, path: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : 'cannot be read';
    throw new UsageError(`${label}: ${reason} (${path})`, { cause: error });
  }
}

function isGlob(item: string): boolean {
  return item.includes('*') || item.includes('?');
}

/** `tenant_*` -> /^tenant_.*$/: `*` any run of characters, `?` one; everything else literal. */
function globPattern(glob: string): RegExp {
  const source = glob
    .replace(/[.+^${}()|[\]\\]/g, '\\$&')
    .replace(/\*/g, '.*')
    .replace(/\?/g, '.');
  return new RegExp(`^${source}$`);
}
