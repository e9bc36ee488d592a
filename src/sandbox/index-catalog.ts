// Index definitions of a collection: spec validation and naming as mongod does them, key
// extraction (multikey, sparse, partial), and the key maps that make unique indexes enforceable.
import type { Document } from 'bson';
import { isPlainObject, renderValue, valueKey } from './bson-values.js';
import { CommandError } from './errors.js';
import { compileFilter } from './query-engine.js';
import type { CompiledFilter } from './query-engine.js';
import { OrderedIndex } from './ordered-index.js';

/** Options mongod accepts in an index specification (anything else: code 197). */
const INDEX_SPEC_FIELDS = new Set([
  'key',
  'name',
  'v',
  'unique',
  'sparse',
  'partialFilterExpression',
  'expireAfterSeconds',
  'background',
  'hidden',
  'collation',
  'weights',
  'default_language',
  'language_override',
  'textIndexVersion',
  '2dsphereIndexVersion',
  'bits',
  'min',
  'max',
  'bucketSize',
  'wildcardProjection',
  'storageEngine',
  'prepareUnique',
  'clustered',
]);

const STRING_INDEX_TYPES = new Set(['text', '2dsphere', '2d', 'hashed', 'geoHaystack', 'columnstore']);

/** Marker key for an empty array, which mongod indexes as `undefined`, distinct from null. */
const EMPTY_ARRAY_KEY = 'U';

export interface IndexKey {
  /** Canonical string of the key; equal strings are duplicates under a unique index. */
  readonly key: string;
  /** The indexed values (one per key field), for keyValue in duplicate-key errors. */
  readonly values: readonly unknown[];
}

/** An uncommitted transaction's claim on a unique key (see Collection.checkUnique). */
export interface KeyReservation {
  readonly ownerId: number;
  readonly idKey: string;
}

/** `a_1_b_-1`, `title_text`: the name mongod generates from a key pattern. */
export function defaultIndexName(key: Document): string {
  return Object.keys(key)
    .map((field) => `${field}_${String(key[field])}`)
    .join('_');
}

export class IndexEntry {
  readonly spec: Document;
  readonly name: string;
  readonly key: Document;
  readonly fields: ReadonlyArray<readonly [string, unknown]>;
  readonly unique: boolean;
  readonly sparse: boolean;
  readonly #partial: CompiledFilter | undefined;
  readonly #caseFold: 0 | 1 | 2;
  /** Unique indexes only: key -> idKey of the document that holds it in the latest committed state. */
  readonly committed = new Map<string, string>();
  /** Unique indexes only: keys written by open transactions and not yet committed. */
  readonly reservations = new Map<string, KeyReservation>();
  /** The index's rows in key order, for the query planner. */
  readonly ordered: OrderedIndex;

  constructor(spec: Document) {
    this.spec = spec;
    this.name = spec.name as string;
    this.key = spec.key as Document;
    this.fields = Object.keys(this.key).map((field) => [field, this.key[field]] as const);
    this.unique = spec.unique === true;
    this.sparse = spec.sparse === true;
    this.#partial = isPlainObject(spec.partialFilterExpression) ? compileFilter(spec.partialFilterExpression) : undefined;
    const collation = spec.collation as Document | undefined;
    const strength = typeof collation?.strength === 'number' ? collation.strength : 3;
    this.#caseFold = collation?.locale !== undefined && collation.locale !== 'simple' && strength <= 2 ? (strength === 1 ? 1 : 2) : 0;
    const partial = this.#partial;
    this.ordered = new OrderedIndex({
      name: this.name,
      keyPattern: this.key,
      sparse: this.sparse,
      ...(partial === undefined ? {} : { includes: (document: Document) => partial.test(document) }),
    });
  }

  /** The distinct keys this document contributes to the index ([] when sparse/partial exclude it). */
  keysOf(document: Document): IndexKey[] {
    if (this.#partial !== undefined && !this.#partial.test(document)) return [];
    const perField = this.fields.map(([path]) => indexValues(document, path));
    if (this.sparse && perField.every((values) => values.length === 1 && values[0] === undefined)) return [];
    const keys = new Map<string, IndexKey>();
    const combine = (index: number, chosen: unknown[]): void => {
      if (index === perField.length) {
        const parts = chosen.map((value) => this.#keyPart(value));
        const key = parts.length === 1 ? (parts[0] as string) : JSON.stringify(parts);
        if (!keys.has(key)) {
          keys.set(key, { key, values: chosen.map((value) => (value === undefined || value === EMPTY_ARRAY ? null : value)) });
        }
        return;
      }
      for (const value of perField[index] as unknown[]) combine(index + 1, [...chosen, value]);
    };
    combine(0, []);
    return [...keys.values()];
  }

  #keyPart(value: unknown): string {
    if (value === EMPTY_ARRAY) return EMPTY_ARRAY_KEY;
    if (this.#caseFold !== 0 && typeof value === 'string') {
      const folded = value.toLocaleLowerCase();
      return valueKey(this.#caseFold === 1 ? folded.normalize('NFD').replace(/\p{M}/gu, '') : folded);
    }
    return valueKey(value);
  }

  /** `{ email: "a" }` for keyValue, in key-pattern field order. */
  keyValue(values: readonly unknown[]): Document {
    const document: Document = {};
    this.fields.forEach(([path], i) => {
      document[path] = values[i] ?? null;
    });
    return document;
  }

  /** The E11000 error mongod answers when `values` already exist in this unique index. */
  duplicateKeyError(namespace: string, values: readonly unknown[]): CommandError {
    const keyValue = this.keyValue(values);
    const rendered = `{ ${Object.keys(keyValue)
      .map((field) => `${field}: ${renderValue(keyValue[field])}`)
      .join(', ')} }`;
    return new CommandError('DuplicateKey', `E11000 duplicate key error collection: ${namespace} index: ${this.name} dup key: ${rendered}`, { extra: { keyPattern: { ...this.key }, keyValue } });
  }
}

const EMPTY_ARRAY = Symbol('empty-array');

/** The values a document has at `path` for indexing: arrays expand (multikey), missing is undefined. */
function indexValues(document: Document, path: string): unknown[] {
  const out: unknown[] = [];
  const walk = (value: unknown, parts: string[], index: number): void => {
    if (index === parts.length) {
      if (Array.isArray(value)) {
        if (value.length === 0) out.push(EMPTY_ARRAY);
        else for (const item of value) out.push(item);
      } else {
        out.push(value);
      }
      return;
    }
    const part = parts[index] as string;
    if (Array.isArray(value)) {
      if (/^\d+$/.test(part) && Number(part) < value.length) {
        walk(value[Number(part)], parts, index + 1);
        return;
      }
      let any = false;
      for (const item of value) {
        if (isPlainObject(item)) {
          any = true;
          walk(item, parts, index);
        }
      }
      if (!any) out.push(undefined);
      return;
    }
    if (isPlainObject(value) && Object.prototype.hasOwnProperty.call(value, part)) {
      walk(value[part], parts, index + 1);
      return;
    }
    out.push(undefined);
  };
  walk(document, path.split('.'), 0);
  if (out.length === 0) out.push(undefined);
  return out;
}

/**
 * Validates one `indexes[]` entry of createIndexes and returns the normalized spec stored in the
 * catalog ({ v: 2, key, name, ...options }), or throws the error mongod answers.
 */
export function normalizeIndexSpec(raw: unknown, namespace: string): Document {
  if (!isPlainObject(raw)) throw new CommandError('TypeMismatch', "Expected field 'indexes' elements to be objects");
  for (const field of Object.keys(raw)) {
    if (!INDEX_SPEC_FIELDS.has(field)) {
      throw new CommandError('InvalidIndexSpecificationOption', `The field '${field}' is not valid for an index specification. Specification: ${renderValue(raw)}`);
    }
  }
  const key = raw.key;
  if (!isPlainObject(key)) throw new CommandError('TypeMismatch', "The 'key' field must be an object");
  const keyFields = Object.keys(key);
  if (keyFields.length === 0) throw new CommandError('CannotCreateIndex', 'Index keys cannot be empty.');
  for (const field of keyFields) {
    const direction = key[field];
    if (field === '') throw new CommandError('CannotCreateIndex', 'Index key cannot be an empty field.');
    if (typeof direction === 'number') {
      if (direction === 0 || Number.isNaN(direction)) {
        throw new CommandError('CannotCreateIndex', `Error in specification ${renderValue(raw)} :: caused by :: Values in the index key pattern can't be 0.`);
      }
    } else if (typeof direction === 'string') {
      if (!STRING_INDEX_TYPES.has(direction) && !(direction === '1' || direction === '-1') && !field.endsWith('$**')) {
        throw new CommandError('CannotCreateIndex', `Unknown index plugin '${direction}'`);
      }
    } else if (!(typeof (direction as { _bsontype?: string })?._bsontype === 'string')) {
      throw new CommandError(
        'CannotCreateIndex',
        `Error in specification ${renderValue(raw)} :: caused by :: Values in v:2 index key pattern cannot be of type ${typeof direction}. Only numbers > 0, numbers < 0, and strings are allowed.`,
      );
    }
  }
  const name = raw.name ?? defaultIndexName(key);
  if (typeof name !== 'string' || name === '') throw new CommandError('CannotCreateIndex', 'index name must be a non-empty string');
  if (raw.sparse !== undefined && raw.partialFilterExpression !== undefined) {
    throw new CommandError('CannotCreateIndex', 'cannot mix "partialFilterExpression" and "sparse" options');
  }
  if (raw.partialFilterExpression !== undefined && !isPlainObject(raw.partialFilterExpression)) {
    throw new CommandError('TypeMismatch', 'partialFilterExpression must be an object');
  }
  if (raw.expireAfterSeconds !== undefined && (typeof raw.expireAfterSeconds !== 'number' || raw.expireAfterSeconds < 0)) {
    throw new CommandError('CannotCreateIndex', "TTL index 'expireAfterSeconds' option must be a non-negative number");
  }
  const isId = keyFields.length === 1 && keyFields[0] === '_id' && (key._id === 1 || key._id === 1.0);
  if (isId && name === '_id_' && (raw.unique !== undefined || raw.sparse !== undefined || raw.partialFilterExpression !== undefined)) {
    const option = raw.unique !== undefined ? 'unique' : raw.sparse !== undefined ? 'sparse' : 'partialFilterExpression';
    throw new CommandError('InvalidIndexSpecificationOption', `The field '${option}' is not valid for an _id index specification. Specification: ${renderValue(raw)} in namespace ${namespace}`);
  }
  const spec: Document = { v: 2, key: { ...key }, name };
  for (const field of Object.keys(raw)) {
    if (field === 'key' || field === 'name' || field === 'v' || field === 'background') continue;
    // mongod normalizes boolean options: unique: false is dropped, truthy values become true.
    if (field === 'unique' || field === 'sparse' || field === 'hidden') {
      if (raw[field] === true || raw[field] === 1) spec[field] = true;
      continue;
    }
    spec[field] = raw[field];
  }
  return spec;
}

/** Whether two normalized specs describe the same index (mongod's "identical index" check). */
export function sameIndexOptions(a: Document, b: Document): boolean {
  const comparable = (spec: Document): string => {
    const { v: _v, name: _name, background: _background, ...rest } = spec;
    return valueKey(sortKeys(rest));
  };
  return comparable(a) === comparable(b);
}

function sortKeys(document: Document): Document {
  const sorted: Document = {};
  for (const key of Object.keys(document).sort()) {
    const value = document[key];
    sorted[key] = key === 'key' ? value : isPlainObject(value) ? sortKeys(value) : value;
  }
  return sorted;
}

/** Whether two key patterns are the same (field order matters, as in mongod). */
export function sameKeyPattern(a: Document, b: Document): boolean {
  return valueKey(a) === valueKey(b);
}
