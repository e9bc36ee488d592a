// find in the sandbox: sort and projection checks with mongod's codes, and the lazy stream of
// filter, sort, skip, limit and projection over a collection's documents (filters themselves are
// compiled in query-engine.ts).
import { Query } from 'mingo/query';
import type { Document } from 'bson';
import { isPlainObject } from './bson-values.js';
import { CommandError } from './errors.js';
import { reorderLike } from './mingo-context.js';
import { compileFilter, guard, mingoOptions, normalizeFilter, translateMingoError } from './query-engine.js';
import type { CompiledFilter, EvaluationOptions } from './query-engine.js';
import { sortDocuments } from './sort-order.js';
import { PAUSE } from './time-slice.js';
import type { Pause } from './time-slice.js';
import { topLevelProjector } from './top-level-projection.js';

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
