import { extname } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ChangeFileError, messageOf } from '../errors.js';
import type { ScannedFile } from './change-folder.js';
import { compareIds } from './change-order.js';
import type { TemplateOptions } from './templates/load-template.js';
import type { ChangeRef, ChangeUnit, FormatLoadContext, StageSpec } from '../vocabulary/index.js';

const TYPESCRIPT = new Set(['.ts', '.mts', '.cts']);

/**
 * Imports scanned files and normalises their exports, in id order. Every
 * file's problem is collected and thrown as one ChangeFileError, one line each.
 */
export async function importChangeFiles(files: readonly ScannedFile[], options: TemplateOptions = {}): Promise<ChangeUnit[]> {
  const { units, problems } = await tryImportChangeFiles(files, options);
  throwProblems(problems);
  return units;
}

/** The changes that loaded, in id order, and one problem per file that did not. */
export interface ImportedChanges {
  readonly units: ChangeUnit[];
  readonly problems: ChangeFileError[];
}

/** Imports what it can: the changes that loaded, in id order, and one problem per file that did not. */
export async function tryImportChangeFiles(files: readonly ScannedFile[], options: TemplateOptions = {}): Promise<ImportedChanges> {
  const problems: ChangeFileError[] = [];
  const typescript = files.filter((file) => TYPESCRIPT.has(file.extension)).map((file) => file.absolutePath);
  const tsx = typescript.length > 0 ? await registerTypeScript(typescript) : undefined;
  let units: (ChangeUnit | undefined)[];
  try {
    const context: FormatLoadContext = {
      importModule: (path, extension) => (tsx !== undefined && TYPESCRIPT.has(extension) ? tsx.import(path, extension) : (import(pathToFileURL(path).href) as Promise<unknown>)),
      operations: options.operations,
      templatePermissions: options.permissions,
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

async function registerTypeScript(paths: readonly string[]): Promise<ScopedTypeScript> {
  // A namespace of its own gives each load fresh modules (a file edited since the last load in this
  // process is read again); numbering them, rather than naming them after the process, lets every
  // process's first load find tsx's cache of compiled files (which the namespace is part of).
  loads += 1;
  const namespace = `delta-changes-${loads}`;
  // Loaded as CommonJS: its esbuild can then compile a cold batch at once (typescript-batch.ts).
  const { tsxCommonJs } = await import('./typescript-batch.js');
  const tsx = tsxCommonJs();
  const cjs = tsx.api.register({ namespace });
  // `.mts` files load through the ESM hooks, which compile on their own thread.
  const batch = tsx.compiler?.batch(paths.filter((path) => extname(path) !== '.mts'));
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
      const compiled = batch?.ready(path);
      if (compiled !== undefined) await compiled;
      try {
        const load = () => cjs.require(path, import.meta.url);
        return batch === undefined ? load() : await batch.load(path, load);
      } catch (error) {
        if (!needsEsm(error)) throw error;
        return viaEsm(path);
      }
    },
    unregister: async () => {
      batch?.release();
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
