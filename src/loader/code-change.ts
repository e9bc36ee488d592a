// The driver format's part of loading: what a code file (TypeScript or JavaScript) exports, or a
// change given in memory, checked and turned into a ChangeUnit. Errors name the file and the key.
import * as v from '../config/schema-library.js';
import { ChangeFileError } from '../errors.js';
import type { ChangeFunction, ChangeUnit, LegacyChangeFunction, VerifyFunction } from '../vocabulary/index.js';
import { TRANSACTION_MODES } from '../vocabulary/index.js';
import type { ChangeFileEntry } from './change-folder.js';
import { METADATA_ENTRIES, metadataFrom } from './change-metadata.js';
import { expectationsSchema } from './expectations-schema.js';

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

type AnyFunction = (...args: never[]) => unknown;
const fn = (key: string) => v.optional(v.custom<AnyFunction>((value) => typeof value === 'function', `${key} must be a function`));
const trueOrFalse = (key: string) => v.optional(v.boolean(`${key} must be true or false`));
const MILLISECONDS = 'timeoutMs must be a positive number of milliseconds';

/**
 * What a change exports (other exports are left alone), in the order problems are looked for.
 * Messages name the key; the metadata keys' say what was expected and get the key in front.
 */
const definitionSchema = v.looseObject({
  id: v.optional(
    v.pipe(
      v.string((issue) => `id must be a string, got ${typeof issue.input}`),
      v.check(
        (id) => id.trim() !== '' && !/\s/.test(id),
        (issue) => `id ${JSON.stringify(issue.input)} must be non-empty and contain no spaces`,
      ),
    ),
  ),
  commit: fn('commit'),
  up: fn('up'),
  rollback: fn('rollback'),
  down: fn('down'),
  transaction: v.optional(v.picklist(TRANSACTION_MODES, (issue) => `transaction must be one of ${TRANSACTION_MODES.join(', ')}, got ${JSON.stringify(issue.input)}`)),
  timeoutMs: v.optional(v.pipe(v.number(MILLISECONDS), v.finite(MILLISECONDS), v.gtValue(0, MILLISECONDS))),
  backup: v.optional(v.union([v.boolean(), v.array(v.string())], 'backup must be true, false or a list of collection names')),
  description: v.optional(v.string('description must be a string')),
  ...METADATA_ENTRIES,
  batches: trueOrFalse('batches'),
  sideEffects: trueOrFalse('sideEffects'),
  expect: v.optional(expectationsSchema),
  verify: fn('verify'),
});

/** `tags[1]: expected ...` for a metadata key; the other messages name their key already. */
function problemOf(issue: v.BaseIssue<unknown>): string {
  if (!issue.message.startsWith('expected ')) return issue.message;
  const path = (issue.path ?? [])
    .map((item) => (typeof item.key === 'number' ? `[${item.key}]` : `.${String(item.key)}`))
    .join('')
    .replace(/^\./, '');
  return `${path}: ${issue.message}`;
}

/** Checks an exported change object and turns it into a `ChangeUnit`; errors name the file. */
export function normaliseDefinition(def: ModuleRecord, source: DefinitionSource): ChangeUnit {
  const fail = (message: string): never => {
    throw new ChangeFileError(`${source.label}: ${message}`, source.file ?? source.label);
  };
  const id = def.id === undefined ? source.defaultId : def.id;
  if (id === undefined) fail('id is required for a change given in memory');
  // A copy: a module namespace (or a function with properties) is checked as a plain object.
  const checked = v.safeParse(definitionSchema, { ...def, id });
  const [issue] = checked.issues ?? [];
  // The id first, then which function commits, then everything else in the schema's order.
  if (issue?.path?.[0]?.key === 'id') fail(problemOf(issue));
  if (def.commit !== undefined && def.up !== undefined) fail('exports both commit and up: keep one');
  if (def.commit === undefined && def.up === undefined) fail('has no commit function (export commit, or up for migrate-mongo style)');
  if (!checked.success) return fail(problemOf(checked.issues[0]));
  const change = checked.output;

  const style = change.commit !== undefined ? 'delta' : 'migrate-mongo';
  const commitFn = change.commit ?? change.up;
  const rollbackFn = change.rollback ?? change.down;
  if (change.batches === true && style === 'migrate-mongo') fail('batches: true needs commit/rollback (up(db, client) cannot receive ctx.batches)');
  if (change.batches === true && change.transaction === 'always') {
    fail("batches: true runs each batch in its own transaction and cannot ask for transaction: 'always' around the whole change");
  }

  return {
    id: change.id as string,
    file: source.file,
    checksum: source.checksum,
    description: change.description,
    stage: undefined,
    metadata: { ...metadataFrom(change), batches: change.batches === true, sideEffects: change.sideEffects === true },
    // up(db, client) receives a db and client bound to the change's session: it runs in a
    // transaction like any other change (a file that must not says transaction: 'never').
    transaction: change.transaction,
    timeoutMs: change.timeoutMs,
    backup: change.backup,
    style,
    commit: style === 'migrate-mongo' ? legacy(commitFn as unknown as LegacyChangeFunction) : (commitFn as unknown as ChangeFunction),
    rollback: rollbackFn === undefined ? undefined : style === 'migrate-mongo' ? legacy(rollbackFn as unknown as LegacyChangeFunction) : (rollbackFn as unknown as ChangeFunction),
    expect: change.expect,
    verify: change.verify as unknown as VerifyFunction | undefined,
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
