// One index in key order: a row per (key, document chain), ordered by the key pattern (each field
// ascending or descending) and then by the chain's record id, which is the collection's natural
// order, so rows with equal keys come back in insertion order as a scan would return them.
//
// MVCC: an index holds the keys of every document version some reader may still see (committed
// versions kept for open snapshots and open transactions' pending writes), so any read view finds
// its documents through it; a reader re-checks each row against the version it sees.
import type { Document } from 'bson';
import type { DocChain } from './doc-versions.js';
import { compareKeyValues, pathValues } from './index-keys.js';
import { SortedList } from './sorted-list.js';

/** One index row: the key (the value itself for one field, a tuple for a compound index) and its chain. */
export interface IndexRow {
  readonly k: unknown;
  readonly c: DocChain;
}

export interface OrderedIndexOptions {
  readonly name: string;
  readonly keyPattern: Document;
  readonly sparse?: boolean;
  /** Partial indexes: whether a document belongs in the index. */
  readonly includes?: (document: Document) => boolean;
}

export class OrderedIndex {
  readonly name: string;
  readonly keyPattern: Document;
  readonly fields: readonly string[];
  readonly directions: ReadonlyArray<1 | -1>;
  readonly sparse: boolean;
  readonly partial: boolean;
  readonly rows: SortedList<IndexRow>;
  /** Per field: some document had an array on the path. Sticky, as mongod's multikey flag. */
  readonly multikey: boolean[];
  /** Set when the index is dropped: a paused reader of it must stop (QueryPlanKilled). */
  dropped = false;
  readonly #includes: ((document: Document) => boolean) | undefined;
  readonly #compound: boolean;

  constructor(options: OrderedIndexOptions) {
    this.name = options.name;
    this.keyPattern = options.keyPattern;
    this.fields = Object.keys(options.keyPattern);
    this.directions = this.fields.map((field) => (Number(options.keyPattern[field]) < 0 ? -1 : 1));
    this.sparse = options.sparse === true;
    this.partial = options.includes !== undefined;
    this.#includes = options.includes;
    this.#compound = this.fields.length > 1;
    this.multikey = this.fields.map(() => false);
    this.rows = new SortedList<IndexRow>((a, b) => this.compareKeys(a.k, b.k) || a.c.rid - b.c.rid);
  }

  get isMultikey(): boolean {
    return this.multikey.some(Boolean);
  }

  /** The value of field `i` in a row key. */
  keyPart(key: unknown, i: number): unknown {
    return this.#compound ? (key as unknown[])[i] : key;
  }

  /** Index order of two keys (descending fields inverted). */
  compareKeys(a: unknown, b: unknown): number {
    if (!this.#compound) return compareKeyValues(a, b) * (this.directions[0] as number);
    const x = a as unknown[];
    const y = b as unknown[];
    for (let i = 0; i < x.length; i++) {
      const order = compareKeyValues(x[i], y[i]);
      if (order !== 0) return order * (this.directions[i] as number);
    }
    return 0;
  }

  /** The distinct keys `document` contributes, in index order ([] when sparse/partial leave it out). */
  keysOf(document: Document): unknown[] {
    if (this.#includes !== undefined && !this.#includes(document)) return [];
    if (!this.#compound) {
      const { values, multikey } = pathValues(document, this.fields[0] as string);
      if (multikey) this.multikey[0] = true;
      if (this.sparse && !multikey && values.length === 1 && values[0] === null && !hasPath(document, this.fields[0] as string)) return [];
      return values.length === 1 ? values : this.#distinct(values);
    }
    const perField = this.fields.map((field, i) => {
      const found = pathValues(document, field);
      if (found.multikey) this.multikey[i] = true;
      return found.values;
    });
    if (this.sparse && this.fields.every((field) => !hasPath(document, field))) return [];
    let tuples: unknown[][] = [[]];
    for (const values of perField) {
      const next: unknown[][] = [];
      for (const tuple of tuples) for (const value of values) next.push([...tuple, value]);
      tuples = next;
    }
    return tuples.length === 1 ? tuples : this.#distinct(tuples);
  }

  #distinct(keys: unknown[]): unknown[] {
    keys.sort((a, b) => this.compareKeys(a, b));
    return keys.filter((key, i) => i === 0 || this.compareKeys(keys[i - 1], key) !== 0);
  }

  /** The distinct keys of several documents (versions of one chain), in index order. */
  keysOfAll(documents: readonly Document[]): unknown[] {
    if (documents.length === 1) return this.keysOf(documents[0] as Document);
    const all: unknown[] = [];
    for (const document of documents) all.push(...this.keysOf(document));
    return all.length <= 1 ? all : this.#distinct(all);
  }

  /** Brings the rows of `chain` from the keys of `before` to those of `after` (documents it holds). */
  reconcile(chain: DocChain, before: readonly Document[], after: readonly Document[]): void {
    if (before.length === after.length && before.every((document, i) => document === after[i])) return;
    const oldKeys = this.keysOfAll(before);
    const newKeys = this.keysOfAll(after);
    let i = 0;
    let j = 0;
    while (i < oldKeys.length || j < newKeys.length) {
      const order = i >= oldKeys.length ? 1 : j >= newKeys.length ? -1 : this.compareKeys(oldKeys[i], newKeys[j]);
      if (order === 0) {
        i++;
        j++;
      } else if (order < 0) {
        this.rows.remove({ k: oldKeys[i++], c: chain });
      } else {
        this.rows.insert({ k: newKeys[j++], c: chain });
      }
    }
  }

  /** Adds the rows of a chain holding `documents` (index builds, loading). */
  add(chain: DocChain, documents: readonly Document[]): void {
    for (const key of this.keysOfAll(documents)) this.rows.insert({ k: key, c: chain });
  }
}

/** Whether the path reaches a value (sparse indexes leave out documents missing every field). */
function hasPath(document: Document, path: string): boolean {
  let value: unknown = document;
  for (const part of path.split('.')) {
    if (Array.isArray(value)) return true;
    if (!isObject(value) || !Object.prototype.hasOwnProperty.call(value, part)) return false;
    value = value[part];
  }
  return true;
}

function isObject(value: unknown): value is Document {
  return value !== null && typeof value === 'object';
}
