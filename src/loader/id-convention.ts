// How a folder names its changes, so that `delta create` writes the next one where it sorts last.
// A pattern is the id with placeholders: `{timestamp}` (UTC yyyymmddHHMMss), `{seq}` or `{seq:N}`
// (the next number, zero-padded to N digits), and `{name}` (what the user typed). Ids run in code
// point order (change-order.ts), so a new id must sort after every existing one or the next commit
// refuses it as out of order.
import { compareIds } from './change-order.js';
import { DEFAULT_ID_PATTERN, ID_PLACEHOLDER } from '../vocabulary/index.js';

/** The folder's convention, read from its ids, with the reason in words (for `import` and `create`). */
export interface IdConvention {
  readonly pattern: string;
  readonly reason: string;
}

const TIMESTAMPED = /^\d{14}([-_])/;
const NUMBERED = /^(\d+)([-_])/;

/**
 * The pattern that continues `ids`: their timestamp or number prefix with their separator, or,
 * for ids without a common prefix (`add-users`), a timestamp behind enough `z`s to sort after all
 * of them (timestamps alone start with a digit, which sorts before every letter).
 */
export function detectIdConvention(ids: readonly string[]): IdConvention {
  if (ids.length === 0) return { pattern: DEFAULT_ID_PATTERN, reason: 'the folder has no changes yet' };
  const separator = dominantSeparator(ids);
  if (ids.every((id) => TIMESTAMPED.test(id))) {
    return { pattern: `{timestamp}${separator}{name}`, reason: 'every id starts with a yyyymmddHHMMss timestamp' };
  }
  const widths = new Set(ids.map((id) => NUMBERED.exec(id)?.[1]?.length));
  const [width] = widths;
  if (widths.size === 1 && width !== undefined) {
    return { pattern: `{seq:${width}}${separator}{name}`, reason: `every id starts with a ${width}-digit number` };
  }
  const zs = Math.max(...ids.map((id) => /^z*/.exec(id)?.[0].length ?? 0)) + 1;
  return {
    pattern: `${'z'.repeat(zs)}{timestamp}${separator}{name}`,
    reason: `the ids share no timestamp or number prefix; new ids start with ${'z'.repeat(zs)} so that they sort after every existing one`,
  };
}

/** `-` when more ids use it than `_` (migrate-mongo's `20240101120000-add_users`), else `_`. */
function dominantSeparator(ids: readonly string[]): '-' | '_' {
  const separatorOf = (id: string) => /[-_]/.exec(id)?.[0];
  const dashes = ids.filter((id) => separatorOf(id) === '-').length;
  return dashes * 2 > ids.length ? '-' : '_';
}

export interface NextId {
  readonly id: string;
  /** The newest existing id when the new one does not sort after it (the next commit would refuse it). */
  readonly sortsBefore: string | undefined;
}

/** The id `pattern` gives `name` at `now`, after `ids` (a `{seq}` continues the largest number they hold). */
export function nextId(pattern: string, ids: readonly string[], name: string, now: Date): NextId {
  const timestamp = now.toISOString().replace(/[-:T]/g, '').slice(0, 14);
  const sequence = new RegExp(`^${pattern.replace(/[-]/g, '\\-').replace(ID_PLACEHOLDER, (_all, kind: string) => (kind.startsWith('seq') ? '(\\d+)' : kind === 'timestamp' ? '\\d{14}' : '.+'))}$`);
  const next = Math.max(0, ...ids.map((id) => Number(sequence.exec(id)?.[1] ?? 0))) + 1;
  const id = pattern.replace(ID_PLACEHOLDER, (_all, kind: string, width: string | undefined) =>
    kind === 'timestamp' ? timestamp : kind === 'name' ? name : String(next).padStart(Number(width ?? 0), '0'),
  );
  const newest = ids.reduce<string | undefined>((max, candidate) => (max === undefined || compareIds(candidate, max) > 0 ? candidate : max), undefined);
  return { id, sortsBefore: newest !== undefined && compareIds(id, newest) <= 0 ? newest : undefined };
}
