import { z } from 'zod';
import { METADATA_NAME_PATTERN } from '../config/names.js';

/** How a change left half-done (interrupted, or failed without a transaction and not undone) is recovered. */
export const RECOVERY_STRATEGIES = ['manual', 'retry'] as const;
export type RecoveryStrategy = (typeof RECOVERY_STRATEGIES)[number];

/** `once`: a versioned change; `on-change`: `repeatable: true`; `always`: `runAlways: true`. */
export type RepeatMode = 'once' | 'on-change' | 'always';

/** What a change says about itself beyond its code: kept in its record and audit events. */
export interface ChangeMetadata {
  readonly author: string | undefined;
  readonly tags: readonly string[];
  readonly environments: readonly string[];
  /** Undefined means the default: `manual`. */
  readonly recovery: RecoveryStrategy | undefined;
  readonly repeat: RepeatMode;
  /**
   * `batches: true`: the change walks collections with `ctx.batches`, runs without an
   * outer transaction and keeps its progress in checkpoints, so an interrupted run resumes.
   */
  readonly batches: boolean;
}

export const NO_METADATA: ChangeMetadata = Object.freeze({ author: undefined, tags: Object.freeze([]), environments: Object.freeze([]), recovery: undefined, repeat: 'once', batches: false });

const NAME_RULE = 'letters, digits, _ . : - (no spaces or commas)';

const names = (what: string) =>
  z.array(z.string({ error: `expected ${what} names as strings` }).regex(METADATA_NAME_PATTERN, { error: `expected ${what} names of ${NAME_RULE}` }), {
    error: `expected a list of ${what} names, e.g. ['${what === 'tag' ? 'billing' : 'prod'}']`,
  });

/** The metadata keys of a change file or template, as written (shared by code files and templates). */
export const changeMetadataShape = {
  author: z.string({ error: 'expected a string' }).min(1, { error: 'expected a non-empty string' }).optional(),
  tags: names('tag').optional(),
  environments: names('environment').optional(),
  recovery: z.enum(RECOVERY_STRATEGIES, { error: "expected 'manual' or 'retry'" }).optional(),
  repeatable: z.boolean({ error: 'expected true or false' }).optional(),
  runAlways: z.boolean({ error: 'expected true or false' }).optional(),
};
export const CHANGE_METADATA_KEYS = Object.keys(changeMetadataShape) as (keyof typeof changeMetadataShape)[];

const metadataSchema = z.object(changeMetadataShape);
export type ChangeMetadataInput = z.output<typeof metadataSchema>;

/** Turns checked input into metadata; `runAlways` implies repeatable. */
export function toMetadata(input: ChangeMetadataInput): ChangeMetadata {
  return {
    author: input.author,
    tags: [...new Set(input.tags ?? [])],
    environments: [...new Set(input.environments ?? [])],
    recovery: input.recovery,
    repeat: input.runAlways === true ? 'always' : input.repeatable === true ? 'on-change' : 'once',
    // Code changes only (see normaliseDefinition): a template cannot call ctx.batches.
    batches: false,
  };
}

/** Checks the metadata keys of a code change's export; the problem names the key: `tags[1]: expected ...`. */
export function parseMetadata(definition: Readonly<Record<string, unknown>>): { metadata: ChangeMetadata } | { problem: string } {
  const parsed = metadataSchema.safeParse(Object.fromEntries(CHANGE_METADATA_KEYS.map((key) => [key, definition[key]])));
  if (parsed.success) return { metadata: toMetadata(parsed.data) };
  const issue = parsed.error.issues[0];
  const path = (issue?.path ?? []).map((segment) => (typeof segment === 'number' ? `[${segment}]` : `.${String(segment)}`)).join('').replace(/^\./, '');
  return { problem: `${path}: ${issue?.message ?? 'invalid'}` };
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

/** The metadata fields of a record or audit event. */
export interface StoredMetadata {
  readonly author?: string;
  readonly tags?: readonly string[];
  readonly environments?: readonly string[];
  readonly recovery?: RecoveryStrategy;
  readonly repeat?: RepeatMode;
  /** The change walks collections in checkpointed batches (resumable when interrupted). */
  readonly batches?: boolean;
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
  };
}

/** Which changes a run takes: `--env` (or DELTA_ENV / config `env`) and `--tags`. */
export interface ChangeFilter {
  readonly env?: string | undefined;
  readonly tags?: readonly string[] | undefined;
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
