// The pattern `delta create` names new changes with (configuration `create.id`): the id with
// placeholders `{timestamp}` (UTC yyyymmddHHMMss), `{seq}` or `{seq:N}` (the next number, zero-padded
// to N digits) and `{name}`. Detecting a folder's pattern and filling one in is the loader's
// (src/loader/id-convention.ts); the rule for a valid pattern is here, where configuration sees it.

/** delta's own convention: `20240101120000_add_users`. */
export const DEFAULT_ID_PATTERN = '{timestamp}_{name}';

export const ID_PLACEHOLDER = /\{(timestamp|seq(?::(\d{1,2}))?|name)\}/g;
const LITERAL = /^[A-Za-z0-9_-]*$/;

/** Why a pattern cannot name changes; undefined when it can. */
export function idPatternProblem(pattern: string): string | undefined {
  const found = [...pattern.matchAll(ID_PLACEHOLDER)].map((match) => (match[1] ?? '').replace(/:.*/, ''));
  const literal = pattern.replace(ID_PLACEHOLDER, '');
  if (!LITERAL.test(literal)) return "may hold only letters, digits, '_', '-' and the placeholders {timestamp}, {seq}, {seq:N}, {name}";
  if (found.filter((p) => p === 'name').length !== 1) return 'must hold {name} once';
  const orders = found.filter((p) => p !== 'name');
  if (orders.length !== 1) return 'must hold exactly one of {timestamp}, {seq} or {seq:N} (what orders the changes)';
  if (pattern.indexOf('{name}') < pattern.search(/\{(timestamp|seq)/)) return 'must put {timestamp} or {seq} before {name}, or ids would sort by name';
  return undefined;
}
