// The document an upsert inserts when nothing matches: the filter's equalities (`{ a: 1 }`,
// `$eq`, a one-value `$in`, inside `$and` too) seed it, the update applies to that seed, and `_id`
// comes first (generated when neither supplies one), as mongod builds it.
import { ObjectId } from 'bson';
import type { Document } from 'bson';
import { cloneDocument, isPlainObject } from './bson-values.js';
import { CommandError } from './errors.js';
import { applyUpdate, withIdFirst } from './update-engine.js';
import type { ParsedUpdate, UpdateContext } from './update-engine.js';

/**
 * The document an upsert starts from: the equality conditions of the filter (top-level fields,
 * dotted paths, `$and` clauses, `$eq`, single-element `$in`), as mongod extracts them.
 */
function upsertSeed(filter: Document): Document {
  const seed: Document = {};
  const assign = (path: string, value: unknown): void => {
    const parts = path.split('.');
    let target: Document = seed;
    for (let i = 0; i < parts.length - 1; i++) {
      const part = parts[i] as string;
      const next = target[part];
      if (!isPlainObject(next)) {
        if (next !== undefined) throw new CommandError('NotSingleValueField', `cannot infer query fields to set, path '${path}' is matched twice`);
        target[part] = {};
      }
      target = target[part] as Document;
    }
    const leaf = parts[parts.length - 1] as string;
    if (Object.prototype.hasOwnProperty.call(target, leaf)) {
      throw new CommandError('NotSingleValueField', `cannot infer query fields to set, path '${path}' is matched twice`);
    }
    target[leaf] = cloneDocument({ v: value }).v;
  };
  const visit = (clause: Document): void => {
    for (const key of Object.keys(clause)) {
      const value = clause[key];
      if (key === '$and' && Array.isArray(value)) {
        for (const sub of value) if (isPlainObject(sub)) visit(sub);
        continue;
      }
      if (key.startsWith('$')) continue;
      if (isPlainObject(value) && Object.keys(value).some((k) => k.startsWith('$'))) {
        if (Object.prototype.hasOwnProperty.call(value, '$eq')) assign(key, value.$eq);
        else if (Array.isArray(value.$in) && value.$in.length === 1) assign(key, value.$in[0]);
        continue;
      }
      if (value instanceof RegExp) continue;
      assign(key, value);
    }
  };
  visit(filter);
  return seed;
}

/** Builds the document an upsert inserts, with `_id` first (generated when nothing supplies it). */
export function buildUpsertDocument(filter: Document, parsed: ParsedUpdate, context: UpdateContext): Document {
  const seed = upsertSeed(filter);
  let document: Document;
  if (parsed.kind === 'replacement') {
    document = cloneDocument(parsed.replacement);
    if (document._id === undefined && seed._id !== undefined) document._id = seed._id;
  } else {
    document = applyUpdate(seed, parsed, context, true).document;
  }
  if (document._id === undefined) document._id = new ObjectId();
  return withIdFirst(document);
}
