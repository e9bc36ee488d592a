// The bridge to mingo: filters, projections, sorts and aggregation pipelines evaluated with
// MongoDB semantics, and mingo's errors translated into the codes mongod answers with.
import { Aggregator } from 'mingo/aggregator';
import { Query } from 'mingo/query';
import type { Options as MingoOptions } from 'mingo/types';
import type { Document } from 'bson';
import { isPlainObject, numberOf, valueKey } from './bson-values.js';
import { CommandError } from './errors.js';
import { jsonSchemaPredicate } from './json-schema-validator.js';
import {
  ACCUMULATOR_NAMES,
  ADD_FIELDS_STAGE,
  EQ_OPERATOR,
  IN_OPERATOR,
  MINGO_CONTEXT,
  MOD_OPERATOR,
  ORDERED_PROJECT_STAGE,
  parseModOperand,
  parseTypeOperand,
  QUERY_VIEWS_STAGE,
  reorderLike,
  SORT_STAGE,
  TYPE_OPERATOR,
} from './mingo-context.js';
import { numbersOnly, originalOf, queryView } from './query-view.js';
import { sortDocuments } from './sort-order.js';
import { PAUSE } from './time-slice.js';
import { topLevelProjector } from './top-level-projection.js';
import type { Pause } from './time-slice.js';

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

export const UNSUPPORTED_STAGES = new Set([
  '$geoNear',
  '$search',
  '$searchMeta',
  '$vectorSearch',
  '$collStats',
  '$indexStats',
  '$currentOp',
  '$listSessions',
  '$listLocalSessions',
  '$changeStream',
  '$changeStreamSplitLargeEvent',
  '$planCursorStats',
  '$listSearchIndexes',
  '$listSampledQueries',
  '$shardedDataDistribution',
  '$queryStats',
  '$querySettings',
  '$listClusterCatalog',
  '$listCachedAndActiveUsers',
]);

const MINGO_STAGES = new Set([
  '$addFields',
  '$bucket',
  '$bucketAuto',
  '$count',
  '$densify',
  '$documents',
  '$facet',
  '$fill',
  '$graphLookup',
  '$group',
  '$limit',
  '$lookup',
  '$match',
  '$project',
  '$redact',
  '$replaceRoot',
  '$replaceWith',
  '$sample',
  '$set',
  '$setWindowFields',
  '$skip',
  '$sort',
  '$sortByCount',
  '$unionWith',
  '$unset',
  '$unwind',
]);

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
function normalizeFilter(filter: Document, top: boolean, now?: Date): Document {
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

export interface FindShape {
  readonly projection?: Document;
  readonly sort?: Document;
  readonly skip?: number;
  readonly limit?: number;
  /** The source holds only documents the filter matches (a planned source): no second test. */
  readonly prefiltered?: boolean;
  /** The source is already in `sort` order (an index provides it): no blocking sort. */
  readonly presorted?: boolean;
}

/** Validates a sort document as mongod does (1, -1 or a $meta). */
export function validateSort(sort: unknown): Document | undefined {
  if (sort === undefined || sort === null) return undefined;
  if (!isPlainObject(sort)) throw new CommandError('TypeMismatch', 'Expected field sort to be of type object');
  for (const key of Object.keys(sort)) {
    const direction = sort[key];
    if (isPlainObject(direction)) {
      throw new CommandError('NotImplemented', `$meta sort on '${key}' is not supported by the delta sandbox`);
    }
    if (direction !== 1 && direction !== -1) {
      throw new CommandError('Location15974', `Illegal key in $sort specification: ${key}: ${String(direction)}`);
    }
  }
  return Object.keys(sort).length === 0 ? undefined : sort;
}

/** Validates a find projection's inclusion/exclusion mix (codes 31254 / 31253). */
export function validateProjection(projection: unknown): Document | undefined {
  if (projection === undefined || projection === null) return undefined;
  if (!isPlainObject(projection)) throw new CommandError('TypeMismatch', 'Expected field projection to be of type object');
  let inclusion: string | undefined;
  let exclusion: string | undefined;
  for (const key of Object.keys(projection)) {
    const value = projection[key];
    if (isPlainObject(value) || Array.isArray(value) || typeof value === 'string') {
      inclusion ??= key === '_id' ? undefined : key;
      continue;
    }
    const truthy = value === true || (typeof value === 'number' && value !== 0) || (typeof value === 'object' && value !== null);
    if (key === '_id') continue;
    if (truthy) inclusion ??= key;
    else exclusion ??= key;
  }
  if (inclusion !== undefined && exclusion !== undefined) {
    throw new CommandError('Location31254', `Cannot do exclusion on field ${exclusion} in inclusion projection`);
  }
  return Object.keys(projection).length === 0 ? undefined : projection;
}

/** A pull-based result stream: documents in the order and shape the query asks for. */
export interface DocumentStream {
  next(): Document | undefined;
  /** After next() answered undefined: true when the source paused for its time slice (read again), not ended. */
  paused?(): boolean;
}

/**
 * `$elemMatch` in a find projection is evaluated here: mingo's version only takes document
 * criteria, while mongod also accepts operators on scalar elements (`{ $elemMatch: { $gt: 1 } }`).
 */
function splitElemMatch(projection: Document | undefined): { projection: Document | undefined; elemMatches: Array<[string, (element: unknown) => boolean]> } {
  if (projection === undefined) return { projection, elemMatches: [] };
  const elemMatches: Array<[string, (element: unknown) => boolean]> = [];
  const rest: Document = {};
  for (const field of Object.keys(projection)) {
    const value = projection[field];
    if (!isPlainObject(value) || !isPlainObject(value.$elemMatch)) {
      rest[field] = value;
      continue;
    }
    if (field.includes('.')) throw new CommandError('BadValue', 'Cannot use $elemMatch projection on a nested field.');
    const criteria = value.$elemMatch;
    const operatorForm = Object.keys(criteria).some((key) => key.startsWith('$') && !['$and', '$or', '$nor', '$expr', '$where', '$comment'].includes(key));
    const compiled = compileFilter(operatorForm ? { v: criteria } : criteria);
    elemMatches.push([field, operatorForm ? (element) => compiled.test({ v: element }) : (element) => isPlainObject(element) && compiled.test(element)]);
    rest[field] = 1;
  }
  return { projection: rest, elemMatches };
}

/**
 * Runs filter + sort + skip + limit + projection lazily over `source`. Without a sort nothing is
 * materialized, so a cursor over a million documents costs only what its batches read.
 */
export function runFind(source: Iterable<Document | Pause>, filter: CompiledFilter, shape: FindShape, options?: EvaluationOptions): DocumentStream {
  const { projection, elemMatches } = splitElemMatch(shape.projection);
  try {
    // Positional projection (`a.$`) needs the filter that matched the array element.
    const positional = projection !== undefined && Object.keys(projection).some((key) => key.endsWith('.$'));
    // Top-level keep/drop lists are copied field by field; anything else goes through mingo.
    const direct = projection === undefined || positional ? undefined : topLevelProjector(projection);
    // Built only when needed: constructing a mingo Query copies its whole operator context.
    const query = projection === undefined || direct !== undefined ? undefined : new Query(positional ? normalizeFilter(filter.filter, true, options?.now) : {}, mingoOptions(options));
    const iterator = (shape.prefiltered === true ? source : filteredSource(source, filter))[Symbol.iterator]();
    let paused = false;
    const shapeOne = (document: Document): Document => {
      if (projection === undefined) return document;
      const projected = direct !== undefined ? direct(document) : query === undefined ? document : projectOne(query, document, projection);
      for (const [field, matches] of elemMatches) {
        const value = document[field];
        const found = Array.isArray(value) ? value.find(matches) : undefined;
        if (found === undefined) delete projected[field];
        else projected[field] = [found];
      }
      return projected;
    };
    const skip = shape.skip ?? 0;
    const limit = shape.limit ?? 0;
    if (shape.sort === undefined || shape.presorted === true) {
      let skipped = 0;
      let returned = 0;
      return {
        next: () => {
          paused = false;
          if (limit > 0 && returned >= limit) return undefined;
          for (;;) {
            const step = guard(() => iterator.next());
            if (step.done === true) return undefined;
            if (step.value === PAUSE) {
              paused = true;
              return undefined;
            }
            if (skipped < skip) {
              skipped++;
              continue;
            }
            returned++;
            return shapeOne(step.value);
          }
        },
        paused: () => paused,
      };
    }
    // Sorting happens before projection, so the original is at hand to restore field order.
    const sortSpec = shape.sort;
    const collected: Document[] = [];
    let sorted: Document[] | undefined;
    let position = skip;
    return {
      next: () => {
        paused = false;
        while (sorted === undefined) {
          const step = guard(() => iterator.next());
          if (step.done === true) {
            sorted = guard(() => sortDocuments(collected, sortSpec, options?.collation));
          } else if (step.value === PAUSE) {
            paused = true;
            return undefined;
          } else {
            collected.push(step.value);
          }
        }
        const end = limit > 0 ? skip + limit : sorted.length;
        if (position >= end || position >= sorted.length) return undefined;
        return shapeOne(sorted[position++] as Document);
      },
      paused: () => paused,
    };
  } catch (error) {
    throw translateMingoError(error);
  }
}

function guard<T>(fn: () => T): T {
  try {
    return fn();
  } catch (error) {
    throw translateMingoError(error);
  }
}

function filteredSource(source: Iterable<Document | Pause>, filter: CompiledFilter): Iterable<Document | Pause> {
  if (Object.keys(filter.filter).length === 0) return source;
  return {
    *[Symbol.iterator]() {
      for (const document of source) if (document === PAUSE || filter.test(document)) yield document;
    },
  };
}

/** Projects a single document with find-projection semantics, keeping mongod's field order. */
export function projectOne(query: Query, document: Document, projection: Document): Document {
  const projected = guard(() => query.find<Document>([document], projection).next());
  if (projected === undefined) return {};
  return reorderLike(document, projected);
}

export function projectionQuery(options?: EvaluationOptions): Query {
  return new Query({}, mingoOptions(options));
}

/** The argument checks mongod's stage parsers make, with their codes. */
function validateStageArgument(name: string, spec: unknown): void {
  switch (name) {
    case '$limit': {
      const n = numberOf(spec);
      if (n === undefined) throw new CommandError('Location15957', 'the limit must be specified as a number');
      if (n <= 0) throw new CommandError('Location15958', 'the limit must be positive');
      return;
    }
    case '$skip': {
      const n = numberOf(spec);
      if (n === undefined) throw new CommandError('Location15972', 'Argument to $skip must be a number');
      if (n < 0) throw new CommandError('Location15956', `invalid argument to $skip stage: Expected a non-negative number in: $skip: ${n}`);
      return;
    }
    case '$group': {
      if (!isPlainObject(spec)) throw new CommandError('Location15947', "a group's fields must be specified in an object");
      if (!Object.prototype.hasOwnProperty.call(spec, '_id')) throw new CommandError('Location15955', 'a group specification must include an _id');
      for (const field of Object.keys(spec)) {
        if (field === '_id') continue;
        if (field.includes('.')) throw new CommandError('Location40235', `The field name '${field}' cannot contain '.'`);
        const accumulator = spec[field];
        if (!isPlainObject(accumulator)) throw new CommandError('Location40234', `The field '${field}' must be an accumulator object`);
        const operators = Object.keys(accumulator);
        if (operators.length !== 1) throw new CommandError('Location40238', `The field '${field}' must specify one accumulator`);
        const operator = operators[0] as string;
        if (operator === '$accumulator') throw new CommandError('NotImplemented', 'the $accumulator operator (server-side JavaScript) is not supported by the delta sandbox');
        if (!ACCUMULATOR_NAMES.has(operator)) throw new CommandError('Location15952', `unknown group operator '${operator}'`);
      }
      return;
    }
    default:
      return;
  }
}

/** Checks stage names before mingo sees them, so unknown and unsupported stages get mongod's codes. */
export function validatePipeline(pipeline: unknown, context: 'aggregate' | 'update' | 'facet' = 'aggregate'): Document[] {
  if (!Array.isArray(pipeline)) throw new CommandError('TypeMismatch', "'pipeline' option must be specified as an array");
  pipeline.forEach((stage, index) => {
    if (!isPlainObject(stage)) throw new CommandError('TypeMismatch', "Each element of the 'pipeline' array must be an object");
    const names = Object.keys(stage);
    if (names.length !== 1) {
      throw new CommandError('Location40323', 'A pipeline stage specification object must contain exactly one field.');
    }
    const name = names[0] as string;
    validateStageArgument(name, stage[name]);
    if (UNSUPPORTED_STAGES.has(name)) throw new CommandError('NotImplemented', `the ${name} stage is not supported by the delta sandbox`);
    if (name === '$out' || name === '$merge') {
      if (context !== 'aggregate') throw new CommandError('Location40324', `${name} is not allowed in this context`);
      if (index !== pipeline.length - 1) {
        throw new CommandError('Location40324', `${name} can only be the final stage in the pipeline`);
      }
      return;
    }
    if (!MINGO_STAGES.has(name)) throw new CommandError('Location40324', `Unrecognized pipeline stage name: '${name}'`);
    if (name === '$facet' && isPlainObject(stage.$facet)) {
      for (const sub of Object.values(stage.$facet)) validatePipeline(sub, 'facet');
    }
    if ((name === '$lookup' || name === '$unionWith') && isPlainObject(stage[name]) && Array.isArray((stage[name] as Document).pipeline)) {
      validatePipeline((stage[name] as Document).pipeline, 'facet');
    }
  });
  return pipeline as Document[];
}

// Stages whose accumulators may emit typed numbers (Long, Double, Decimal128) the next stage
// must see as query views.
const TYPED_OUTPUT_STAGES = new Set(['$group', '$bucket', '$bucketAuto', '$setWindowFields', '$facet']);

/**
 * Adapts a validated pipeline to mingo with mongod's semantics: `$project` keeps document field
 * order, `$sort` follows mongod's array and type rules, `$count` yields nothing over no input,
 * `$match` filters are normalized like find filters, `$addFields` sets fields through arrays,
 * `$$NOW` is one value per command.
 */
export function rewritePipeline(pipeline: Document[], now: Date | undefined): Document[] {
  const out: Document[] = [];
  for (const [index, stage] of pipeline.entries()) {
    const name = Object.keys(stage)[0] as string;
    const spec = withNow(stage[name], now);
    switch (name) {
      case '$project':
        out.push({ [ORDERED_PROJECT_STAGE]: spec });
        break;
      case '$sort':
        validateSort(spec);
        out.push({ [SORT_STAGE]: spec });
        break;
      case '$count':
        if (typeof spec !== 'string' || spec === '' || spec.startsWith('$') || spec.includes('.')) {
          throw new CommandError('Location40324', 'the count field must be a non-empty string that does not start with $ and has no dots');
        }
        // mongod's $count is exactly this pair of stages: no document at all for no input.
        out.push({ $group: { _id: null, [spec]: { $sum: 1 } } }, { [ORDERED_PROJECT_STAGE]: { _id: 0 } });
        break;
      case '$addFields':
      case '$set':
        out.push({ [ADD_FIELDS_STAGE]: numbersOnly(spec) });
        break;
      case '$match':
        if (!isPlainObject(stage.$match)) throw new CommandError('Location15974', 'the match filter must be an expression in an object');
        out.push({ $match: normalizeFilter(stage.$match, true, now) });
        break;
      case '$facet': {
        const facets: Document = {};
        for (const key of Object.keys(spec as Document)) facets[key] = rewritePipeline((spec as Document)[key] as Document[], now);
        out.push({ $facet: facets });
        break;
      }
      case '$lookup':
      case '$unionWith':
        if (isPlainObject(spec) && Array.isArray(spec.pipeline)) out.push({ [name]: { ...spec, pipeline: rewritePipeline(spec.pipeline as Document[], now) } });
        else out.push({ [name]: spec });
        break;
      default:
        out.push({ [name]: numbersOnly(spec) });
    }
    if (TYPED_OUTPUT_STAGES.has(name) && index < pipeline.length - 1) out.push({ [QUERY_VIEWS_STAGE]: null });
  }
  return out;
}

function* viewsOf(source: Iterable<Document>): Generator<Document> {
  for (const document of source) yield queryView(document);
}

/**
 * Runs a validated pipeline lazily over `source`. mingo computes over query views (numbers in
 * place of Long/Double/Decimal128 wrappers); a document that passes through unchanged comes back
 * as the stored original, with its exact types.
 */
export function runPipeline(source: Iterable<Document>, pipeline: Document[], options?: EvaluationOptions): DocumentStream {
  try {
    const resolver = options?.collectionResolver;
    const evaluation: EvaluationOptions | undefined = resolver === undefined ? options : { ...options, collectionResolver: (name: string) => resolver(name).map((document) => queryView(document)) };
    const aggregator = new Aggregator(rewritePipeline(pipeline, options?.now), mingoOptions(evaluation));
    const iterator = aggregator.stream(viewsOf(source));
    return {
      next: () =>
        guard(() => {
          const step = iterator.next();
          return step.done ? undefined : originalOf(step.value as Document);
        }),
    };
  } catch (error) {
    throw translateMingoError(error);
  }
}

/** Runs an update pipeline ($set/$unset/$replaceWith...) over one document copy. */
export function runUpdatePipeline(document: Document, pipeline: Document[], options?: EvaluationOptions): Document {
  const stream = runPipeline([document], pipeline, options);
  const result = stream.next();
  if (result === undefined) throw new CommandError('InternalError', 'update pipeline produced no document');
  return result;
}
