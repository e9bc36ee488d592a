// The bridge to mingo: query filters compiled with MongoDB semantics (operators normalized, an
// `_id` equality found for the planner), and mingo's errors translated into the codes mongod
// answers with. find's sort, projection and result stream: find-engine.ts; pipelines:
// pipeline-engine.ts.
import { Query } from 'mingo/query';
import type { Options as MingoOptions } from 'mingo/types';
import type { Document } from 'bson';
import { isPlainObject, valueKey } from './bson-values.js';
import { CommandError } from './errors.js';
import { jsonSchemaPredicate } from './json-schema-validator.js';
import { EQ_OPERATOR, IN_OPERATOR, MINGO_CONTEXT, MOD_OPERATOR, parseModOperand, parseTypeOperand, TYPE_OPERATOR } from './mingo-context.js';
import { numbersOnly, queryView } from './query-view.js';

export interface EvaluationOptions {
  /** `let` variables and system variables such as CLUSTER_TIME, visible as `$$name`. */
  readonly variables?: Document;
  readonly collation?: Document;
  /** Resolves `from`/`coll` names of $lookup, $graphLookup and $unionWith to documents. */
  readonly collectionResolver?: (name: string) => Document[];
  /** The command's time: `$$NOW` is one value for a whole command in mongod. */
  readonly now?: Date;
}

export interface CompiledFilter {
  readonly filter: Document;
  test(document: Document): boolean;
  /** Set when the filter pins `_id` to a few values: look those up instead of scanning. */
  readonly idCandidates: readonly unknown[] | undefined;
  /** True when the filter is exactly `{ _id: <value> }`: a document found by id needs no test. */
  readonly idOnly: boolean;
}

// Operators MongoDB has but mingo does not evaluate; naming them beats a misleading "unknown operator".
const UNSUPPORTED_QUERY_OPERATORS = new Set(['$text', '$near', '$nearSphere', '$geoWithin', '$geoIntersects', '$within', '$box', '$center', '$centerSphere', '$polygon', '$geometry', '$sampleRate']);

export function mingoOptions(options: EvaluationOptions | undefined): Partial<MingoOptions> {
  const result: { -readonly [K in keyof MingoOptions]?: MingoOptions[K] } = {
    context: MINGO_CONTEXT,
    jsonSchemaValidator: jsonSchemaPredicate,
    // mongod never runs client JavaScript through these operators; functions cannot arrive over BSON anyway.
    scriptEnabled: false,
  };
  if (options?.variables !== undefined) result.variables = options.variables;
  if (options?.collation !== undefined && typeof options.collation.locale === 'string' && options.collation.locale !== 'simple') {
    result.collation = options.collation as unknown as MingoOptions['collation'];
  }
  if (options?.collectionResolver !== undefined) result.collectionResolver = options.collectionResolver as MingoOptions['collectionResolver'];
  return result;
}

/** Translates an exception thrown by mingo (or by a RegExp it built) into mongod's error. */
export function translateMingoError(error: unknown): CommandError {
  if (error instanceof CommandError) return error;
  const message = error instanceof Error ? error.message : String(error);
  let match: RegExpMatchArray | null;
  if ((match = /unknown top level operator: (\$\w+)/.exec(message)) !== null) {
    return new CommandError('BadValue', `unknown top level operator: ${match[1]}. If you have a field name that starts with a '$' symbol, consider using $getField or $setField.`);
  }
  if ((match = /unknown query operator (\$\w+)/.exec(message)) !== null) return new CommandError('BadValue', `unknown operator: ${match[1]}`);
  if ((match = /unregistered pipeline operator (\$\w+)/.exec(message)) !== null) {
    return new CommandError('Location40324', `Unrecognized pipeline stage name: '${match[1]}'`);
  }
  if ((match = /(?:accumulator|expression|operator) '?(\$\w+)'? is not registered/.exec(message)) !== null) {
    return new CommandError('InvalidPipelineOperator', `Unrecognized expression '${match[1]}'`);
  }
  if (/Cannot do exclusion and inclusion in projection/.test(message)) {
    return new CommandError('Location31254', 'Cannot do exclusion on field in inclusion projection');
  }
  if ((match = /Unknown update operator: '(\$\w+)'/.exec(message)) !== null) {
    return new CommandError('FailedToParse', `Unknown modifier: ${match[1]}. Expected a valid update modifier or pipeline-style update specified as an array`);
  }
  if (/You must include the array field for '\.\$'|positional operator found no match/.test(message)) {
    return new CommandError('BadValue', 'The positional operator did not find the match needed from the query.');
  }
  if ((match = /updating the path '([^']+)' would create a conflict at '([^']+)'/i.exec(message)) !== null) {
    return new CommandError('ConflictingUpdateOperators', `Updating the path '${match[1]}' would create a conflict at '${match[2]}'`);
  }
  if ((match = /Performing an update on the path '([^']+)' would modify the immutable field '_id'/.exec(message)) !== null) {
    return new CommandError('ImmutableField', `Performing an update on the path '${match[1]}' would modify the immutable field '_id'`);
  }
  if (error instanceof SyntaxError && /RegExp|regular expression/i.test(message)) {
    return new CommandError('Location51091', `Regular expression is invalid: ${message}`);
  }
  return new CommandError('BadValue', message);
}

/** A value mongod compares as a whole BSON value (documents field-order included, arrays). */
function isStructured(value: unknown): boolean {
  return Array.isArray(value) || (isPlainObject(value) && !Object.keys(value).some((key) => key.startsWith('$')));
}

/** Replaces the string '$$NOW' in an expression by the command's time (one value per command, as mongod). */
export function withNow(expression: unknown, now: Date | undefined): unknown {
  if (now === undefined) return expression;
  if (expression === '$$NOW') return { $literal: now };
  if (Array.isArray(expression)) return expression.map((item) => withNow(item, now));
  if (!isPlainObject(expression)) return expression;
  const out: Document = {};
  for (const key of Object.keys(expression)) out[key] = key === '$literal' ? expression[key] : withNow(expression[key], now);
  return out;
}

/**
 * Rewrites a filter for mingo: `$comment` dropped, the `x` regex flag applied, `$type` and exact
 * equality on documents/arrays routed to the sandbox's operators, numeric wrappers turned into
 * numbers (documents are evaluated through their query view), unsupported operators refused.
 */
export function normalizeFilter(filter: Document, top: boolean, now?: Date): Document {
  const out: Document = {};
  for (const key of Object.keys(filter)) {
    const value = filter[key];
    if (top && key === '$comment') continue;
    if (UNSUPPORTED_QUERY_OPERATORS.has(key)) {
      throw new CommandError('NotImplemented', `the query operator ${key} is not supported by the delta sandbox`);
    }
    if (key === '$where') throw new CommandError('NotImplemented', '$where is not supported by the delta sandbox (server-side JavaScript)');
    if ((key === '$and' || key === '$or' || key === '$nor') && Array.isArray(value)) {
      if (value.length === 0) throw new CommandError('BadValue', `${key} argument must be a non-empty array`);
      out[key] = value.map((clause) => {
        if (!isPlainObject(clause)) throw new CommandError('BadValue', `${key} argument's entries must be objects`);
        return normalizeFilter(clause, false, now);
      });
      continue;
    }
    if (key === '$expr') {
      out[key] = numbersOnly(withNow(value, now));
      continue;
    }
    if (key.startsWith('$')) {
      // $jsonSchema (our validator reads bson numbers itself) and operators mingo will name as unknown.
      out[key] = value;
      continue;
    }
    if (isPlainObject(value) && Object.keys(value).some((k) => k.startsWith('$'))) {
      out[key] = normalizeOperators(value, now);
      continue;
    }
    out[key] = isStructured(value) ? { [EQ_OPERATOR]: value } : numbersOnly(value);
  }
  return out;
}

function normalizeOperators(expression: Document, now?: Date): Document {
  const out: Document = {};
  for (const op of Object.keys(expression)) {
    const value = expression[op];
    if (UNSUPPORTED_QUERY_OPERATORS.has(op)) {
      throw new CommandError('NotImplemented', `the query operator ${op} is not supported by the delta sandbox`);
    }
    if ((op === '$elemMatch' || op === '$not') && isPlainObject(value)) {
      out[op] = Object.keys(value).some((k) => k.startsWith('$')) ? normalizeOperators(value, now) : normalizeFilter(value, false, now);
      continue;
    }
    switch (op) {
      case '$type':
        parseTypeOperand(value);
        out[TYPE_OPERATOR] = value;
        continue;
      case '$mod':
        parseModOperand(value);
        out[MOD_OPERATOR] = value;
        continue;
      case '$eq':
        if (isStructured(value)) out[EQ_OPERATOR] = value;
        else out[op] = numbersOnly(value);
        continue;
      case '$ne':
        if (isStructured(value) && expression.$not === undefined) out.$not = { [EQ_OPERATOR]: value };
        else out[op] = numbersOnly(value);
        continue;
      case '$in':
      case '$nin':
        if (!Array.isArray(value)) throw new CommandError('BadValue', `${op} needs an array`);
        // $in always goes to the sandbox's operator: exact BSON equality by hashed keys, where
        // mingo compares each value with every entry.
        if (op === '$in') {
          out[IN_OPERATOR] = value;
        } else if (value.some(isStructured) && expression.$not === undefined) {
          out.$not = { [IN_OPERATOR]: value };
        } else {
          out[op] = numbersOnly(value);
        }
        continue;
      default:
        out[op] = numbersOnly(value);
    }
  }
  if (typeof out.$options === 'string' && out.$options.includes('x') && typeof out.$regex === 'string') {
    // PCRE extended mode: unescaped whitespace and #-comments are not part of the pattern.
    out.$regex = stripExtendedWhitespace(out.$regex);
    out.$options = out.$options.replace(/x/g, '');
  }
  if (typeof out.$options === 'string' && /[^imsu]/.test(out.$options)) {
    throw new CommandError('Location51091', `invalid flag in regex options: ${out.$options.replace(/[imsu]/g, '')}`);
  }
  return out;
}

/** PCRE `x` flag: drops unescaped whitespace and `#` comments (outside character classes). */
function stripExtendedWhitespace(pattern: string): string {
  let out = '';
  let inClass = false;
  for (let i = 0; i < pattern.length; i++) {
    const ch = pattern[i] as string;
    if (ch === '\\') {
      out += ch + (pattern[i + 1] ?? '');
      i++;
      continue;
    }
    if (inClass) {
      if (ch === ']') inClass = false;
      out += ch;
      continue;
    }
    if (ch === '[') {
      inClass = true;
      out += ch;
      continue;
    }
    if (/\s/.test(ch)) continue;
    if (ch === '#') {
      while (i < pattern.length && pattern[i] !== '\n') i++;
      continue;
    }
    out += ch;
  }
  return out;
}

function idCandidatesOf(filter: Document): unknown[] | undefined {
  if (!Object.prototype.hasOwnProperty.call(filter, '_id')) return undefined;
  const value = filter._id;
  if (value instanceof RegExp) return undefined;
  if (isPlainObject(value)) {
    const ops = Object.keys(value);
    if (ops.length === 0 || !ops.every((op) => op.startsWith('$'))) return ops.some((op) => op.startsWith('$')) ? undefined : [value];
    if (ops.length === 1 && ops[0] === '$eq') return value.$eq instanceof RegExp ? undefined : [value.$eq];
    if (ops.length === 1 && ops[0] === '$in' && Array.isArray(value.$in) && !value.$in.some((v) => v instanceof RegExp || isPlainObject(v) || Array.isArray(v))) {
      const seen = new Set<string>();
      return value.$in.filter((v) => {
        const key = valueKey(v);
        if (seen.has(key)) return false;
        seen.add(key);
        return true;
      });
    }
    return undefined;
  }
  if (Array.isArray(value)) return undefined;
  return [value];
}

const compiledCache = new Map<string, CompiledFilter>();
const CACHE_LIMIT = 500;

/** Compiles a query filter; throws the CommandError mongod would answer for a bad one. */
export function compileFilter(filter: unknown, options?: EvaluationOptions): CompiledFilter {
  if (filter === undefined || filter === null) filter = {};
  if (!isPlainObject(filter)) throw new CommandError('TypeMismatch', 'Expected filter to be an object');
  const keys = Object.keys(filter);
  if (keys.length === 0) return { filter, test: () => true, idCandidates: undefined, idOnly: false };
  const idCandidates = idCandidatesOf(filter);
  const idOnly = keys.length === 1 && idCandidates !== undefined && idCandidates.length === 1 && !isPlainObject(filter._id);
  if (idOnly) {
    return { filter, test: (document) => valueKey(document._id) === valueKey(filter._id), idCandidates, idOnly };
  }
  const cacheable = options === undefined;
  // Only option-free filters are cached; a key collision is impossible since valueKey is injective.
  const cacheKey = cacheable ? valueKey(filter) : '';
  if (cacheable) {
    const cached = compiledCache.get(cacheKey);
    if (cached !== undefined) return cached;
  }
  let query: Query;
  try {
    query = new Query(normalizeFilter(filter, true, options?.now), mingoOptions(options));
  } catch (error) {
    throw translateMingoError(error);
  }
  const compiled: CompiledFilter = {
    filter,
    test: (document) => {
      try {
        return query.test(queryView(document));
      } catch (error) {
        throw translateMingoError(error);
      }
    },
    idCandidates,
    idOnly: false,
  };
  if (cacheable) {
    if (compiledCache.size >= CACHE_LIMIT) compiledCache.clear();
    compiledCache.set(cacheKey, compiled);
  }
  return compiled;
}

/** Runs `fn`, translating what mingo throws into the codes mongod answers with. */
export function guard<T>(fn: () => T): T {
  try {
    return fn();
  } catch (error) {
    throw translateMingoError(error);
  }
}
