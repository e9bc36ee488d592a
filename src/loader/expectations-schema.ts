// The schema of a change's `expect` (code files and templates share it). Every message starts
// with "expected" so that both callers put the path inside `expect` in front of it.
import * as v from '../config/schema-library.js';
import type { ChangeExpectations, CollectionLimits } from '../vocabulary/index.js';
import { WRITE_COUNT_KINDS } from '../vocabulary/index.js';

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

/** Fails each key of an object that is not one of `allowed`, naming the allowed ones. */
function onlyKeys(allowed: readonly string[]) {
  return v.rawCheck<Record<string, unknown>>(({ dataset, addIssue }) => {
    if (!dataset.typed) return;
    for (const key of Object.keys(dataset.value)) {
      if (allowed.includes(key)) continue;
      addIssue({
        message: `expected ${allowed.join(', ')} (unknown key ${JSON.stringify(key)})`,
        path: [{ type: 'object', origin: 'value', input: dataset.value, key, value: dataset.value[key] }],
      });
    }
  });
}

const COUNT = 'expected a whole number of documents (0 or more)';
const count = v.optional(v.pipe(v.number(COUNT), v.integer(COUNT), v.minValue(0, COUNT)));

const limitSchema = v.pipe(
  v.custom<Record<string, unknown>>(isObject, 'expected an object such as { max: 1000 }'),
  onlyKeys(['min', 'max']),
  v.object({ min: count, max: count }),
  v.check((limit) => limit.min !== undefined || limit.max !== undefined, 'expected min, max or both, such as { max: 1000 }'),
  v.check((limit) => limit.min === undefined || limit.max === undefined || limit.min <= limit.max, 'expected min no greater than max'),
);

const collectionSchema = v.pipe(
  v.custom<Record<string, unknown>>(isObject, `expected an object of ${WRITE_COUNT_KINDS.join(', ')}, such as { modified: { max: 1000 } }`),
  onlyKeys(WRITE_COUNT_KINDS),
  v.object({
    matched: v.optional(limitSchema),
    modified: v.optional(limitSchema),
    inserted: v.optional(limitSchema),
    deleted: v.optional(limitSchema),
    upserted: v.optional(limitSchema),
  }),
);

/** `expect`: `{ writes: { <collection>: { <count>: { min?, max? } } } }`. */
export const expectationsSchema = v.pipe(
  v.custom<Record<string, unknown>>(isObject, 'expected an object such as { writes: { users: { modified: { max: 1000 } } } }'),
  onlyKeys(['writes']),
  v.object({
    writes: v.optional(
      v.pipe(v.custom<Record<string, unknown>>(isObject, 'expected an object of collection names, such as { users: { modified: { max: 1000 } } }'), v.record(v.string(), collectionSchema)),
    ),
  }),
  v.transform((checked): ChangeExpectations => (checked.writes === undefined ? {} : { writes: checked.writes as Record<string, CollectionLimits> })),
);
