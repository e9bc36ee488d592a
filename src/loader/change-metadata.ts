import * as v from '../config/schema-library.js';
import type { ChangeFilter, ChangeMetadata, StoredMetadata } from '../vocabulary/index.js';
import { METADATA_NAME_PATTERN, RECOVERY_STRATEGIES } from '../vocabulary/index.js';

const NAME_RULE = 'letters, digits, _ . : - (no spaces or commas)';

const nameList = (what: string, example: string) =>
  v.optional(
    v.pipe(
      v.array(v.pipe(v.string(`expected ${what} names as strings`), v.regex(METADATA_NAME_PATTERN, `expected ${what} names of ${NAME_RULE}`)), `expected a list of ${what} names, e.g. ['${example}']`),
      // A name given twice is kept once.
      v.transform((names) => [...new Set(names)]),
    ),
  );

/**
 * The metadata keys of a change file's export or a template, one schema for both, in the order
 * problems are looked for. Templates spread these entries into their header's schema.
 */
export const METADATA_ENTRIES = {
  author: v.optional(v.pipe(v.string('expected a string'), v.minLength(1, 'expected a non-empty string'))),
  tags: nameList('tag', 'billing'),
  environments: nameList('environment', 'prod'),
  recovery: v.optional(v.picklist(RECOVERY_STRATEGIES, "expected 'manual' or 'retry'")),
  repeatable: v.optional(v.boolean('expected true or false')),
  runAlways: v.optional(v.boolean('expected true or false')),
} as const;

/** The metadata keys of a change file or template, in the order problems are looked for. */
export const CHANGE_METADATA_KEYS = Object.keys(METADATA_ENTRIES) as readonly ChangeMetadataKey[];
export type ChangeMetadataKey = keyof typeof METADATA_ENTRIES;

/** The metadata keys of an object, checked (its other keys are left alone). */
export const CHANGE_METADATA_SCHEMA = v.object(METADATA_ENTRIES);
export type CheckedMetadata = v.InferOutput<typeof CHANGE_METADATA_SCHEMA>;

/** The ChangeMetadata of checked metadata keys. */
export function metadataFrom(checked: CheckedMetadata): ChangeMetadata {
  return {
    author: checked.author,
    tags: checked.tags ?? [],
    environments: checked.environments ?? [],
    recovery: checked.recovery,
    repeat: checked.runAlways === true ? 'always' : checked.repeatable === true ? 'on-change' : 'once',
    // Code changes only (see normaliseDefinition): a template cannot call ctx.batches.
    batches: false,
    sideEffects: false,
  };
}

/** Metadata as the tracker keeps it: only what differs from the defaults. */
export function storedMetadata(metadata: ChangeMetadata): StoredMetadata {
  return {
    ...(metadata.author === undefined ? {} : { author: metadata.author }),
    ...(metadata.tags.length === 0 ? {} : { tags: metadata.tags }),
    ...(metadata.environments.length === 0 ? {} : { environments: metadata.environments }),
    ...(metadata.recovery === undefined ? {} : { recovery: metadata.recovery }),
    ...(metadata.repeat === 'once' ? {} : { repeat: metadata.repeat }),
    ...(metadata.batches ? { batches: true } : {}),
  };
}

/** Metadata back from a record (a file applied and unchanged is known from it). */
export function metadataOf(stored: StoredMetadata): ChangeMetadata {
  return {
    author: stored.author,
    tags: stored.tags ?? [],
    environments: stored.environments ?? [],
    recovery: stored.recovery,
    repeat: stored.repeat ?? 'once',
    batches: stored.batches === true,
    sideEffects: false,
  };
}

/**
 * Why a change is left out of a run, or undefined when it is in: a change
 * with `environments` runs only where one of them is the run's environment
 * (and is left out when the run names none); with `--tags`, only changes
 * carrying one of the tags run.
 */
export function exclusionReason(metadata: ChangeMetadata, filter: ChangeFilter): string | undefined {
  if (metadata.environments.length > 0 && (filter.env === undefined || !metadata.environments.includes(filter.env))) {
    return `only for environments ${metadata.environments.join(', ')}${filter.env === undefined ? ' (no --env given)' : ` (running ${filter.env})`}`;
  }
  if (filter.tags !== undefined && filter.tags.length > 0 && !metadata.tags.some((tag) => filter.tags?.includes(tag))) {
    return metadata.tags.length === 0 ? `no tag among ${filter.tags.join(', ')}` : `tags ${metadata.tags.join(', ')} not among ${filter.tags.join(', ')}`;
  }
  return undefined;
}

/** A change that runs only in some environments or for some tags: never judged out of order. */
export function isConditional(metadata: ChangeMetadata): boolean {
  return metadata.environments.length > 0 || metadata.tags.length > 0;
}
