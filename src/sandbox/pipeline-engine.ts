// Aggregation and update pipelines in the sandbox: mongod's stage checks and codes, the rewrite
// of a validated pipeline to mingo with mongod's semantics, and running it over query views.
// Filters, projections and sorts, which pipelines share with find, are in query-engine.ts.
import { Aggregator } from 'mingo/aggregator';
import type { Document } from 'bson';
import { isPlainObject, numberOf } from './bson-values.js';
import { CommandError } from './errors.js';
import { ACCUMULATOR_NAMES, ADD_FIELDS_STAGE, ORDERED_PROJECT_STAGE, QUERY_VIEWS_STAGE, SORT_STAGE } from './mingo-context.js';
import { validateSort } from './find-engine.js';
import type { DocumentStream } from './find-engine.js';
import { guard, mingoOptions, normalizeFilter, translateMingoError, withNow } from './query-engine.js';
import type { EvaluationOptions } from './query-engine.js';
import { numbersOnly, originalOf, queryView } from './query-view.js';

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
