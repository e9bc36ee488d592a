import { pathToFileURL } from 'node:url';
import type { TransactionMode } from '../config/rules.js';
import { TRANSACTION_MODES } from '../config/rules.js';
import { ChangeFileError, messageOf } from '../errors.js';
import type { ChangeFolderOptions, ChangeFileEntry, ScannedFile } from './change-folder.js';
import { scanChangeFiles } from './change-folder.js';
import { compareIds } from './change-order.js';
import type { ChangeMetadata } from './change-metadata.js';
import { parseMetadata } from './change-metadata.js';
import type { ChangeFunction, ChangeRef, ChangeUnit, LegacyChangeFunction, StageSpec } from './change-types.js';
import type { TemplateOptions } from './templates/load-template.js';
import type { RunnerLoadContext } from './runners/runner-types.js';

const TYPESCRIPT = new Set(['.ts', '.mts', '.cts']);

export interface LoadChangesOptions extends ChangeFolderOptions {
  /** Custom operations YAML/JSON templates may use (the configuration's `operations`). */
  readonly operations?: TemplateOptions['operations'];
}

/**
 * Loads every change file of the folder: imports code files (TypeScript
 * through one scoped tsx registration, removed afterwards), normalises their
 * exports into `ChangeUnit`s, computes checksums and checks ids. All file
 * problems are collected and thrown together, before any database work.
 */
export async function loadChangeFiles(options: LoadChangesOptions): Promise<ChangeUnit[]> {
  const units = await importChangeFiles((await scanChangeFiles(options)).files, options);
  throwProblems(duplicateIdProblems(units));
  return units;
}

/**
 * Imports scanned files and normalises their exports, in id order. Every
 * file's problem is collected and thrown as one ChangeFileError, one line each.
 */
export async function importChangeFiles(files: readonly ScannedFile[], options: TemplateOptions = {}): Promise<ChangeUnit[]> {
  const { units, problems } = await tryImportChangeFiles(files, options);
  throwProblems(problems);
  return units;
}

/** Imports what it can: the changes that loaded, in id order, and one problem per file that did not. */
export async function tryImportChangeFiles(files: readonly ScannedFile[], options: TemplateOptions = {}): Promise<{ units: ChangeUnit[]; problems: ChangeFileError[] }> {
  const problems: ChangeFileError[] = [];
  const tsx = files.some((file) => TYPESCRIPT.has(file.extension)) ? await registerTypeScript() : undefined;
  let units: (ChangeUnit | undefined)[];
  try {
    const context: RunnerLoadContext = {
      importModule: (path, extension) => (tsx !== undefined && TYPESCRIPT.has(extension) ? tsx.import(path, extension) : (import(pathToFileURL(path).href) as Promise<unknown>)),
      operations: options.operations,
    };
    units = await Promise.all(
      files.map(async (entry) => {
        try {
          // The runner that claimed the file's name turns it into a change; the record keeps its name.
          const unit = await entry.runner.load(entry, context);
          return inStage({ ...unit, runner: unit.runner ?? entry.runner.name }, entry.stage);
        } catch (error) {
          problems.push(error instanceof ChangeFileError ? error : importError(entry.file, error));
          return undefined;
        }
      }),
    );
  } finally {
    await tsx?.unregister();
  }
  return { units: units.filter((unit): unit is ChangeUnit => unit !== undefined).sort((a, b) => compareIds(a.id, b.id)), problems };
}

/** Throws the problems as one error, one line per file, in file order. */
export function throwProblems(problems: readonly ChangeFileError[]): void {
  if (problems.length === 0) return;
  const sorted = [...problems].sort((a, b) => (a.file ?? '').localeCompare(b.file ?? ''));
  const message = sorted.map((problem) => problem.message).join('\n');
  throw new ChangeFileError(message, sorted[0]?.file, { cause: sorted.length === 1 ? sorted[0]?.cause : sorted });
}

interface ScopedTypeScript {
  import(path: string, extension: string): Promise<unknown>;
  unregister(): Promise<void>;
}

/**
 * TypeScript through tsx, scoped to this batch of files. `.ts` and `.cts` files are loaded with
 * tsx's CommonJS hooks, which run in this thread: on Node 20 the ESM hooks run on a thread of
 * their own, and each import waits for two messages across (about 1 ms a file, 2.5 times the
 * cost of a JavaScript import, measured on 1,000 files). A file that needs ESM (top-level
 * `await`, an ESM-only import that itself awaits) and every `.mts` file go through tsx's ESM
 * hooks, registered only then.
 */
let loads = 0;

async function registerTypeScript(): Promise<ScopedTypeScript> {
  // A namespace of its own gives each load fresh modules (a file edited since the last load in this
  // process is read again); numbering them, rather than naming them after the process, lets every
  // process's first load find tsx's cache of compiled files (which the namespace is part of).
  loads += 1;
  const namespace = `delta-changes-${loads}`;
  const cjs = (await import('tsx/cjs/api')).register({ namespace });
  let esm: { import(specifier: string, parent: string): Promise<unknown>; unregister(): Promise<void> } | undefined;
  const viaEsm = async (path: string): Promise<unknown> => {
    if (esm === undefined) {
      const api = (await import('tsx/esm/api')).register({ namespace: `${namespace}-esm` });
      esm = { import: (specifier, parent) => api.import(specifier, parent) as Promise<unknown>, unregister: () => api.unregister() };
    }
    return esm.import(pathToFileURL(path).href, import.meta.url);
  };
  return {
    import: async (path, extension) => {
      if (extension === '.mts') return viaEsm(path);
      try {
        return cjs.require(path, import.meta.url) as unknown;
      } catch (error) {
        if (!needsEsm(error)) throw error;
        return viaEsm(path);
      }
    },
    unregister: async () => {
      cjs.unregister();
      await esm?.unregister();
    },
  };
}

/**
 * What loading a file as CommonJS throws when the file (or what it imports) must be an ES module:
 * top-level await, or a package whose `exports` only answer `import`.
 */
function needsEsm(error: unknown): boolean {
  const code = (error as { code?: unknown }).code;
  return code === 'ERR_REQUIRE_ASYNC_MODULE' || code === 'ERR_REQUIRE_ESM' || code === 'ERR_PACKAGE_PATH_NOT_EXPORTED' || /top-level await/i.test(messageOf(error));
}

/**
 * A change in its stage: named by it, and given the stage's transaction mode
 * and time limit where it sets none of its own.
 */
export function inStage(unit: ChangeUnit, stage: StageSpec | undefined): ChangeUnit {
  if (stage === undefined) return unit;
  return { ...unit, stage: stage.name, transaction: unit.transaction ?? stage.transaction, timeoutMs: unit.timeoutMs ?? stage.timeoutMs };
}

function importError(file: string, error: unknown): ChangeFileError {
  const raw = messageOf(error);
  // esbuild reports `Transform failed with 1 error:\n/abs/file.ts:3:37: ERROR: Unexpected ";"`.
  const syntax = /:(\d+):(\d+): ERROR: (.*)/.exec(raw);
  if (syntax !== null) {
    return new ChangeFileError(`${file}:${syntax[1]}:${syntax[2]}: syntax error: ${syntax[3]}`, file, { cause: error });
  }
  if (error instanceof SyntaxError) {
    const line = lineOf(error, file);
    return new ChangeFileError(`${file}${line}: syntax error: ${raw}`, file, { cause: error });
  }
  return new ChangeFileError(`${file}: failed to load: ${raw.split('\n')[0] ?? raw}`, file, { cause: error });
}

function lineOf(error: Error, file: string): string {
  const match = new RegExp(`${escapeRegExp(file)}:(\\d+)`).exec(error.stack ?? '');
  return match === null ? '' : `:${match[1]}`;
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

type ModuleRecord = Record<string, unknown>;

/** A code file's exports as a change (the driver runner's load); errors name the file. */
export function normaliseModule(mod: unknown, entry: Pick<ChangeFileEntry, 'file' | 'id'>, checksum: string): ChangeUnit {
  const definition = exportedDefinition(mod as ModuleRecord);
  if (definition === undefined) {
    throw new ChangeFileError(`${entry.file}: exports no change: export default defineMigration({ commit, rollback }) or named commit/rollback functions`, entry.file);
  }
  return normaliseDefinition(definition as ModuleRecord, { label: entry.file, file: entry.file, defaultId: entry.id, checksum });
}

interface DefinitionSource {
  /** How messages name the change: its file, or `changes[3]` in memory. */
  readonly label: string;
  readonly file: string | undefined;
  readonly defaultId: string | undefined;
  readonly checksum: string;
}

/** Checks an exported change object and turns it into a `ChangeUnit`; errors name the file. */
export function normaliseDefinition(def: ModuleRecord, source: DefinitionSource): ChangeUnit {
  const fail = (message: string): never => {
    throw new ChangeFileError(`${source.label}: ${message}`, source.file ?? source.label);
  };
  const id = def.id === undefined ? source.defaultId : def.id;
  if (id === undefined) fail('id is required for a change given in memory');
  if (typeof id !== 'string') fail(`id must be a string, got ${typeof id}`);
  const changeId = id as string;
  if (changeId.trim() === '' || /[\s]/.test(changeId)) fail(`id ${JSON.stringify(changeId)} must be non-empty and contain no spaces`);

  const hasCommit = def.commit !== undefined;
  const hasUp = def.up !== undefined;
  if (hasCommit && hasUp) fail('exports both commit and up: keep one');
  const commitFn = hasCommit ? def.commit : def.up;
  if (typeof commitFn !== 'function') fail(hasCommit || hasUp ? `${hasCommit ? 'commit' : 'up'} must be a function` : 'has no commit function (export commit, or up for migrate-mongo style)');
  const rollbackFn = def.rollback ?? def.down;
  if (rollbackFn !== undefined && typeof rollbackFn !== 'function') fail(`${def.rollback !== undefined ? 'rollback' : 'down'} must be a function`);

  const transaction = def.transaction;
  if (transaction !== undefined && !TRANSACTION_MODES.includes(transaction as TransactionMode)) {
    fail(`transaction must be one of ${TRANSACTION_MODES.join(', ')}, got ${JSON.stringify(transaction)}`);
  }
  const style = hasCommit ? 'delta' : 'migrate-mongo';
  const timeoutMs = def.timeoutMs;
  if (timeoutMs !== undefined && (typeof timeoutMs !== 'number' || !Number.isFinite(timeoutMs) || timeoutMs <= 0)) {
    fail('timeoutMs must be a positive number of milliseconds');
  }
  const backup = def.backup;
  if (backup !== undefined && typeof backup !== 'boolean' && !(Array.isArray(backup) && backup.every((c) => typeof c === 'string'))) {
    fail('backup must be true, false or a list of collection names');
  }
  const description = def.description;
  if (description !== undefined && typeof description !== 'string') fail('description must be a string');
  const parsedMetadata = parseMetadata(def);
  if ('problem' in parsedMetadata) fail(parsedMetadata.problem);
  const batches = def.batches;
  if (batches !== undefined && typeof batches !== 'boolean') fail('batches must be true or false');
  if (batches === true && style === 'migrate-mongo') fail('batches: true needs commit/rollback (up(db, client) cannot receive ctx.batches)');
  if (batches === true && transaction === 'always') {
    fail("batches: true runs each batch in its own transaction and cannot ask for transaction: 'always' around the whole change");
  }
  const sideEffects = def.sideEffects;
  if (sideEffects !== undefined && typeof sideEffects !== 'boolean') fail('sideEffects must be true or false');
  const metadata: ChangeMetadata = { ...(parsedMetadata as { metadata: ChangeMetadata }).metadata, batches: batches === true, sideEffects: sideEffects === true };

  return {
    id: changeId,
    file: source.file,
    checksum: source.checksum,
    description: description as string | undefined,
    stage: undefined,
    metadata,
    // up(db, client) receives a db and client bound to the change's session: it runs in a
    // transaction like any other change (a file that must not says transaction: 'never').
    transaction: transaction as TransactionMode | undefined,
    timeoutMs: timeoutMs as number | undefined,
    backup: backup as ChangeUnit['backup'],
    style,
    commit: style === 'migrate-mongo' ? legacy(commitFn as LegacyChangeFunction) : (commitFn as ChangeFunction),
    rollback: rollbackFn === undefined ? undefined : style === 'migrate-mongo' ? legacy(rollbackFn as LegacyChangeFunction) : (rollbackFn as ChangeFunction),
  };
}

/** The change object: the default export (or CommonJS `module.exports`), else the named exports. */
function exportedDefinition(mod: ModuleRecord): unknown {
  let candidate: unknown = mod.default;
  // tsx compiles CommonJS-flavoured TypeScript to `{ default: { default: ... } }`.
  for (let depth = 0; depth < 2 && isRecord(candidate) && !hasChangeFunction(candidate) && isRecord(candidate.default); depth += 1) {
    candidate = candidate.default;
  }
  if (isRecord(candidate) && hasChangeFunction(candidate)) return candidate;
  if (hasChangeFunction(mod)) return mod;
  return isRecord(candidate) ? candidate : undefined;
}

function hasChangeFunction(value: ModuleRecord): boolean {
  return 'commit' in value || 'up' in value;
}

function isRecord(value: unknown): value is ModuleRecord {
  return (typeof value === 'object' || typeof value === 'function') && value !== null;
}

function legacy(fn: LegacyChangeFunction): ChangeFunction {
  return async (context) => {
    await fn(context.db, context.client);
  };
}

/** One problem per id that more than one change claims. */
export function duplicateIdProblems(units: readonly ChangeRef[]): ChangeFileError[] {
  const byId = new Map<string, string[]>();
  for (const unit of units) byId.set(unit.id, [...(byId.get(unit.id) ?? []), unit.file ?? '(in memory)']);
  const problems: ChangeFileError[] = [];
  for (const [id, files] of byId) {
    if (files.length > 1) {
      const sorted = files.sort();
      problems.push(new ChangeFileError(`${sorted.join(', ')}: duplicate change id ${JSON.stringify(id)}`, sorted[0]));
    }
  }
  return problems;
}
