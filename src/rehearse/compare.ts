import { EJSON } from 'bson';
import type { CollectionPrint, Fingerprint } from './fingerprint.js';

/** One way two states of the scratch database differ. */
export interface PrintDifference {
  readonly collection: string;
  /** What differs: the collection itself, its options, its validator, an index, its documents. */
  readonly what: 'collection' | 'options' | 'validator' | 'index' | 'documents';
  readonly detail: string;
  /** Up to 5 `_id`s (canonical Extended JSON) of documents that differ. */
  readonly examples?: readonly string[];
}

const EXAMPLES = 5;

/**
 * Every difference between `expected` and `actual`: collections missing or extra, options,
 * validators, indexes missing, extra or changed, and documents (as multisets of hashes, with up
 * to 5 example `_id`s). `masked` compares the hashes with the rehearsal's own values masked.
 */
export function compare(expected: Fingerprint, actual: Fingerprint, masked: boolean): PrintDifference[] {
  const differences: PrintDifference[] = [];
  const names = [...new Set([...expected.keys(), ...actual.keys()])].sort();
  for (const collection of names) {
    const want = expected.get(collection);
    const got = actual.get(collection);
    if (want === undefined) differences.push({ collection, what: 'collection', detail: `${collection} is there and should not be (${documentCount(got, masked)})` });
    else if (got === undefined) differences.push({ collection, what: 'collection', detail: `${collection} is missing (it had ${documentCount(want, masked)})` });
    else differences.push(...collectionDifferences(collection, want, got, masked));
  }
  return differences;
}

function documentCount(print: CollectionPrint | undefined, masked: boolean): string {
  return plural((masked ? print?.maskedDocuments : print?.documents)?.length ?? 0);
}

function plural(n: number): string {
  return `${n} document${n === 1 ? '' : 's'}`;
}

/** A canonical value (an `_id`, options, an index) as people read it: relaxed Extended JSON (`2`, `"a"`, `{"$oid":"..."}`). */
function shown(id: string): string {
  try {
    return EJSON.stringify(EJSON.parse(id, { relaxed: false }), { relaxed: true });
  } catch {
    return id;
  }
}

function collectionDifferences(collection: string, want: CollectionPrint, got: CollectionPrint, masked: boolean): PrintDifference[] {
  const differences: PrintDifference[] = [];
  if (want.type !== got.type) differences.push({ collection, what: 'collection', detail: `${collection} is a ${got.type}, was a ${want.type}` });
  if (want.options !== got.options) differences.push({ collection, what: 'options', detail: `options ${shown(got.options)}, expected ${shown(want.options)}` });
  if (want.validator !== got.validator) differences.push({ collection, what: 'validator', detail: `validator ${shown(got.validator)}, expected ${shown(want.validator)}` });
  for (const [name, spec] of want.indexes) {
    const other = got.indexes.get(name);
    if (other === undefined) differences.push({ collection, what: 'index', detail: `index ${name} is missing (${shown(spec)})` });
    else if (other !== spec) differences.push({ collection, what: 'index', detail: `index ${name} is ${shown(other)}, expected ${shown(spec)}` });
  }
  for (const [name, spec] of got.indexes) {
    if (!want.indexes.has(name)) differences.push({ collection, what: 'index', detail: `index ${name} is there and should not be (${shown(spec)})` });
  }
  const wanted = masked ? want.maskedDocuments : want.documents;
  const found = masked ? got.maskedDocuments : got.documents;
  const missing = multisetMinus(wanted, found);
  const extra = multisetMinus(found, wanted);
  if (missing.length > 0 || extra.length > 0) {
    const ids = [...new Set([...missing, ...extra].map((entry) => entry.split('\t')[0] ?? ''))];
    const parts = [
      missing.length > 0 ? `${missing.length} expected document${missing.length === 1 ? '' : 's'} missing or changed` : '',
      extra.length > 0 ? `${extra.length} document${extra.length === 1 ? '' : 's'} not expected` : '',
    ].filter(Boolean);
    differences.push({ collection, what: 'documents', detail: `${parts.join(', ')} (${plural(found.length)}, expected ${wanted.length})`, examples: ids.slice(0, EXAMPLES).map(shown) });
  }
  return differences;
}

/** `a` minus `b`, both sorted, counting repeats. */
function multisetMinus(a: readonly string[], b: readonly string[]): string[] {
  const left: string[] = [];
  let j = 0;
  for (const item of a) {
    while (j < b.length && (b[j] as string) < item) j += 1;
    if (j < b.length && b[j] === item) j += 1;
    else left.push(item);
  }
  return left;
}
