import { existsSync, readFileSync } from 'node:fs';
import { basename, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Loader, Loaders } from 'cosmiconfig';
import { ConfigError, messageOf } from '../errors.js';
import { MODULE_NAME, SEARCH_PLACES } from './search-places.js';

export interface LoadedConfigFile {
  readonly filepath: string;
  readonly config: unknown;
}

/**
 * Finds the configuration file in `cwd` (or loads `explicitPath`) with
 * cosmiconfig. TypeScript files are imported through tsx's scoped API, so no
 * loader hook stays registered afterwards.
 */
export async function loadConfigFile(cwd: string, explicitPath: string | undefined, origin: string): Promise<LoadedConfigFile | undefined> {
  // Most runs have no configuration file (flags and environment only): finding that out
  // costs a few stat calls, not loading cosmiconfig (~60-140 ms at every start-up).
  if (explicitPath === undefined && !mayHoldConfig(cwd)) return undefined;
  const { cosmiconfig, defaultLoaders } = await import('cosmiconfig');
  const loaders: Loaders = { ...defaultLoaders, '.ts': loadTypeScript, '.mts': loadTypeScript, '.cts': loadTypeScript };
  const explorer = cosmiconfig(MODULE_NAME, {
    searchPlaces: SEARCH_PLACES,
    searchStrategy: 'none',
    // A file that throws while it is evaluated (a TS/JS config reading a missing secret) gives an
    // error that names no file: remember which one was being loaded.
    loaders: Object.fromEntries(Object.entries(loaders).map(([extension, loader]) => [extension, naming(loader)])),
  });
  if (explicitPath !== undefined) {
    const filepath = resolve(cwd, explicitPath);
    if (!existsSync(filepath)) throw new ConfigError(`${origin}: config file ${explicitPath} does not exist`);
    try {
      const result = await explorer.load(filepath);
      return { filepath, config: result?.config ?? {} };
    } catch (error) {
      throw unreadable(filepath, error);
    }
  }
  try {
    const result = await explorer.search(cwd);
    if (result === null || result.isEmpty === true) return undefined;
    return { filepath: result.filepath, config: result.config };
  } catch (error) {
    if (error instanceof ConfigLoadError) throw unreadable(error.filepath, error.cause);
    throw new ConfigError(`${fileNamed(error) ?? 'config file'}: cannot be read: ${reasonOf(error, undefined)}`, { cause: withoutExcerpt(error) });
  }
}

/** Whether one of the search places exists in `cwd` (a package.json counts only with a `delta` key). */
function mayHoldConfig(cwd: string): boolean {
  for (const place of SEARCH_PLACES) {
    const path = resolve(cwd, place);
    if (!existsSync(path)) continue;
    if (place !== 'package.json') return true;
    try {
      const manifest: unknown = JSON.parse(readFileSync(path, 'utf8'));
      if (typeof manifest === 'object' && manifest !== null && MODULE_NAME in manifest) return true;
    } catch {
      return true; // unreadable: let cosmiconfig say what is wrong with it
    }
  }
  return false;
}

/** What a loader threw, with the file it was loading. */
class ConfigLoadError extends Error {
  constructor(
    readonly filepath: string,
    override readonly cause: unknown,
  ) {
    super(messageOf(cause));
  }
}

function naming(loader: Loader): Loader {
  return async (filepath, content) => {
    try {
      return await loader(filepath, content);
    } catch (error) {
      throw new ConfigLoadError(filepath, error);
    }
  };
}

async function loadTypeScript(filepath: string): Promise<unknown> {
  const { register } = await import('tsx/esm/api');
  const api = register({ namespace: `delta-config-${Date.now()}` });
  try {
    const mod = (await api.import(pathToFileURL(filepath).href, import.meta.url)) as Record<string, unknown>;
    return unwrapDefault(mod);
  } finally {
    await api.unregister();
  }
}

function unwrapDefault(mod: Record<string, unknown>): unknown {
  let value: unknown = 'default' in mod ? mod.default : mod;
  // A CommonJS config compiled by tsx may arrive as { default: { default: ... } }.
  while (typeof value === 'object' && value !== null && 'default' in value && Object.keys(value).length === 1) {
    value = (value as { default: unknown }).default;
  }
  return value;
}

/**
 * A configuration file that would not parse. Parsers quote the lines around the fault, and a line
 * of a configuration file may hold a password (raw, or in a form redaction cannot recognise): the
 * message keeps the parser's reason and the position, never the quoted lines, and so does the
 * cause that `--verbose` prints.
 */
function unreadable(filepath: string, error: unknown): ConfigError {
  return new ConfigError(`${basename(filepath)}: cannot be read: ${reasonOf(error, filepath)}`, { cause: withoutExcerpt(error) });
}

/** Lines of a code frame (`> 4 | }`, `    | ^`) and the `while parsing '...'` excerpt JSON parsers add. */
const EXCERPT_LINE = /^\s*>?\s*\d*\s*\|/;

function reasonOf(error: unknown, filepath: string | undefined): string {
  const lines = messageOf(error)
    .split('\n')
    .filter((line) => line.trim() !== '' && !EXCERPT_LINE.test(line))
    .map((line) =>
      line
        .trim()
        .replace(/ while parsing '[\s\S]*$/, '')
        .replace(/ while parsing near '[\s\S]*$/, ''),
    );
  // cosmiconfig's own first line only names the file ("JSON Error in /path:"): the reason follows.
  const reason = lines.find((line) => !/^(JSON|YAML) Error in /.test(line)) ?? lines[0] ?? '';
  const position = /at position (\d+)/.exec(reason);
  if (position === null || filepath === undefined) return reason;
  try {
    const before = readFileSync(filepath, 'utf8').slice(0, Number(position[1]));
    const line = before.split('\n').length;
    return `${reason} (line ${line}, column ${before.length - before.lastIndexOf('\n')})`;
  } catch {
    return reason;
  }
}

/** The error with only its reason and its stack frames: what `--verbose` may print. */
function withoutExcerpt(error: unknown): Error {
  const clean = new Error(reasonOf(error, undefined));
  const frames = error instanceof Error ? (error.stack ?? '').split('\n').filter((line) => /^\s+at /.test(line)) : [];
  clean.stack = [`Error: ${clean.message}`, ...frames].join('\n');
  return clean;
}

function fileNamed(error: unknown): string | undefined {
  const match = /([\w.-]*(?:delta)[\w.-]*\.(?:json|ya?ml|[mc]?[jt]s)|\.deltarc[\w.]*)/.exec(messageOf(error));
  return match?.[1] === undefined ? undefined : basename(match[1]);
}
