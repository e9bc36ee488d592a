// The driver format's part of loading: what a code file (TypeScript or JavaScript) exports, or a
// change given in memory, checked and turned into a ChangeUnit. Errors name the file and the key.
import { ChangeFileError } from '../errors.js';
import type { ChangeFunction, ChangeMetadata, ChangeUnit, LegacyChangeFunction, TransactionMode } from '../vocabulary/index.js';
import { TRANSACTION_MODES, isTransactionMode } from '../vocabulary/index.js';
import type { ChangeFileEntry } from './change-folder.js';
import { parseMetadata } from './change-metadata.js';

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
  if (transaction !== undefined && !isTransactionMode(transaction)) {
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

