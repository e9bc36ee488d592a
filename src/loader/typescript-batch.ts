// TypeScript files compiled in one concurrent batch instead of one blocking call each.
//
// tsx compiles every file it loads through CommonJS with esbuild's `transformSync`: each call
// blocks this thread for a round trip to esbuild's worker thread and its Go process (about
// 1.6 ms for a small change file, measured on 1,000). With a cold compile cache (a CI machine,
// a fresh container) that is most of the load. esbuild's asynchronous `transform` compiles many
// files at once on every core while this thread goes on loading the ones already compiled.
//
// tsx decides the compile options (its tsconfig handling, source maps, `import.meta`), so delta
// does not guess them: tsx's copy of esbuild is given a `transformSync` that, the first time
// tsx asks it to compile a file of the batch, takes the options tsx passed as the template and
// starts compiling that file and every other file of the batch asynchronously. That first load
// is then stopped (a `CompileAhead` signal thrown through tsx, which leaves nothing behind: Node
// forgets a module whose load threw) and tried again once its compile is done, so no file waits
// on esbuild's synchronous channel, whose worker thread alone costs ~0.1 s to start. When tsx then asks
// for one of them, the result is handed over only if the source text and every option are
// exactly the ones tsx asks for; anything else (a file using `import.meta`, an edit between the
// read and the load, a syntax error) is compiled by tsx's own call as before. What tsx caches
// and runs is therefore byte for byte what it would have compiled itself.
//
// While such a cold batch loads, tsx's look-ups in its disk cache are answered from one listing
// of the cache folder: tsx tries eight file names for each file it loads, and on a cold cache
// each is a failing `open` (8,000 for 1,000 files). An entry another process writes after the
// listing is compiled again instead of read, which is what a cold cache does anyway. The
// entries tsx writes meanwhile (creating a file costs ~0.15 ms here, more while esbuild has both
// cores) are written once the batch has loaded, while the run waits on the database; an entry
// that a process ending at once never writes is compiled again next time, as tsx's own
// unawaited writes would be.
import fs from 'node:fs';
import { createRequire } from 'node:module';
import { basename, dirname, extname, sep } from 'node:path';

type EsbuildOptions = Record<string, unknown> & { sourcefile?: unknown; define?: unknown };
type TransformSync = (input: string, options?: EsbuildOptions) => unknown;

interface Esbuild {
  readonly transformSync: TransformSync;
  transform(input: string, options?: EsbuildOptions): Promise<unknown>;
}

/** tsx's CommonJS API, as delta uses it. */
export interface TsxCjsApi {
  register(options: { namespace: string }): {
    require(id: string, fromFile: string): unknown;
    unregister(): void;
  };
}

/** A batch of files about to be loaded through tsx: `ready(path)`, then `load(path, ...)`, for each. */
export interface CompileBatch {
  /** Resolves once the file's asynchronous compile (if one was started) has finished. */
  ready(path: string): Promise<void> | undefined;
  /** Runs tsx's synchronous load of `path`; again once its compile is done when that load started the batch. */
  load<T>(path: string, run: () => T): Promise<T>;
  /** Forgets the batch's files and whatever of their output was not used. */
  release(): void;
}

interface Prefetched {
  readonly input: string;
  readonly options: string;
  readonly result: unknown;
}

interface Template {
  readonly extension: string;
  /** The template file's path without its extension. */
  readonly stem: string;
  readonly options: EsbuildOptions;
  /** The options whose value holds the template file's path. */
  readonly pathIn: ReadonlySet<string>;
}

/** Fewer files than this are left to tsx: a batch costs esbuild's service start-up (~30 ms). */
const MIN_BATCH = 8;

/**
 * Files compiling at once. esbuild alone on 1,000 small files: 0.60 s with 64 in flight, 0.68 s
 * with 16, 0.77 s with all of them (a whole cold commit: within the noise); results also come
 * back in file order, so loading starts at once and few compiled files wait in memory.
 */
const COMPILE_WINDOW = 64;

/** The name of an entry of tsx's disk cache: `<time bucket>-<sha1>`. */
const CACHE_ENTRY = /^\d+-[0-9a-f]{40}$/;

type ReadFileSync = typeof fs.readFileSync;

/** Thrown through tsx by the load that started a batch: it is tried again once its file is compiled. */
class CompileAhead extends Error {
  constructor() {
    const limit = Error.stackTraceLimit;
    Error.stackTraceLimit = 0;
    super('delta: compiling this file with its batch (the load is tried again)');
    Error.stackTraceLimit = limit;
  }
}

/** How many files this process compiled ahead, and how many of those tsx took. */
export interface BatchStats {
  compiled: number;
  used: number;
}

class BatchCompiler {
  readonly stats: BatchStats = { compiled: 0, used: 0 };
  /** Files of open batches not yet asked for, by path: the candidates for compiling ahead. */
  private readonly waiting = new Set<string>();
  private readonly compiling = new Map<string, Promise<void>>();
  /** Finished compiles by the `sourcefile` tsx will ask for. */
  private readonly compiled = new Map<string, Prefetched>();
  private readonly sourcefiles = new Map<string, string>();
  /** The batch file tsx is loading now (its imports compile under it too). */
  private current: string | undefined;
  /** Compiles tsx asked for a batch file itself (ours or its own): one that loads without any came from tsx's cache. */
  private compilesOfCurrent = 0;
  /** Each batch file's batch: one that has loaded a file from tsx's cache is warm and never compiles ahead. */
  private readonly batchOf = new Map<string, { warm: boolean }>();
  /** While a cold batch loads: the entries of tsx's cache folders, listed once. */
  private cacheListings: Map<string, Set<string>> | undefined;
  /** Cache entries tsx wrote while a cold batch loaded, written once it has. */
  private readonly deferredWrites: (() => void)[] = [];

  constructor(private readonly esbuild: Esbuild) {}

  /** The `readFileSync` tsx's cache reads with: a name missing from the listing fails at once. */
  readonly readFileSync = ((path: fs.PathOrFileDescriptor, options?: Parameters<ReadFileSync>[1]) => {
    if (this.cacheListings !== undefined && typeof path === 'string' && CACHE_ENTRY.test(basename(path)) && !this.listing(dirname(path)).has(basename(path))) {
      throw MISSING_ENTRY;
    }
    return fs.readFileSync(path, options);
  }) as ReadFileSync;

  /** The `fs.promises.writeFile` tsx's cache writes with. */
  readonly writeFile = ((file: Parameters<typeof fs.promises.writeFile>[0], data: string, options?: fs.WriteFileOptions) => {
    if (this.cacheListings === undefined || typeof file !== 'string' || !CACHE_ENTRY.test(basename(file))) return fs.promises.writeFile(file, data, options);
    return new Promise<void>((resolve, reject) => {
      this.deferredWrites.push(() => fs.writeFile(file, data, options ?? 'utf8', (error) => (error === null ? resolve() : reject(error))));
    });
  }) as typeof fs.promises.writeFile;

  private listing(folder: string): Set<string> {
    const listings = (this.cacheListings ??= new Map());
    let names = listings.get(folder);
    if (names === undefined) {
      try {
        names = new Set(fs.readdirSync(folder));
      } catch {
        names = new Set();
      }
      listings.set(folder, names);
    }
    return names;
  }

  /** The `transformSync` tsx calls. */
  readonly transformSync: TransformSync = (input, options = {}) => {
    const sourcefile = typeof options.sourcefile === 'string' ? options.sourcefile : undefined;
    if (sourcefile !== undefined && this.current !== undefined && isSourcefileOf(this.current, sourcefile)) this.compilesOfCurrent += 1;
    const ahead = sourcefile === undefined ? undefined : this.compiled.get(sourcefile);
    if (ahead !== undefined && sourcefile !== undefined) {
      this.compiled.delete(sourcefile);
      if (ahead.input === input && ahead.options === JSON.stringify(options)) {
        this.stats.used += 1;
        return ahead.result;
      }
    }
    // A cold cache: compile the batch at once, this file with it, and load this one again after.
    if (sourcefile !== undefined && this.current !== undefined && this.compileAhead(this.current, sourcefile, options)) throw new CompileAhead();
    return this.esbuild.transformSync(input, options);
  };

  batch(paths: readonly string[]): CompileBatch {
    const own = new Set(paths);
    const state = { warm: false };
    for (const path of own) {
      this.waiting.add(path);
      this.batchOf.set(path, state);
    }
    return {
      ready: (path) => {
        this.waiting.delete(path);
        // Once a file came from tsx's cache, the others do not wait for compiles that may be wasted.
        return state.warm ? undefined : this.compiling.get(path);
      },
      load: async (path, run) => {
        const attempt = () => {
          const outer = this.current;
          const compiles = this.compilesOfCurrent;
          this.current = path;
          try {
            const loaded = run();
            // Loaded without compiling: tsx's cache has this batch's files (a later edit or a new
            // file among them compiles on its own rather than holding the others back).
            if (this.compilesOfCurrent === compiles) state.warm = true;
            return loaded;
          } finally {
            this.current = outer;
          }
        };
        try {
          return attempt();
        } catch (error) {
          if (!(error instanceof CompileAhead)) throw error;
          await this.compiling.get(path);
          return attempt();
        }
      },
      release: () => {
        this.cacheListings = undefined;
        for (const write of this.deferredWrites.splice(0)) write();
        for (const path of own) {
          this.waiting.delete(path);
          this.batchOf.delete(path);
          this.compiling.delete(path);
          const sourcefile = this.sourcefiles.get(path);
          if (sourcefile !== undefined) this.compiled.delete(sourcefile);
          this.sourcefiles.delete(path);
        }
      },
    };
  }

  /**
   * tsx has to compile `path`, a file of a batch: its cache is cold. The options it asks for
   * become the template, and this file and every file still waiting are compiled asynchronously
   * with them. False when there is no batch to start: too few files, or this file was compiled
   * ahead already and must be compiled by tsx (a mismatch, a syntax error). (A file the batch
   * file imports compiles under the same path; its `sourcefile` tells it apart.)
   */
  private compileAhead(path: string, sourcefile: string, options: EsbuildOptions): boolean {
    if (this.compiling.has(path) || this.batchOf.get(path)?.warm !== false || this.waiting.size < MIN_BATCH - 1) return false;
    if (!isSourcefileOf(path, sourcefile)) return false;
    const template = templateFrom(path, options);
    const candidates = [...this.waiting].filter((candidate) => extname(candidate) === template.extension && !this.compiling.has(candidate));
    if (candidates.length < MIN_BATCH - 1) return false;
    this.cacheListings = new Map();
    // In file order, COMPILE_WINDOW at a time.
    const queue = [path, ...candidates];
    const finished = new Map<string, () => void>();
    for (const file of queue) this.compiling.set(file, new Promise<void>((resolve) => finished.set(file, resolve)));
    const state = this.batchOf.get(path);
    let next = 0;
    const pump = async (): Promise<void> => {
      for (let file = queue[next++]; file !== undefined; file = queue[next++]) {
        // A released batch's files, and those of a batch found warm after all, are not compiled.
        if (this.compiling.has(file) && state?.warm !== true) await this.compile(file, template);
        finished.get(file)?.();
      }
    };
    for (let started = 0; started < Math.min(COMPILE_WINDOW, queue.length); started += 1) void pump();
    return true;
  }

  private async compile(path: string, template: Template): Promise<void> {
    const options = optionsFor(path, template);
    const sourcefile = String(options.sourcefile);
    this.sourcefiles.set(path, sourcefile);
    try {
      // Read at once: a thousand small reads through fs/promises cost this thread more than the reads.
      const input = fs.readFileSync(path, 'utf8');
      this.stats.compiled += 1;
      const result = await this.esbuild.transform(input, options);
      if (this.compiling.has(path)) this.compiled.set(sourcefile, { input, options: JSON.stringify(options), result });
    } catch {
      // tsx compiles the file itself and reports the problem as it always does.
    }
  }
}

/**
 * The options tsx used for `path`, minus what belongs to that one file: its `import.meta` (defined
 * only for a file that uses it). Its path in other options (`sourcefile`, the `__filename` banner)
 * is replaced per file by `optionsFor`.
 */
function templateFrom(path: string, options: EsbuildOptions): Template {
  const { define, ...rest } = options;
  let shared: EsbuildOptions = rest;
  if (isRecord(define)) {
    const others = Object.fromEntries(Object.entries(define).filter(([key]) => key !== 'import.meta'));
    if (Object.keys(others).length > 0 || !('import.meta' in define)) shared = { ...rest, define: others };
  } else if (define !== undefined) shared = { ...rest, define };
  const stem = withoutExtension(path);
  const pathIn = new Set(Object.keys(shared).filter((key) => JSON.stringify(shared[key] ?? null).includes(JSON.stringify(stem).slice(1, -1))));
  return { extension: extname(path), stem, options: shared, pathIn };
}

/** The template's options with the template file's path (without extension) replaced by `path`'s. */
function optionsFor(path: string, template: Template): EsbuildOptions {
  const stem = withoutExtension(path);
  const swap = (value: unknown): unknown => {
    if (typeof value === 'string') return value.includes(template.stem) ? value.split(template.stem).join(stem) : value;
    if (Array.isArray(value)) return value.map(swap);
    if (isRecord(value)) return Object.fromEntries(Object.entries(value).map(([key, inner]) => [key, swap(inner)]));
    return value;
  };
  const options: EsbuildOptions = {};
  for (const key of Object.keys(template.options)) {
    const value = template.options[key];
    options[key] = template.pathIn.has(key) ? swap(value) : value;
  }
  return options;
}

/**
 * What a failed read of a cache entry throws: one error for all of them, without a stack trace
 * (tsx catches it and compiles the file).
 */
const MISSING_ENTRY = (() => {
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = 0;
  try {
    return Object.assign(new Error('ENOENT: no such file or directory (a tsx cache entry)'), { code: 'ENOENT', syscall: 'open' });
  } finally {
    Error.stackTraceLimit = limit;
  }
})();

/** Whether tsx's `sourcefile` names `path` itself (the same path, or with `.ts` for `.cts`), not a file it imports. */
function isSourcefileOf(path: string, sourcefile: string): boolean {
  const stem = withoutExtension(path);
  return sourcefile.startsWith(stem) && /^\.[cm]?[jt]s$/.test(sourcefile.slice(stem.length));
}

function withoutExtension(path: string): string {
  return path.slice(0, path.length - extname(path).length);
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

interface LoadedTsx {
  readonly api: TsxCjsApi;
  readonly compiler: BatchCompiler | undefined;
}

let loaded: LoadedTsx | undefined;

/**
 * tsx's CommonJS API, loaded once per process. Its copies of esbuild and `node:fs` are given the
 * batch compiler's functions while it loads; when tsx was already loaded by someone else (a
 * process started under tsx), or `DELTA_TS_BATCH=0` is set, it is used as it is and files
 * compile one at a time.
 */
export function tsxCommonJs(): LoadedTsx {
  if (loaded !== undefined) return loaded;
  const require = createRequire(import.meta.url);
  const apiPath = require.resolve('tsx/cjs/api');
  if (process.env.DELTA_TS_BATCH === '0') {
    loaded = { api: require(apiPath) as TsxCjsApi, compiler: undefined };
    return loaded;
  }
  const tsxRoot = apiPath.slice(0, apiPath.lastIndexOf(`${sep}dist${sep}`) + 1);
  const esbuild = createRequire(apiPath)('esbuild') as Esbuild;
  const compiler = new BatchCompiler(esbuild);
  const esbuildShim = Object.create(esbuild as object, { transformSync: { value: compiler.transformSync, enumerable: true } }) as Esbuild;
  const promisesShim = Object.create(fs.promises, { writeFile: { value: compiler.writeFile, enumerable: true } }) as typeof fs.promises;
  const fsShim = Object.create(fs, {
    readFileSync: { value: compiler.readFileSync, enumerable: true },
    promises: { value: promisesShim, enumerable: true },
  }) as typeof fs;
  let used = false;
  const moduleLoader = require('node:module') as { _load: (request: string, parent: { filename?: string } | undefined, isMain: boolean) => unknown };
  const load = moduleLoader._load;
  moduleLoader._load = function (request, parent, isMain) {
    if (parent?.filename?.startsWith(tsxRoot) === true) {
      if (request === 'esbuild') {
        used = true;
        return esbuildShim;
      }
      if (request === 'node:fs') return fsShim;
    }
    return load.call(this, request, parent, isMain);
  };
  try {
    loaded = { api: require(apiPath) as TsxCjsApi, compiler: undefined };
  } finally {
    moduleLoader._load = load;
  }
  loaded = { api: loaded.api, compiler: used ? compiler : undefined };
  return loaded;
}

/** What the batch compiler of this process did (zeros when it is not in use). */
export function batchStats(): BatchStats {
  return { ...(loaded?.compiler?.stats ?? { compiled: 0, used: 0 }) };
}
