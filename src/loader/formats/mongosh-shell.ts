import { EventEmitter } from 'node:events';
import Module, { createRequire } from 'node:module';
import { types as utilTypes, inspect } from 'node:util';
import vm from 'node:vm';
import type * as AsyncRewriter from '@mongosh/async-rewriter2';
import type * as ShellApi from '@mongosh/shell-api';
import type { ShellInstanceState, ShellResult } from '@mongosh/shell-api';
import type { BSON } from 'mongodb';
import { ChangeFileError } from '../../errors.js';
import { DeltaServiceProvider } from './mongosh-service-provider.js';
import type { ChangeContext, TransactionMode } from '../../vocabulary/index.js';
import { TRANSACTION_MODES, isTransactionMode } from '../../vocabulary/index.js';

/** The optional peer packages, as a user installs them. */
export const MONGOSH_PACKAGES = ['@mongosh/shell-api@^5.9.0', '@mongosh/async-rewriter2@^2.6.0'] as const;

type ShellApiModule = typeof ShellApi;
type AsyncRewriterModule = typeof AsyncRewriter;

/** What delta uses of the mongosh packages, loaded once per process. */
export interface MongoshShell {
  readonly ShellInstanceState: ShellApiModule['ShellInstanceState'];
  readonly writer: InstanceType<AsyncRewriterModule['AsyncWriter']>;
  /** The rewriter's runtime support, compiled once: run in each script's context and, around evaluations, in delta's. */
  readonly supportInContext: vm.Script;
  readonly supportInHost: vm.Script;
}

/** A script checked and rewritten by mongosh's async rewriter, ready to run (any number of times). */
export interface MongoshScript {
  /** The file as messages name it (relative to the change folder). */
  readonly label: string;
  readonly compiled: vm.Script;
}

let loaded: MongoshShell | undefined;

/**
 * Loads `@mongosh/shell-api` and `@mongosh/async-rewriter2` from the project
 * (they are optional peer dependencies), or throws a ChangeFileError naming
 * `file` and the install command. `resolveFrom` is for tests.
 */
export function loadMongoshShell(file: string, resolveFrom: string = import.meta.url): MongoshShell {
  if (loaded !== undefined && resolveFrom === import.meta.url) return loaded;
  const load = createRequire(resolveFrom);
  let shellApi: ShellApiModule;
  let rewriter: AsyncRewriterModule;
  try {
    ({ shellApi, rewriter } = withMongoshTypesStandIn(() => ({
      shellApi: load('@mongosh/shell-api') as ShellApiModule,
      rewriter: load('@mongosh/async-rewriter2') as AsyncRewriterModule,
    })));
  } catch (error) {
    const missing = (error as NodeJS.ErrnoException).code === 'MODULE_NOT_FOUND' && /@mongosh\/(shell-api|async-rewriter2)'/.test((error as Error).message);
    const reason = missing ? 'the optional mongosh packages are not installed' : `the mongosh packages failed to load (${(error as Error).message.split('\n')[0] ?? ''})`;
    throw new ChangeFileError(`${file}: ${reason}; install them with: npm install ${MONGOSH_PACKAGES.join(' ')}`, file, { cause: error });
  }
  const writer = new rewriter.AsyncWriter();
  const support = writer.runtimeSupportCode();
  const shell: MongoshShell = {
    ShellInstanceState: shellApi.ShellInstanceState,
    writer,
    supportInContext: new vm.Script(support, { filename: 'mongosh-runtime-support.js' }),
    // Wrapped in a function: its `var`s must not become globals of delta's process.
    supportInHost: new vm.Script(`(function () {\n${support}\n})();`, { filename: 'mongosh-runtime-support.js' }),
  };
  if (resolveFrom === import.meta.url) loaded = shell;
  return shell;
}

/**
 * `@mongosh/shell-api` 5.9 requires `@mongosh/types` when it loads without
 * declaring it (it is a devDependency there), and installing `@mongosh/types`
 * brings `devtools-connect` with ssh2, socks and native optional packages:
 * the install this runner exists to avoid. All the shell reads from it is the
 * class of its config defaults, so while the two packages load, a failed
 * resolution of that one name is answered with a stand-in; an installed
 * `@mongosh/types` is used as is. Node 20 has no public hook for a require's
 * resolution, hence `Module._resolveFilename`, put back before this function
 * returns (the loads are synchronous: nothing else resolves in between).
 */
function withMongoshTypesStandIn<T>(load: () => T): T {
  const hooks = Module as unknown as { _resolveFilename: (request: string, ...rest: unknown[]) => string; _cache: Record<string, Module> };
  const original = hooks._resolveFilename;
  const standInPath = '\0delta:@mongosh/types';
  if (hooks._cache[standInPath] === undefined) {
    const standIn = new Module(standInPath);
    standIn.filename = standInPath;
    standIn.loaded = true;
    standIn.exports = MONGOSH_TYPES_STAND_IN;
    hooks._cache[standInPath] = standIn;
  }
  hooks._resolveFilename = function resolveWithStandIn(this: unknown, request: string, ...rest: unknown[]): string {
    try {
      return original.call(this, request, ...rest);
    } catch (error) {
      if (request === '@mongosh/types') return standInPath;
      throw error;
    }
  };
  try {
    return load();
  } finally {
    hooks._resolveFilename = original;
  }
}

/** What shell-api reads from `@mongosh/types`: the defaults of `config.get()` (mongosh 5.9's values). */
const MONGOSH_TYPES_STAND_IN = Object.freeze({
  ShellUserConfig: class ShellUserConfig {
    displayBatchSize = 20;
    maxTimeMS = null;
    enableTelemetry = false;
    editor = null;
    disableSchemaSampling = false;
  },
});

/**
 * Checks and rewrites a script with mongosh's async rewriter (Babel), so a
 * syntax error is bad input naming `label:line:column` before anything runs.
 */
export function prepareScript(shell: MongoshShell, source: string, label: string): MongoshScript {
  let rewritten: string;
  try {
    rewritten = shell.writer.process(source);
  } catch (error) {
    const loc = (error as { loc?: { line?: number; column?: number } }).loc;
    const where = loc?.line === undefined ? '' : `:${loc.line}:${(loc.column ?? 0) + 1}`;
    const message = ((error as Error).message.split('\n')[0] ?? '').replace(/\.?\s*\(\d+:\d+\)$/, '');
    throw new ChangeFileError(`${label}${where}: syntax error: ${message}`, label, { cause: error });
  }
  return { label, compiled: new vm.Script(rewritten, { filename: label }) };
}

/** `// delta:key=value` in the commit file's leading comments (Flyway's `-- flyway:` script settings, for mongosh). */
const DIRECTIVE = /^\/\/\s*delta:\s*(\S*?)\s*=\s*(.*?)\s*$/;

/**
 * The change's own transaction mode, from a `// delta:transaction=<mode>`
 * line among the comments that open the commit file; undefined without one.
 * Any other `// delta:` setting there is refused, naming the line.
 */
export function transactionDirective(source: string, label: string): TransactionMode | undefined {
  let transaction: TransactionMode | undefined;
  const lines = source.split(/\r\n?|\n/);
  for (const [index, raw] of lines.entries()) {
    const line = raw.trim();
    if (line === '' || (index === 0 && line.startsWith('#!'))) continue;
    if (!line.startsWith('//')) break;
    if (!/^\/\/\s*delta:/.test(line)) continue;
    const where = `${label}:${index + 1}`;
    const found = DIRECTIVE.exec(line);
    if (found === null) throw new ChangeFileError(`${where}: expected // delta:transaction=auto|always|never`, label);
    const [, key, value] = found as unknown as [string, string, string];
    if (key !== 'transaction') throw new ChangeFileError(`${where}: unknown setting delta:${key}; a mongosh change can set only delta:transaction`, label);
    if (!isTransactionMode(value)) {
      throw new ChangeFileError(`${where}: delta:transaction must be one of ${TRANSACTION_MODES.join(', ')}, got ${JSON.stringify(value)}`, label);
    }
    transaction = value as TransactionMode;
  }
  return transaction;
}

/** A script's own failure, named by its file; the driver's error (code, labels) stays as `cause`. */
export class MongoshScriptError extends Error {
  readonly code: number | string | undefined;

  constructor(label: string, error: unknown) {
    const message = utilTypes.isNativeError(error) || (typeof error === 'object' && error !== null && 'message' in error) ? String((error as Error).message) : inspect(error);
    super(`${label}: ${message}`, { cause: error });
    const code = (error as { code?: unknown } | null)?.code;
    this.code = typeof code === 'number' || typeof code === 'string' ? code : undefined;
  }

  override get name(): string {
    return 'MongoshScriptError';
  }
}

/**
 * Runs a prepared script with `db` bound to the change's database, through a
 * ServiceProvider over delta's client that puts every operation in the
 * change's session (its transaction, when it has one). `print`, `printjson`
 * and `console.*` write to the run's event log; the change's signal
 * (timeout, Ctrl-C) interrupts the script at its next shell call.
 */
export async function runScript(shell: MongoshShell, script: MongoshScript, context: ChangeContext): Promise<void> {
  if (context.signal.aborted) throw context.signal.reason;
  const provider = new DeltaServiceProvider(context.client, context.db.databaseName, context.session);
  const leave = enterHostSupport(shell, provider.bsonLibrary);
  let state: ShellInstanceState | undefined;
  const onAbort = () => void state?.interrupted.set();
  // quit(code) / exit(code): the script ends there, a failure unless the code is 0.
  let exitCode: number | undefined;
  const onExit = (code?: number): Promise<never> => {
    exitCode = code ?? 0;
    return Promise.reject(new Error(`quit(${exitCode})`));
  };
  try {
    // deepInspect off: results are plain driver values, printed by delta.
    state = new shell.ShellInstanceState(provider, new EventEmitter(), { deepInspect: false });
    // The shell's background fetch of collection and database names (for completion) would share the session.
    state.setPreFetchCollectionAndDatabaseNames(false);
    state.setEvaluationListener({ onPrint: (values: ShellResult[]) => logPrinted(values, context.log), onExit });
    // Its own realm: the script's globals and the rewriter's helpers stay out of delta's.
    const sandbox = vm.createContext({});
    state.setCtx(sandbox);
    shell.supportInContext.runInContext(sandbox);
    context.signal.addEventListener('abort', onAbort, { once: true });
    await script.compiled.runInContext(sandbox);
  } catch (error) {
    if (context.signal.aborted) throw context.signal.reason;
    if (exitCode === 0) return;
    throw new MongoshScriptError(script.label, exitCode === undefined ? error : new Error(`quit(${exitCode})`));
  } finally {
    context.signal.removeEventListener('abort', onAbort);
    leave();
    await provider.dispose();
  }
}

function logPrinted(values: readonly ShellResult[], log: (line: string) => void): void {
  const text = values.map((value) => (typeof value.printable === 'string' ? value.printable : inspect(value.printable, { depth: 6, breakLength: Infinity }))).join(' ');
  for (const line of text.split('\n')) log(line);
}

/**
 * The rewriter's runtime support replaces Array, Map, Set and TypedArray
 * iteration methods (and Function.prototype.toString) with versions that
 * wait for shell calls made in their callbacks, and the shell adds help
 * metadata to the BSON classes' prototypes. Scripts need that in delta's own
 * realm too, for arrays the driver returns (`db.getCollectionNames().forEach(...)`):
 * without it such callbacks run unawaited and their errors escape. mongosh
 * patches its process for good; delta is often a library inside an
 * application, so the patch holds only while scripts run (counted, for
 * parallel stages) and every property is put back afterwards.
 */
let running = 0;
let saved: SavedProperties | undefined;

type SavedProperties = ReadonlyMap<object, ReadonlyMap<PropertyKey, PropertyDescriptor>>;

function enterHostSupport(shell: MongoshShell, bson: typeof BSON): () => void {
  if (running === 0) {
    saved = snapshot(patchedPrototypes(bson));
    shell.supportInHost.runInThisContext();
  }
  running += 1;
  let left = false;
  return () => {
    if (left) return;
    left = true;
    running -= 1;
    if (running === 0 && saved !== undefined) {
      restore(saved);
      saved = undefined;
    }
  };
}

function patchedPrototypes(bson: typeof BSON): object[] {
  const typedArray = Object.getPrototypeOf(Uint8Array.prototype) as object;
  const bsonClasses = Object.values(bson as unknown as Record<string, unknown>).filter(
    (value): value is { prototype: object } => typeof value === 'function' && typeof (value as { prototype?: unknown }).prototype === 'object',
  );
  return [Array.prototype, typedArray, Map.prototype, Set.prototype, Function.prototype, ...bsonClasses.map((cls) => cls.prototype)];
}

function snapshot(targets: readonly object[]): SavedProperties {
  return new Map(targets.map((target) => [target, new Map(Reflect.ownKeys(target).map((key) => [key, Reflect.getOwnPropertyDescriptor(target, key) as PropertyDescriptor]))]));
}

function restore(properties: SavedProperties): void {
  for (const [target, descriptors] of properties) {
    for (const key of Reflect.ownKeys(target)) {
      if (!descriptors.has(key)) Reflect.deleteProperty(target, key);
    }
    for (const [key, descriptor] of descriptors) {
      const now = Reflect.getOwnPropertyDescriptor(target, key);
      if (now?.value !== descriptor.value || now?.get !== descriptor.get || now?.set !== descriptor.set) Reflect.defineProperty(target, key, descriptor);
    }
  }
}
