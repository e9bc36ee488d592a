// Change file formats (what `runners` in the configuration registers): how a file name is claimed
// and turned into a change. Stored in records as `runner`, the name the configuration uses.
import type { ChangeUnit, StageSpec } from './change.js';
import type { OperationRegistry, TemplatePermissions } from './operations.js';

/** The program a shell-command format runs a file with: one command, or a command and its arguments. */
export type ProgramCommand = string | readonly string[];

/** What a file is to its runner: a whole change, or one half of a commit/rollback pair. */
export type ChangeFileRole = 'change' | 'commit' | 'rollback';

/** A file name a runner claims: the change id it belongs to, and its part in that change. */
export interface FormatMatch {
  readonly id: string;
  readonly role: ChangeFileRole;
}

/** The second file of a commit/rollback pair. */
export interface CompanionFile {
  readonly file: string;
  readonly absolutePath: string;
}

/** A change's file(s) as the loader scanned them, ready for its runner to load. */
export interface FormatFile {
  /** The id the file name gives the change (the runner's match). */
  readonly id: string;
  /** File name relative to the change folder (the commit file of a pair). */
  readonly file: string;
  readonly absolutePath: string;
  readonly extension: string;
  /** sha256 of the file's bytes (of both files of a pair), line endings normalised. */
  readonly checksum: string;
  /** A pair's rollback file; undefined for single-file changes and a pair written without one. */
  readonly rollbackFile: CompanionFile | undefined;
  readonly stage: StageSpec | undefined;
}

/** What the loader hands every runner while it imports a batch of files. */
export interface FormatLoadContext {
  /** Imports a code file (TypeScript through the loader's scoped tsx registration). */
  importModule(absolutePath: string, extension: string): Promise<unknown>;
  /** Custom operations YAML/JSON templates may use. */
  readonly operations: OperationRegistry | undefined;
  /** What templates may do beyond data operations, and delta's own collections they never touch. */
  readonly templatePermissions?: TemplatePermissions | undefined;
}

/**
 * Turns change files into `ChangeUnit`s. Each change file is claimed by the
 * first runner of the registry whose `match` accepts its name; the runner's
 * `load` reads it and returns a unit whose `commit`/`rollback` do the work,
 * so the runner core never knows which runner a change came from. `load`
 * throws a ChangeFileError naming the file (and line) for bad input.
 */
export interface ChangeFormat {
  /** Stored in each record (`runner`) and shown by status, --dry-run and history: `driver`, `template`, `shell`... */
  readonly name: string;
  /** Whether this runner owns a file name (no folder), and as what. */
  match(fileName: string): FormatMatch | undefined;
  /**
   * Whether the runner's changes come in pairs (`<id>.commit.x` / `<id>.rollback.x`):
   * the loader groups them and refuses a rollback without its commit.
   */
  readonly paired: boolean;
  load(file: FormatFile, context: FormatLoadContext): Promise<ChangeUnit>;
}

/** The runners of a run, in matching order. */
export interface FormatRegistry {
  readonly runners: readonly ChangeFormat[];
  /** The first runner that claims the file name, with its match. */
  match(fileName: string): { runner: ChangeFormat; match: FormatMatch } | undefined;
}
