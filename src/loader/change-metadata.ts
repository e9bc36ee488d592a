import type { ChangeFilter, ChangeMetadata, RecoveryStrategy, StoredMetadata } from '../vocabulary/index.js';
import { METADATA_NAME_PATTERN, RECOVERY_STRATEGIES } from '../vocabulary/index.js';

const NAME_RULE = 'letters, digits, _ . : - (no spaces or commas)';

/** The metadata keys of a change file or template, in the order problems are looked for. */
export const CHANGE_METADATA_KEYS = ['author', 'tags', 'environments', 'recovery', 'repeatable', 'runAlways'] as const;
export type ChangeMetadataKey = (typeof CHANGE_METADATA_KEYS)[number];

/** The first problem with a change's metadata: where (`['tags', 1]`) and what was expected. */
export interface MetadataProblem {
  readonly path: readonly (string | number)[];
  readonly message: string;
}

/**
 * Checks the metadata keys of a change file's export or a template (one set of rules for both;
 * plain code, so that loading a change never loads the schema library). Returns the metadata,
 * `runAlways` implying repeatable, or the first problem.
 */
export function checkMetadata(input: Readonly<Record<string, unknown>>): { metadata: ChangeMetadata } | { problem: MetadataProblem } {
  const problem = (path: readonly (string | number)[], message: string) => ({ problem: { path, message } });
  const { author, recovery, repeatable, runAlways } = input;
  if (author !== undefined && typeof author !== 'string') return problem(['author'], 'expected a string');
  if (author === '') return problem(['author'], 'expected a non-empty string');
  const lists: Record<'tags' | 'environments', string[]> = { tags: [], environments: [] };
  for (const key of ['tags', 'environments'] as const) {
    const value = input[key];
    if (value === undefined) continue;
    const what = key === 'tags' ? 'tag' : 'environment';
    if (!Array.isArray(value)) return problem([key], `expected a list of ${what} names, e.g. ['${what === 'tag' ? 'billing' : 'prod'}']`);
    for (const [index, name] of (value as unknown[]).entries()) {
      if (typeof name !== 'string') return problem([key, index], `expected ${what} names as strings`);
      if (!METADATA_NAME_PATTERN.test(name)) return problem([key, index], `expected ${what} names of ${NAME_RULE}`);
    }
    lists[key] = [...new Set(value as string[])];
  }
  if (recovery !== undefined && !(RECOVERY_STRATEGIES as readonly unknown[]).includes(recovery)) return problem(['recovery'], "expected 'manual' or 'retry'");
  for (const [key, value] of [['repeatable', repeatable], ['runAlways', runAlways]] as const) {
    if (value !== undefined && typeof value !== 'boolean') return problem([key], 'expected true or false');
  }
  return {
    metadata: {
      author: author as string | undefined,
      tags: lists.tags,
      environments: lists.environments,
      recovery: recovery as RecoveryStrategy | undefined,
      repeat: runAlways === true ? 'always' : repeatable === true ? 'on-change' : 'once',
      // Code changes only (see normaliseDefinition): a template cannot call ctx.batches.
      batches: false,
      sideEffects: false,
    },
  };
}

/** Checks the metadata keys of a code change's export; the problem names the key: `tags[1]: expected ...`. */
export function parseMetadata(definition: Readonly<Record<string, unknown>>): { metadata: ChangeMetadata } | { problem: string } {
  const checked = checkMetadata(definition);
  if ('metadata' in checked) return checked;
  const path = checked.problem.path.map((segment) => (typeof segment === 'number' ? `[${segment}]` : `.${segment}`)).join('').replace(/^\./, '');
  return { problem: `${path}: ${checked.problem.message}` };
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
